"""Run a recorded series (time, current, voltage[, temperature]) through the SOC filter.

Pure: arrays in, arrays out. Row k's current holds from t[k] to t[k+1] (zero-order hold), as
a logger that reads current at each row implies; the voltage of row k is compared with the
model at t[k] using row k's current. Gaps longer than ``max_hold_s`` are bridged with the mean
of the currents on either side, and the SOC variance grows by what that guess could be off —
so a logger outage widens the ±3σ band instead of hiding an error. Rows without a voltage
(empty cells) only advance the filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchgui.soc.model import SECONDS_PER_HOUR, CellModel
from benchgui.soc.rest_start import fit_rest_start, leading_rest_rows
from benchgui.soc.spkf import Spkf, SpkfTuning, initial_soc
from benchgui.soc.start import start_from_rest


@dataclass
class RunData:
    """A recorded run: time (s), current (A, + = charging), pack voltage (V, NaN = missing),
    optional temperature (°C)."""

    t_s: np.ndarray
    current_a: np.ndarray
    voltage_v: np.ndarray
    temperature_c: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass
class ReplayResult:
    t_s: np.ndarray
    soc: np.ndarray  # fraction
    soc_sigma: np.ndarray  # fraction (1σ)
    coulomb: np.ndarray  # fraction, plain coulomb counting from the same start
    voltage_pred_v: np.ndarray  # the filter's predicted voltage before each correction
    soc0: float
    soc0_sigma: float
    soc0_how: str
    rejected: int
    bumps: int
    repairs: int
    #: the filter's estimate of the current sensor's offset (A, measured − true) at every row
    current_bias_a: np.ndarray | None = None
    #: True where the estimate rests on coulomb counting alone (OCV too flat, or no reading)
    coulomb_only: np.ndarray | None = None


def replay(
    model: CellModel,
    run: RunData,
    *,
    soc0: float | None = None,
    soc0_sigma: float = 0.1,
    fallback_soc: float = 0.5,
    fallback_sigma: float = 0.3,
    tuning: SpkfTuning | None = None,
    max_hold_s: float = 60.0,
    fit_rest: bool = True,
) -> ReplayResult:
    """Estimate SOC at every row. ``soc0`` None: from the voltage when the battery rests at the
    first row — the OCV its relaxation over the first minutes extrapolates to
    (:mod:`benchgui.soc.rest_start`) — else ``fallback_soc``; otherwise that SOC with σ
    ``soc0_sigma``, weighed with that fit where the rest tells SOC
    (:func:`benchgui.soc.start.start_from_rest`; the filter then does not read the rest's
    voltages again). Either way a rest at the start sets the RC branches' start from that fit.
    ``fit_rest`` False: as before that fit (the voltage read as an OCV, the branches at 0 ± C/20;
    for comparisons)."""
    n = len(run)
    if n == 0:
        raise ValueError("no rows to replay")
    t, i, v = run.t_s, run.current_a, run.voltage_v
    temps = run.temperature_c
    t0c = float(temps[0]) if temps is not None and math.isfinite(temps[0]) else 25.0
    tun = tuning or SpkfTuning()
    sensor_v = tun.sensor_sigma_v
    rows = leading_rest_rows(t, i, model.rest_current_a()) if fit_rest else 0
    rest = fit_rest_start(model, t[:rows], v[:rows], sensor_sigma_v=sensor_v) if rows else None
    v_filter = v
    if rest is not None:
        given = None if soc0 is None else (soc0, soc0_sigma)
        point = start_from_rest(
            model,
            rest,
            given,
            temperature_c=t0c,
            short_sigma=fallback_sigma,
            disagree_sigmas=tun.bump_sigmas,
        )
        z0, s0, how = point.soc, point.sigma, point.how
        if point.readings_used:  # the fit has read them: the filter runs through without them
            v_filter = v.copy()
            v_filter[:rows] = np.nan
    elif soc0 is None:
        first_v = next((float(x) for x in v[: min(n, 10)] if math.isfinite(x)), None)
        z0, s0, how = initial_soc(
            model,
            first_v,
            float(i[0]),
            fallback_soc=fallback_soc,
            fallback_sigma=fallback_sigma,
            temperature_c=t0c,
            sensor_sigma_v=sensor_v,
        )
    else:
        z0, s0, how = soc0, soc0_sigma, "given"
    f = Spkf(
        model,
        z0,
        s0,
        tuning,
        temperature_c=t0c,
        current0_a=float(i[0]),
        rc0_a=rest.rc_a if rest is not None else None,
        rc0_sigma_a=rest.rc_sigma_a if rest is not None else None,
    )
    # intervals and the current held over each, worked out up front (vectorised)
    dt = np.diff(t, prepend=t[0])
    hold = np.concatenate([[i[0]], i[:-1]])
    gap = dt > max_hold_s
    hold[gap] = 0.5 * (hold[gap] + i[gap])
    q_as = SECONDS_PER_HOUR * model.capacity_ah
    gap_var = np.where(gap, (0.5 * (i - np.concatenate([[i[0]], i[:-1]])) * dt / q_as) ** 2, 0.0)
    soc = np.empty(n)
    var = np.empty(n)
    vp = np.empty(n)
    bias = np.empty(n)
    cc_only = np.empty(n, dtype=bool)
    dtl, hl, il, vl = dt.tolist(), hold.tolist(), i.tolist(), v_filter.tolist()
    tc = temps.tolist() if temps is not None else [None] * n
    gaps = set(np.nonzero(gap)[0].tolist())
    step = f.step
    for k in range(n):
        if k in gaps:
            f.add_soc_variance(float(gap_var[k]))
        soc[k] = step(dtl[k], hl[k], vl[k], il[k], tc[k])
        var[k] = f.soc_variance
        vp[k] = f.voltage_pred_v
        bias[k] = f.current_bias_a
        cc_only[k] = f.coulomb_only
    sig = np.sqrt(np.maximum(var, 0.0))
    coul = coulomb_series(model, dt, hold, z0)
    return ReplayResult(t, soc, sig, coul, vp, z0, s0, how, f.rejected, f.bumps, f.repairs, bias, cc_only)


def coulomb_series(model: CellModel, dt: np.ndarray, hold: np.ndarray, soc0: float) -> np.ndarray:
    """Plain coulomb counting over the same intervals and held currents (the baseline)."""
    ie = np.where(hold > 0, model.coulombic_efficiency * hold, hold)
    return soc0 + np.cumsum(ie * dt) / (SECONDS_PER_HOUR * model.capacity_ah)


def align_channels(
    t_v: np.ndarray,
    v: np.ndarray,
    t_i: np.ndarray,
    i: np.ndarray,
    t_temp: np.ndarray | None = None,
    temp: np.ndarray | None = None,
    max_current_age_s: float = 10.0,
) -> RunData:
    """Merge separately sampled channels (e.g. from a stored session) into one run.

    Rows are the union of the voltage and current sample times. Each row's current is the
    latest current sample (zero-order hold, as :func:`replay` assumes); each row's voltage is
    the voltage sampled at exactly that time, NaN otherwise (predict-only rows). Rows before
    the first current sample, or whose current is older than ``max_current_age_s``, are dropped.
    """
    t_v, v = np.asarray(t_v, np.float64), np.asarray(v, np.float64)
    t_i, i = np.asarray(t_i, np.float64), np.asarray(i, np.float64)
    good_i = np.isfinite(i)
    t_i, i = t_i[good_i], i[good_i]
    if len(t_i) == 0 or len(t_v) == 0:
        return RunData(np.empty(0), np.empty(0), np.empty(0))
    t = np.union1d(t_v, t_i)
    k = np.searchsorted(t_i, t, side="right") - 1
    keep = (k >= 0) & (t - t_i[np.maximum(k, 0)] <= max_current_age_s)
    t, k = t[keep], k[keep]
    cur = i[k]
    volt = np.full(len(t), np.nan)
    pos = np.searchsorted(t, t_v)
    inside = pos < len(t)
    hit = inside.copy()
    hit[inside] = t[pos[inside]] == t_v[inside]
    volt[pos[hit]] = v[hit]
    temps = None
    if t_temp is not None and temp is not None and len(t_temp):
        kt = np.clip(np.searchsorted(t_temp, t, side="right") - 1, 0, len(t_temp) - 1)
        temps = np.asarray(temp, np.float64)[kt]
    return RunData(t, cur, volt, temps)
