"""Ah and Wh from the measured battery current and voltage, integrated over sample times.

The meter follows one current channel and one voltage channel (the independent reference —
the LabJack — when it is on the bench, otherwise the load or the MPPT). Charge is integrated with
trapezoids between consecutive current samples; energy uses the latest voltage at each current
sample. Discharge counts positive (the bench's currents are negative when discharging). A gap
longer than ``max_gap_s`` between two current samples is not bridged: it is counted and logged,
because guessing the charge drawn while nobody measured would make the capacity result lie.
Samples flagged over range or suspect are not measurements either: dropped and counted
(``flagged``), so a clipped voltage never ends a step and a clipped current never counts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from benchgui.clock import ns_to_s, s_to_ns
from benchgui.core.readings import NOT_A_VALUE
from benchgui.model import Sample

log = logging.getLogger(__name__)

VOLTAGE_PREFERENCE = ("labjack", "mppt", "load")
CURRENT_PREFERENCE = ("labjack", "load", "mppt")


def choose_channel(
    present: Iterable[str], quantity: str, preference: Sequence[str], override: str = ""
) -> str | None:
    """The channel to measure ``quantity`` on: ``override`` if given, else by preference."""
    names = set(present)
    if override:
        return override if override in names else None
    for src in preference:
        name = f"{quantity}.{src}"
        if name in names:
            return name
    return next((n for n in sorted(names) if n.startswith(quantity + ".")), None)


@dataclass(frozen=True)
class Reading:
    """The latest voltage and current with their sample times (None: nothing yet)."""

    v: float | None
    v_t_ns: int
    i: float | None
    i_t_ns: int


class Meter:
    def __init__(self, voltage_channel: str, current_channel: str, max_gap_s: float = 10.0) -> None:
        self.voltage_channel = voltage_channel
        self.current_channel = current_channel
        self.max_gap_ns = s_to_ns(max_gap_s)
        self.ah = 0.0  # discharged, since the meter was created
        self.wh = 0.0
        self.gaps = 0
        self.flagged = 0  # samples of the two channels dropped as no measurement
        self.v: float | None = None
        self.v_t_ns = 0
        self.i: float | None = None
        self.i_t_ns = 0
        self._p: float | None = None  # power at the last current sample (W, discharge positive)

    def seed(self, latest: Callable[[str], tuple[float, float] | None], start_ns: int) -> None:
        """Start from the newest known values (so the first step has a "before"); charge is
        counted from ``start_ns`` on."""
        v = latest(self.voltage_channel)
        if v is not None:
            self.v, self.v_t_ns = v[1], s_to_ns(v[0])
        i = latest(self.current_channel)
        if i is not None:
            self.i, self.i_t_ns = i[1], max(s_to_ns(i[0]), start_ns)
            self._p = -i[1] * self.v if self.v is not None else None

    def feed(self, samples: Sequence[Sample]) -> tuple[bool, bool]:
        """Take published samples; returns (voltage updated, current updated)."""
        got_v = got_i = False
        for s in samples:
            if not math.isfinite(s.value):
                continue
            if s.flags & NOT_A_VALUE and s.channel in (self.voltage_channel, self.current_channel):
                self.flagged += 1
                if self.flagged == 1:
                    log.warning("%s reads flagged values (%g): not measured until valid", s.channel, s.value)
                continue
            if s.channel == self.voltage_channel:
                self.v, self.v_t_ns = s.value, s.t_ns
                got_v = True
            elif s.channel == self.current_channel:
                self._integrate(s)
                got_i = True
        return got_v, got_i

    def _integrate(self, s: Sample) -> None:
        p = -s.value * self.v if self.v is not None else None
        if self.i is not None and s.t_ns > self.i_t_ns:
            dt = s.t_ns - self.i_t_ns
            if dt > self.max_gap_ns:
                self.gaps += 1
                log.warning(
                    "no %s sample for %.1f s: that interval is not counted in Ah/Wh",
                    self.current_channel,
                    ns_to_s(dt),
                )
            else:
                h = ns_to_s(dt) / 3600.0
                self.ah += -0.5 * (self.i + s.value) * h
                if p is not None and self._p is not None:
                    self.wh += 0.5 * (self._p + p) * h
        self.i, self.i_t_ns, self._p = s.value, s.t_ns, p

    def reading(self) -> Reading:
        return Reading(self.v, self.v_t_ns, self.i, self.i_t_ns)


def dcir(before: Reading, after: Reading, edge_ns: int, min_di_a: float = 0.05) -> float | None:
    """ΔV/ΔI across a current step at ``edge_ns`` (None when either side has no sample or ΔI is
    too small to divide by). Both the voltage and the current after must be measured after the
    edge; positive for a real battery (more discharge current → lower voltage)."""
    v0, i0, v1, i1 = before.v, before.i, after.v, after.i
    if v0 is None or i0 is None or v1 is None or i1 is None:
        return None
    if after.v_t_ns <= edge_ns or after.i_t_ns <= edge_ns:
        return None
    di = i1 - i0
    if abs(di) < min_di_a:
        return None
    return (v1 - v0) / di
