"""The live SOC estimator: a bench listener that runs the SPKF on the operator's channels.

It watches ``bench.samples_published`` for the configured current and voltage channels
(``[soc]`` in the config; e.g. the LabJack's or the MPPT's), steps the filter at every voltage
sample — the acquisition rate — and publishes three channels back through the bench, so they
are plotted, recorded and forwarded like any measurement:

* ``soc.spkf`` — the SPKF estimate, %;
* ``soc.spkf.sigma3`` — the half-width of its ±3σ band, %;
* ``soc.coulomb`` — plain coulomb counting from the same start, for comparison.

The current between two voltage samples is integrated from the current channel itself (held
between its samples), so the two channels may come from different instruments at different
rates. A current older than ``max_current_age_s`` is not used: the filter waits, and bridges
the gap afterwards with a widened SOC variance, as the offline replay does. Samples flagged
over range or suspect are no measurements: dropped and counted (:attr:`SocService.flagged`) —
a clipped 5.000 V fed to the filter widened its band to ±34 % for a quarter of an hour (issue 23).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchgui.clock import ns_to_s
from benchgui.config.schema import Config
from benchgui.core.readings import NOT_A_VALUE
from benchgui.core.signals import Signal
from benchgui.errors import ValueOutOfRange
from benchgui.model import Channel, Event, Sample
from benchgui.soc.coulomb import CoulombCounter
from benchgui.soc.model import SECONDS_PER_HOUR, CellModel
from benchgui.soc.modelfile import load_model
from benchgui.soc.rest_start import fit_rest_start
from benchgui.soc.rest_window import RestWindow, Step
from benchgui.soc.spkf import Spkf, SpkfTuning, initial_soc
from benchgui.soc.start import soc_from_prior, soc_under_current, start_from_rest

if TYPE_CHECKING:
    from benchgui.core.bench import Bench  # not at run time: the bench module imports the services

log = logging.getLogger(__name__)

SOC_CHANNELS = (
    Channel("soc.spkf", "%", "spkf", "soc", "SOC (SPKF)"),
    Channel("soc.spkf.sigma3", "%", "spkf", "soc.sigma3", "SOC ±3σ (SPKF)"),
    Channel("soc.coulomb", "%", "coulomb", "soc", "SOC (coulomb counting)"),
)
#: how a start the operator set is named in the status line (and the gauge's words for it)
OPERATOR_HOW = "set by the operator"
#: the σ of an SOC the operator sets, unless they say (a reading of a full block after a charge:
#: within a few points; the rest, if the estimate starts in one, weighs it anyway)
OPERATOR_SIGMA_PCT = 5.0


@dataclass(frozen=True)
class SocEstimate:
    """The latest estimate and what the gauge derives from it."""

    t_s: float
    soc_pct: float
    sigma3_pct: float
    coulomb_pct: float
    current_a: float  # smoothed over ~10 s, + = charging
    voltage_v: float
    soc_pct_per_h: float  # rate of change at the present current
    time_to_empty_s: float | None  # at the present current; None unless discharging
    time_to_full_s: float | None  # None unless charging
    initial_how: str
    #: the OCV is too flat here to tell SOC apart: the estimate (and its growing band) is coulomb
    #: counting's alone until the voltage says something again (e.g. LiFePO4's plateau)
    coulomb_only: bool = False
    current_bias_a: float = 0.0  # the filter's estimate of the current sensor's offset, A


def model_for(cfg: Config) -> CellModel:
    """The cell model the configuration names, at the configured capacity.

    ``[battery] model`` (a path or a shipped name), else the shipped model of ``[battery]
    chemistry`` or ``[simulation] chemistry``. Capacity: ``[battery] capacity_ah``; when 0, a
    named model file keeps its own, a chemistry default takes ``[simulation] capacity_ah`` (as
    the safety limits do).
    """
    b = cfg.battery
    if b.model:
        model = load_model(b.model)
        capacity = b.capacity_ah
    else:
        model = load_model(b.chemistry or cfg.simulation.chemistry)
        capacity = b.capacity_ah or cfg.simulation.capacity_ah
    return model.with_capacity(capacity) if capacity and capacity != model.capacity_ah else model


def tuning_for(cfg: Config) -> SpkfTuning:
    s = cfg.soc
    return SpkfTuning(
        method=s.method,
        sensor_sigma_v=s.voltage_noise_v,
        model_error_scale=s.model_error_scale,
        current_sigma_a=s.current_sigma_a,
        soc_drift_pct_per_sqrt_h=s.soc_drift_pct_per_sqrt_h,
    )


class SocService:
    """Runs the SPKF on live samples (register as ``bench.services.soc``)."""

    def __init__(
        self,
        bench: Bench,
        model: CellModel,
        tuning: SpkfTuning,
        *,
        voltage_channel: str,
        current_channel: str,
        temperature_channel: str = "",
        initial: str = "auto",
        initial_soc_pct: float = 50.0,
        initial_sigma_pct: float = 20.0,
        max_current_age_s: float = 10.0,
    ) -> None:
        self.bench = bench
        self.model = model
        self.tuning = tuning
        self.voltage_channel = voltage_channel
        self.current_channel = current_channel
        self.temperature_channel = temperature_channel
        self.initial = initial
        self.initial_soc = initial_soc_pct / 100.0
        self.initial_sigma = initial_sigma_pct / 100.0
        self.max_current_age_s = max_current_age_s
        self.filter: Spkf | None = None
        self.coulomb: CoulombCounter | None = None
        self.latest: SocEstimate | None = None
        self.updated: Signal[[SocEstimate]] = Signal("soc.updated")
        self._t_filter: float | None = None  # time of the last filter step
        self._t_cur: float | None = None  # time of the last current sample
        self._i_cur = 0.0
        self._charge_as = 0.0  # ∫ i dt since the last filter step
        self._i_smooth = 0.0
        self._temp: float | None = None
        self._how = ""
        self._given_how = "configured"  # where a given start came from (start_over: the operator)
        #: the first minutes of a start at rest, to start again from their relaxation
        self._rest: RestWindow | None = None
        self._start_args: tuple[float, float, str, float, float] = (0.5, 0.3, "", 25.0, 0.0)
        self.flagged: dict[str, int] = {}  # samples dropped as over range / suspect, per channel
        bench.add_channels(SOC_CHANNELS)
        bench.samples_published.connect(self.on_samples)

    @classmethod
    def from_config(cls, bench: Bench, cfg: Config) -> SocService:
        s = cfg.soc
        return cls(
            bench,
            model_for(cfg),
            tuning_for(cfg),
            voltage_channel=s.voltage_channel,
            current_channel=s.current_channel,
            temperature_channel=s.temperature_channel,
            initial=s.initial,
            initial_soc_pct=s.initial_soc_pct,
            initial_sigma_pct=s.initial_sigma_pct,
            max_current_age_s=s.max_current_age_s,
        )

    def close(self) -> None:
        self.bench.samples_published.disconnect(self.on_samples)

    def reset(
        self, soc_pct: float | None = None, sigma_pct: float | None = None, how: str = "configured"
    ) -> None:
        """Start over at the next voltage sample (from a given SOC, or by the start policy);
        ``how`` names where a given SOC came from in the status line."""
        self.filter = None
        self.coulomb = None
        self.latest = None  # the gauge shows "waiting" until the new start's first estimate
        self._t_filter = None
        self._rest = None
        if soc_pct is not None:
            self.initial, self.initial_soc, self._given_how = "config", soc_pct / 100.0, how
        if sigma_pct is not None:
            self.initial_sigma = sigma_pct / 100.0

    def start_over(self, soc_pct: float | None, sigma_pct: float = OPERATOR_SIGMA_PCT) -> Event:
        """The operator's "start the estimate over": from ``soc_pct`` ± ``sigma_pct`` (1σ, %)
        — they know better (a full charge just ended, a block fresh from storage) — or, with
        ``None``, from the battery's voltage as at start-up (``initial = "auto"``). Takes effect
        at the next voltage reading; a rest there still weighs a given SOC (start.py). Recorded
        as a ``soc.start_over`` event of the session, so whoever reads the recording sees why
        the estimate jumped. Raises :class:`ValueOutOfRange` (nothing changed) on a bad value."""
        if soc_pct is not None and not 0.0 <= soc_pct <= 100.0:
            raise ValueOutOfRange(f"SOC must be within 0…100 %, got {soc_pct:g}")
        if not 0.0 < sigma_pct <= 50.0:
            raise ValueOutOfRange(f"the SOC's σ must be within 0…50 % (not 0), got {sigma_pct:g}")
        if soc_pct is None:  # the configured σ stays the fallback of a start the voltage cannot pin
            self.initial = "auto"
            self.reset()
            text = "SOC estimate started over by the operator, from the battery's voltage"
            data: dict[str, float | None] = {"soc_pct": None, "sigma_pct": None}
        else:
            self.reset(soc_pct, sigma_pct, how=OPERATOR_HOW)
            text = f"SOC estimate started over by the operator at {soc_pct:g} % ± {sigma_pct:g} % (1σ)"
            data = {"soc_pct": soc_pct, "sigma_pct": sigma_pct}
        log.info("%s", text)
        return self.bench.record_event("soc.start_over", text, data)

    # -- the listener ------------------------------------------------------------------------
    def on_samples(self, samples: Sequence[Sample]) -> None:
        volts = []
        for s in samples:  # currents first: a voltage read with the current at the same instant
            if s.flags & NOT_A_VALUE and s.channel in (self.current_channel, self.voltage_channel):
                self._drop(s)
            elif s.channel == self.current_channel:
                self._on_current(ns_to_s(s.t_ns), s.value)
            elif s.channel == self.voltage_channel:
                volts.append(s)
            elif s.channel == self.temperature_channel and math.isfinite(s.value):
                self._temp = s.value
        out: list[Sample] = []
        for s in volts:
            out += self._on_voltage(s.t_ns, s.value)
        if out:
            self.bench.publish(out)

    def _drop(self, s: Sample) -> None:
        n = self.flagged[s.channel] = self.flagged.get(s.channel, 0) + 1
        if n == 1:
            log.warning("SOC: %s reads flagged values (%g): not used until valid", s.channel, s.value)

    def _on_current(self, t: float, i: float) -> None:
        if not math.isfinite(i):
            return
        if self._t_cur is not None and self._t_filter is not None:
            start = max(self._t_cur, self._t_filter)
            if t > start and t - self._t_cur <= self.max_current_age_s:
                self._charge_as += self._i_cur * (t - start)
        if self._t_cur is not None and t > self._t_cur:
            a = math.exp(-(t - self._t_cur) / 10.0)
            self._i_smooth = a * self._i_smooth + (1.0 - a) * i
        else:
            self._i_smooth = i
        self._t_cur, self._i_cur = t, i

    def _start_point(self, v: float) -> tuple[float, float, str]:
        """(SOC, σ, how): from the rested voltage; under current, from the voltage corrected
        by the model for that current (issue 19: the demo started at 50 % while the battery
        was at 80 % and charging), else the MPPT's own SOC as a wide prior; else configured."""
        m = self.model
        temp = self._temp if self._temp is not None else 25.0
        if abs(self._i_cur) <= m.rest_current_a():
            return initial_soc(
                m,
                v,
                self._i_cur,
                fallback_soc=self.initial_soc,
                fallback_sigma=self.initial_sigma,
                temperature_c=temp,
            )
        start = soc_under_current(
            m, v, self._i_cur, temperature_c=temp, sensor_sigma_v=self.tuning.sensor_sigma_v
        )
        if start is None:
            mppt = self.bench.display.latest("soc.mppt")
            start = soc_from_prior(mppt[1], "MPPT") if mppt is not None else None
        return start or (self.initial_soc, self.initial_sigma, "configured")

    def _start(self, t: float, v: float) -> None:
        m = self.model
        if self.initial == "auto":
            z0, s0, how = self._start_point(v)
        else:
            z0, s0, how = self.initial_soc, self.initial_sigma, self._given_how
        self._how = how
        temp = self._temp or 25.0
        self.filter = Spkf(m, z0, s0, self.tuning, temperature_c=temp, current0_a=self._i_cur)
        self.coulomb = CoulombCounter(m.capacity_ah, z0, m.coulombic_efficiency)
        self._t_filter = t
        self._charge_as = 0.0
        rest_a = m.rest_current_a()
        self._rest = RestWindow(t, rest_a) if abs(self._i_cur) <= rest_a else None
        self._start_args = (z0, s0, how, temp, self._i_cur)
        log.info("SOC estimator started at %.1f %% ± %.1f %% (%s)", 100 * z0, 300 * s0, how)

    def _start_again_from_rest(self) -> None:
        """Start again from the relaxation of the rest the estimator started in (what the
        replay of the same readings does: :mod:`benchgui.soc.rest_window`) and run the kept
        steps through the new filter."""
        w, self._rest = self._rest, None
        if w is None or not w.steps:
            return
        m = self.model
        t, v = w.arrays()
        rest = fit_rest_start(m, t, v, sensor_sigma_v=self.tuning.sensor_sigma_v)
        if rest is None:
            return
        z0, s0, how, temp, i0 = self._start_args
        given = None if self.initial == "auto" else (z0, s0)
        point = start_from_rest(
            m,
            rest,
            given,
            temperature_c=temp,
            short_sigma=self.initial_sigma,
            given_as=how,
            disagree_sigmas=self.tuning.bump_sigmas,
        )
        z0, s0, how = point.soc, point.sigma, point.how
        f = Spkf(
            m,
            z0,
            s0,
            self.tuning,
            temperature_c=temp,
            current0_a=i0,
            rc0_a=rest.rc_a,
            rc0_sigma_a=rest.rc_sigma_a,
        )
        cc = CoulombCounter(m.capacity_ah, z0, m.coulombic_efficiency)
        for st in w.steps:
            if st.gap_variance > 0.0:
                f.add_soc_variance(st.gap_variance)
            reading = None if point.readings_used else st.voltage_v  # the fit has read them
            f.step(st.dt_s, st.current_a, reading, st.current_now_a, st.temperature_c)
            cc.step(st.dt_s, st.current_a)
        self.filter, self.coulomb, self._how = f, cc, how
        log.info(
            "SOC estimator started again from %.0f s of rest: %.1f %% ± %.1f %% at the start (%s)",
            rest.span_s,
            100 * z0,
            300 * s0,
            how,
        )

    def _on_voltage(self, t_ns: int, v: float) -> list[Sample]:
        t = ns_to_s(t_ns)
        if self._t_cur is None or t - self._t_cur > self.max_current_age_s or not math.isfinite(v):
            return []  # no usable current (yet): nothing to estimate with
        if self.filter is None or self._t_filter is None:
            self._start(t, v)
        assert self.filter is not None
        assert self.coulomb is not None
        assert self._t_filter is not None
        dt = t - self._t_filter
        if dt < 0:
            return []
        start = max(self._t_cur, self._t_filter)
        charge = self._charge_as + (self._i_cur * (t - start) if t > start else 0.0)
        i_avg = charge / dt if dt > 0 else self._i_cur
        gap_var = 0.0
        if dt > self.max_current_age_s:  # a gap: what the current did in it is a guess
            q_as = SECONDS_PER_HOUR * self.model.capacity_ah
            gap_var = (0.5 * abs(self._i_cur - i_avg) * dt / q_as) ** 2
        w = self._rest
        if w is not None and (w.beyond(t) or not w.at_rest(self._i_cur)):
            self._start_again_from_rest()  # the window is over (or the rest): from what it showed
        elif w is not None:
            w.add(t, Step(dt, i_avg, v, self._i_cur, self._temp, gap_var))
        assert self.filter is not None
        assert self.coulomb is not None
        if gap_var > 0.0:
            self.filter.add_soc_variance(gap_var)
        soc = self.filter.step(dt, i_avg, v, self._i_cur, self._temp)
        cc = self.coulomb.step(dt, i_avg)
        self._t_filter = t
        self._charge_as = 0.0
        est = self._estimate(t, soc, v, cc)
        self.latest = est
        self.updated.emit(est)
        return [
            Sample("soc.spkf", t_ns, est.soc_pct),
            Sample("soc.spkf.sigma3", t_ns, est.sigma3_pct),
            Sample("soc.coulomb", t_ns, est.coulomb_pct),
        ]

    def _estimate(self, t: float, soc: float, v: float, cc: float) -> SocEstimate:
        assert self.filter is not None
        m = self.model
        i = self._i_smooth
        eta = m.coulombic_efficiency if i > 0 else 1.0
        rate = 100.0 * eta * i / m.capacity_ah  # % per hour
        rest = m.rest_current_a()
        to_empty = soc * 100 / -rate * 3600 if i < -rest and soc > 0 else None
        to_full = (1.0 - soc) * 100 / rate * 3600 if i > rest and soc < 1 else None
        return SocEstimate(
            t_s=t,
            soc_pct=100.0 * soc,
            sigma3_pct=300.0 * self.filter.soc_sigma,
            coulomb_pct=100.0 * cc,
            current_a=i,
            voltage_v=v,
            soc_pct_per_h=rate,
            time_to_empty_s=to_empty,
            time_to_full_s=to_full,
            initial_how=self._how,
            coulomb_only=self.filter.coulomb_only,
            current_bias_a=self.filter.current_bias_a,
        )


def attach_soc(bench: Bench, cfg: Config) -> SocService | None:
    """Create the live estimator when ``[soc] enabled`` and register it as ``services.soc``."""
    if not cfg.soc.enabled:
        return None
    service = SocService.from_config(bench, cfg)
    bench.services.soc = service
    return service
