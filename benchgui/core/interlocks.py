"""The measurement interlocks as a pure state machine: samples and clock ticks in, violations out.

No I/O and no asyncio here, so every condition can be tested sample by sample; the
:class:`~benchgui.core.safety.Supervisor` feeds it and acts on what it returns. Everything is
judged on *sample times* (bench time), so debounce times scale with ``--speed`` and two listeners
that see the same samples reach the same verdict.

The battery voltage is judged on the first source in ``voltage_sources`` that is fresh (the
LabJack reference, then the MPPT); if none of them is on the bench at all, the load's own
voltmeter is used. "Fresh" means a sample no older than ``sensor_timeout_s`` — but never less
than half a second of *real* time (``speed`` × 0.5 s of bench time): instruments on a wire
deliver at a rate bounded in real time, so on the simulated bench at ``--speed 200`` a 25 ms
hiccup would otherwise look like 5 s of silence.

A sample flagged OVER_RANGE or SUSPECT is not a measurement: it is never judged (a clipped
reference read 5.000 V on a 13.5 V battery and tripped the cut-off, issue 23). A voltage source
whose latest sample is flagged is skipped at once for the next valid one in ``voltage_sources``,
with a ``safety.fallback`` event naming why; flagged current and temperature samples are not
judged either (the other current sources — the load always measures — still are).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from benchgui.clock import ns_to_s, s_to_ns
from benchgui.core.limits import (
    AH_LIMIT,
    CUTOFF_VOLTAGE,
    OVERCURRENT,
    SENSOR_DISAGREEMENT,
    SENSOR_LOST,
    TEMPERATURE,
    TIME_LIMIT,
    Debounce,
    Limits,
    Violation,
)
from benchgui.core.readings import NOT_A_VALUE, flag_words
from benchgui.model import Sample

LOAD_SOURCE = "load"
UNITS = {"battery.voltage": "V", "battery.current": "A"}  # else a temperature


def split_name(name: str) -> tuple[str, str]:
    """``battery.voltage.labjack`` → (``battery.voltage``, ``labjack``)."""
    quantity, _, source = name.rpartition(".")
    return quantity, source


class Interlocks:
    """Tracks the latest measurements and judges them against :class:`Limits` while armed."""

    def __init__(self, limits: Limits, channel_names: Iterable[str] = (), speed: float = 1.0) -> None:
        self.limits = limits
        self.sensor_timeout_ns = s_to_ns(max(limits.sensor_timeout_s, 0.5 * speed))
        self.latest: dict[str, tuple[int, float]] = {}
        self.armed = False
        self.armed_since_ns: int | None = None
        self._armed_time_ns = 0  # accumulated over earlier armed periods
        self._ah: dict[str, float] = {}  # discharged Ah per current channel (while armed)
        self._last_current: dict[str, tuple[int, float]] = {}
        self._cutoff = Debounce(limits.cutoff_debounce_s)
        self._limit_debounce: dict[str, Debounce] = {}
        self._disagree: dict[str, Debounce] = {}
        self.candidates: list[str] = []
        self.judged: str | None = None
        self.notices: list[tuple[str, str, dict[str, Any]]] = []  # (kind, text, data) to record
        self._kinds: dict[str, str] = {}
        self.flagged: dict[str, int] = {}  # channel -> flags of its latest sample, while flagged
        self.flagged_count: dict[str, int] = {}  # samples not judged because flagged, per channel
        #: the highest voltage end condition of the running program (None: no program with one)
        self.program_cutoff_v: float | None = None
        self.update_channels(channel_names)

    def cutoff_v(self) -> float:
        """The cut-off judged now: a running program's own voltage condition ends its step
        first, so the supervisor judges ``cutoff_margin_v`` below it (never above the limit)."""
        lim = self.limits
        if self.program_cutoff_v is None:
            return lim.cutoff_voltage_v
        return min(lim.cutoff_voltage_v, self.program_cutoff_v - lim.cutoff_margin_v)

    def set_limits(self, limits: Limits, channel_names: Iterable[str], speed: float = 1.0) -> None:
        """New limits from now on (the operator edited them). Counters and debounce timers that
        are running keep running: a condition that has held for 3 s trips at once when its
        debounce is shortened to 2 s."""
        self.limits = limits
        self.sensor_timeout_ns = s_to_ns(max(limits.sensor_timeout_s, 0.5 * speed))
        self._cutoff.hold_ns = s_to_ns(limits.cutoff_debounce_s)
        for d in self._limit_debounce.values():
            d.hold_ns = s_to_ns(limits.limit_debounce_s)
        for d in self._disagree.values():
            d.hold_ns = s_to_ns(limits.disagreement_s)
        self.candidates = []
        self.update_channels(channel_names)

    # -- which channels ------------------------------------------------------------------------
    def update_channels(self, names: Iterable[str]) -> None:
        """Recompute the voltage sources present on the bench (channels may appear late)."""
        present = set(names) | set(self.candidates)
        cands = [f"battery.voltage.{s}" for s in self.limits.voltage_sources]
        found = [c for c in cands if c in present]
        if not found and f"battery.voltage.{LOAD_SOURCE}" in present:
            found = [f"battery.voltage.{LOAD_SOURCE}"]
        self.candidates = found

    def _fresh(self, channel: str, now_ns: int) -> bool:
        last = self.latest.get(channel)
        return last is not None and now_ns - last[0] <= self.sensor_timeout_ns

    def _valid(self, channel: str, now_ns: int) -> bool:
        """Fresh, and its latest sample is a measurement (not flagged)."""
        return channel not in self.flagged and self._fresh(channel, now_ns)

    def judged_channel(self, now_ns: int) -> str | None:
        """The voltage channel the cut-off is judged on now (None: no fresh valid voltage)."""
        return next((c for c in self.candidates if self._valid(c, now_ns)), None)

    # -- arming and counters -----------------------------------------------------------------
    def arm(self, now_ns: int) -> None:
        if self.armed:
            return
        self.armed = True
        self.armed_since_ns = now_ns
        self._last_current.clear()
        for d in (self._cutoff, *self._limit_debounce.values(), *self._disagree.values()):
            d.reset()

    def disarm(self, now_ns: int) -> None:
        if not self.armed:
            return
        self._armed_time_ns += max(0, now_ns - (self.armed_since_ns or now_ns))
        self.armed = False
        self.armed_since_ns = None

    def reset_counters(self, now_ns: int) -> None:
        """Start counting discharged Ah and discharge time from zero (a new discharge)."""
        self._armed_time_ns = 0
        self._ah.clear()
        self._last_current.clear()
        if self.armed:
            self.armed_since_ns = now_ns

    def discharge_time_s(self, now_ns: int) -> float:
        running = now_ns - self.armed_since_ns if self.armed and self.armed_since_ns is not None else 0
        return ns_to_s(self._armed_time_ns + max(0, running))

    @property
    def discharged_ah(self) -> float:
        """Largest discharged charge seen by any current channel (conservative)."""
        return max(self._ah.values(), default=0.0)

    # -- judging ------------------------------------------------------------------------------
    def _kind(self, channel: str) -> str:
        """What a channel is to the interlocks (cached: this runs for every sample)."""
        kind = self._kinds.get(channel)
        if kind is None:
            quantity, _ = split_name(channel)
            if quantity in ("battery.voltage", "battery.current") or quantity.endswith("temperature"):
                kind = quantity
            else:
                kind = ""
            self._kinds[channel] = kind
        return kind

    def on_samples(self, samples: Sequence[Sample]) -> Violation | None:
        """Feed published samples; returns the first violation found (if armed)."""
        found: Violation | None = None
        judge = self.armed and self.limits.measurements
        for s in samples:
            kind = self._kind(s.channel)
            if not kind or not math.isfinite(s.value):
                continue  # a NaN is no measurement; staleness catches a source that only sends those
            if s.flags & NOT_A_VALUE:
                self._on_flagged(s, kind)
                continue
            if self.flagged.pop(s.channel, None) is not None:
                self.notices.append(
                    ("safety.valid", f"{s.channel} reads valid values again", {"channel": s.channel})
                )
            self.latest[s.channel] = (s.t_ns, s.value)
            if not judge:
                continue
            if kind == "battery.voltage":
                v = self._voltage(s)
            elif kind == "battery.current":
                v = self._current(s)
            else:
                v = self._temperature(s, kind)
            if v is not None and found is None:
                found = v
        return found

    def _on_flagged(self, s: Sample, kind: str) -> None:
        """A flagged sample: counted, never judged; a judged voltage source is left at once."""
        self.flagged_count[s.channel] = self.flagged_count.get(s.channel, 0) + 1
        if s.channel in self.flagged:
            self.flagged[s.channel] = s.flags
            return
        self.flagged[s.channel] = s.flags
        why = flag_words(s.flags)
        self.notices.append(
            (
                "safety.flagged",
                f"{s.channel} reads {s.value:g} {UNITS.get(kind, '°C')}, {why}: not judged until "
                "it reads valid values",
                {"channel": s.channel, "value": s.value, "flags": s.flags},
            )
        )
        if kind == "battery.voltage" and s.channel == self.judged:
            self._cutoff.reset()  # the debounce was timing this source's values
            self._note_judged(self.judged_channel(s.t_ns), why=f"{self.judged} {why}")

    def _debounce(self, table: dict[str, Debounce], channel: str, hold_s: float) -> Debounce:
        d = table.get(channel)
        if d is None:
            d = table[channel] = Debounce(hold_s)
        return d

    def _voltage(self, s: Sample) -> Violation | None:
        lim = self.limits
        if s.channel not in self.candidates:
            return None
        judged = self.judged_channel(s.t_ns)
        self._note_judged(judged)
        cutoff = self.cutoff_v()
        if s.channel == judged and self._cutoff.update(s.value < cutoff, s.t_ns):
            return Violation(
                CUTOFF_VOLTAGE,
                f"battery voltage {s.value:.3f} V below cut-off {cutoff:.3f} V "
                f"for {lim.cutoff_debounce_s:g} s ({s.channel})",
                {"voltage_v": s.value, "cutoff_voltage_v": cutoff, "channel": s.channel},
            )
        ref = self.candidates[0]
        if len(self.candidates) < 2 or not self._valid(ref, s.t_ns):
            return None
        ref_v = self.latest[ref][1]
        for other in self.candidates[1:]:
            if not self._valid(other, s.t_ns):
                self._disagree.pop(other, None)
                continue
            diff = ref_v - self.latest[other][1]
            deb = self._debounce(self._disagree, other, lim.disagreement_s)
            if deb.update(abs(diff) > lim.voltage_disagreement_v, s.t_ns):
                return Violation(
                    SENSOR_DISAGREEMENT,
                    f"{ref} and {other} disagree by {diff * 1000:+.0f} mV (tolerance "
                    f"{lim.voltage_disagreement_v * 1000:.0f} mV) for {lim.disagreement_s:g} s",
                    {
                        "channels": [ref, other],
                        "difference_v": diff,
                        "tolerance_v": lim.voltage_disagreement_v,
                    },
                )
        return None

    def _current(self, s: Sample) -> Violation | None:
        lim = self.limits
        prev = self._last_current.get(s.channel)
        self._last_current[s.channel] = (s.t_ns, s.value)
        if prev is not None and s.t_ns > prev[0]:
            dt_h = ns_to_s(s.t_ns - prev[0]) / 3600.0
            self._ah[s.channel] = self._ah.get(s.channel, 0.0) - 0.5 * (prev[1] + s.value) * dt_h
        ah = self.discharged_ah
        if ah > lim.max_discharge_ah:
            return Violation(
                AH_LIMIT,
                f"discharged {ah:.3f} Ah, limit {lim.max_discharge_ah:.3f} Ah",
                {"ah": ah, "max_discharge_ah": lim.max_discharge_ah, "per_channel": dict(self._ah)},
            )
        deb = self._debounce(self._limit_debounce, s.channel, lim.limit_debounce_s)
        if deb.update(abs(s.value) > lim.max_current_a, s.t_ns):
            return Violation(
                OVERCURRENT,
                f"current {s.value:+.2f} A beyond ±{lim.max_current_a:g} A ({s.channel})",
                {"current_a": s.value, "max_current_a": lim.max_current_a, "channel": s.channel},
            )
        return None

    def _temperature(self, s: Sample, quantity: str) -> Violation | None:
        lim = self.limits
        limit = (
            lim.max_battery_temperature_c
            if quantity.startswith("battery.")
            else lim.max_internal_temperature_c
        )
        deb = self._debounce(self._limit_debounce, s.channel, lim.limit_debounce_s)
        if deb.update(s.value > limit, s.t_ns):
            return Violation(
                TEMPERATURE,
                f"{quantity} {s.value:.1f} °C above {limit:g} °C ({s.channel})",
                {"temperature_c": s.value, "limit_c": limit, "channel": s.channel},
            )
        return None

    def on_tick(self, now_ns: int) -> Violation | None:
        """Checks that need no sample: discharge time, and a voltage measurement gone silent."""
        if not self.armed or not self.limits.measurements:
            return None
        lim = self.limits
        t = self.discharge_time_s(now_ns)
        if t > lim.max_discharge_time_s:
            return Violation(
                TIME_LIMIT,
                f"load input on for {t:.0f} s, limit {lim.max_discharge_time_s:g} s",
                {"discharge_time_s": t, "max_discharge_time_s": lim.max_discharge_time_s},
            )
        judged = self.judged_channel(now_ns)
        self._note_judged(judged)
        if judged is None:
            grace_from = self.armed_since_ns or now_ns
            newest = max((self.latest[c][0] for c in self.candidates if c in self.latest), default=None)
            silent_since = max(grace_from, newest) if newest is not None else grace_from
            silent_s = ns_to_s(now_ns - silent_since)
            if now_ns - silent_since > self.sensor_timeout_ns:
                what = ", ".join(
                    f"{c} {flag_words(self.flagged[c])}" if c in self.flagged else c for c in self.candidates
                )
                what = what or "no battery voltage channel on this bench"
                return Violation(
                    SENSOR_LOST,
                    f"no fresh battery voltage for {silent_s:.1f} s ({what})",
                    {"silent_s": silent_s, "channels": list(self.candidates)},
                )
        return None

    def _note_judged(self, judged: str | None, why: str = "") -> None:
        if judged != self.judged and judged is not None:
            if self.judged is not None:
                prev = self.judged
                if not why:
                    why = f"{prev} {flag_words(self.flagged[prev])}" if prev in self.flagged else ""
                because = f": {why}" if why else ""
                self.notices.append(
                    (
                        "safety.fallback",
                        f"battery voltage now judged on {judged} (was {prev}{because})",
                        {"channel": judged, "previous": prev, "why": why},
                    )
                )
            self.judged = judged
