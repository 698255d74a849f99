"""The slowest relaxation time constant, from the rests of a characterisation run alone.

Why: during a rest the current is zero, so the terminal voltage is the OCV plus what the
polarisations still hold, V(t) = V∞ + Σ A_k·exp(−t/τ_k): no R0, no charge overvoltage, no
hysteresis change (the hysteresis state moves only with charge). Past the fast branches' decay
one exponential remains, and its τ is the slow branch's. The joint fit over every row cannot
find it: under current the model's linear R0/RC network stands in for overvoltages it does not
have (a lead-acid block's √i-like discharge polarisation and its charge overvoltage), and τ
then trades with R0, the hysteresis and the OCV table. Measured on the lead-acid matrix's
C/20+CV run: starts of 1500 / 3000 / 5000 s ended at 1909 / 3000 / 5000 s with the same
residual, and the fit settled at 570–920 s where the block relaxes with τ = 1/k = 3000 s
(docs/soc-accuracy.md, "Lead-acid in the matrix").

How: each rest of at least :data:`MIN_REST_S` that follows a current is fitted on its own (a
one-dimensional search over log τ, V∞ and A by linear least squares inside), after
:data:`SKIP_S` so faster branches have decayed; the answer is the median over those rests.
The median rather than one τ shared by all rests: near empty the OCV bends (a lead-acid cell's
acid depletion at the plates), so a relaxation that is exponential in charge is not in voltage
there, and those rests, with the largest amplitudes, would dominate a pooled fit (measured on the
KiBaM block's runs: pooled 1150–1820 s, per-rest median 2920–3060 s, truth 3000 s; the end
rests alone give 900–1570 s).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from benchgui.soc.model import RcBranch
from benchgui.soc.recursions import rc_currents_for

log = logging.getLogger(__name__)

#: rests shorter than this cannot show a slow relaxation apart from the fast ones
MIN_REST_S = 1200.0
#: the start of each rest left out of the fit: faster branches decay in it (a real block's fast
#: branch is τ ≈ 15 s on the bench recording — docs/soc-accuracy.md, "What the real bench
#: recording determines"; 300 s is 20 of those)
SKIP_S = 300.0
#: the relaxation must be visible: a rest whose voltage moves less than this (V per cell) over
#: the fitted part carries no τ (noise alone would set it)
MIN_AMPLITUDE_V = 0.002
#: how far past its own length a rest may place τ (beyond, exp(−t/τ) is a straight line and τ
#: trades with V∞)
MAX_TAU_PER_REST = 3.0
#: rests needed for a median worth fixing a time constant on
MIN_RESTS = 3


@dataclass(frozen=True)
class RestRelaxation:
    """The slow time constant the rests show, and the evidence behind it."""

    tau_s: float  # median over the rests
    taus_s: tuple[float, ...]  # one per fitted rest, in run order
    longest_rest_s: float
    rms_v: float  # residual of the per-rest fits at the median τ (V per cell)
    #: the branch's resistance (Ω per cell): median over the rests of the amplitude at the rest's
    #: start over the branch's current then (NaN: no rest followed enough current)
    r_ohm: float = math.nan
    #: per fitted rest: its last row, the voltage it relaxes to (V∞ at the median τ: the OCV
    #: there, every branch relaxed), and the sign of the current before it
    ends: tuple[int, ...] = ()
    v_end: tuple[float, ...] = ()
    direction: tuple[float, ...] = ()

    def line(self) -> str:
        lo, hi = np.percentile(self.taus_s, [25, 75])
        return (
            f"slow τ = {self.tau_s:.0f} s, R = {1000 * self.r_ohm:.2f} mΩ from {len(self.taus_s)} rests "
            f"(τ quartiles {lo:.0f} … {hi:.0f} s; longest rest {self.longest_rest_s:.0f} s; "
            f"fit RMS {1000 * self.rms_v:.2f} mV per cell)"
        )


def _rest_spans(t: np.ndarray, i: np.ndarray, rest_a: float, min_s: float) -> list[tuple[int, int]]:
    """(first, last) row of every rest of at least ``min_s`` that follows a current."""
    resting = np.abs(i) <= rest_a
    edges = np.flatnonzero(np.diff(resting.astype(np.int8)))
    starts = edges[resting[edges + 1]] + 1  # rows where a rest begins after a current
    spans = []
    for k in starts:
        stop = np.flatnonzero(~resting[k:])
        j = int(k + stop[0] - 1) if len(stop) else len(i) - 1
        if t[j] - t[k] >= min_s:
            spans.append((int(k), j))
    return spans


def _sse(tt: np.ndarray, vv: np.ndarray, tau: float) -> tuple[float, float, float]:
    """(sum of squared residuals, amplitude A, end value V∞) of V∞ + A·exp(−t/τ) on one rest."""
    x = np.column_stack([np.ones(len(tt)), np.exp(-tt / tau)])
    beta, *_ = np.linalg.lstsq(x, vv, rcond=None)
    r = vv - x @ beta
    return float(r @ r), float(beta[1]), float(beta[0])


def rest_time_constant(
    t: np.ndarray, i: np.ndarray, v_cell: np.ndarray, rest_a: float, tau_min_s: float = 60.0
) -> RestRelaxation | None:
    """The slow relaxation over the run's rests (τ: median of per-rest fits; R and each rest's
    end value at that τ), or None when fewer than :data:`MIN_RESTS` rests show a τ."""
    t = np.asarray(t, np.float64)
    i = np.asarray(i, np.float64)
    v_cell = np.asarray(v_cell, np.float64)
    rests = []  # (first row, last row, t since the rest began, v) past SKIP_S
    taus = []
    for k, j in _rest_spans(t, i, rest_a, MIN_REST_S):
        tt = t[k : j + 1] - t[k]
        vv = v_cell[k : j + 1]
        keep = (tt >= SKIP_S) & np.isfinite(vv)
        if keep.sum() < 10:
            continue
        tt, vv = tt[keep], vv[keep]
        rests.append((k, j, tt, vv))
        if np.ptp(vv) < MIN_AMPLITUDE_V:  # relaxed already: an end value, no τ
            continue
        hi = MAX_TAU_PER_REST * float(tt[-1])
        sol = optimize.minimize_scalar(
            lambda lt, tt=tt, vv=vv: _sse(tt, vv, math.exp(lt))[0],
            bounds=(math.log(tau_min_s), math.log(hi)),
            method="bounded",
        )
        tau = math.exp(float(sol.x))
        if 1.01 * tau_min_s < tau < 0.99 * hi:  # at a bound: this rest does not show it
            taus.append(tau)
    if len(taus) < MIN_RESTS:
        log.info("rest relaxation: %d rests show a time constant; none fixed", len(taus))
        return None
    tau = float(np.median(taus))
    fits = [_sse(tt, vv, tau) for _, _, tt, vv in rests]
    rms = math.sqrt(sum(f[0] for f in fits) / sum(len(r[2]) for r in rests))
    # the amplitude at the rest's start is R·i_R there, i_R the branch current the history left
    i_r = rc_currents_for(np.array([tau]), t, i)[0]
    ratios = [
        amp / i_r[k]
        for (k, _, _, _), (_, amp, _) in zip(rests, fits, strict=True)
        if abs(i_r[k]) >= rest_a and amp / i_r[k] > 0
    ]
    return RestRelaxation(
        tau_s=tau,
        taus_s=tuple(taus),
        longest_rest_s=max(float(r[2][-1]) for r in rests),
        rms_v=rms,
        r_ohm=float(np.median(ratios)) if ratios else math.nan,
        ends=tuple(r[1] for r in rests),
        v_end=tuple(f[2] for f in fits),
        direction=tuple(float(np.sign(i[r[0] - 1])) for r in rests),
    )


def ocv_through_rests(
    z: np.ndarray, v_end: np.ndarray, direction: np.ndarray, grid: np.ndarray, knot_step: float = 0.1
) -> np.ndarray:
    """The OCV on ``grid``: straight lines between knots every ``knot_step`` of SOC, fitted by
    least squares to the rests' end values, with one offset ±m for the rests after a charge /
    a discharge (the hysteresis the rests show, when both occur), never decreasing; beyond the
    rests the end segments go on straight.

    Why straight lines: a lead-acid cell's OCV follows the acid's specific gravity (OCV ≈
    gravity + 0.84 V), and the gravity falls about linearly with the charge drawn (Linden &
    Reddy, *Handbook of Batteries*, cited from memory); that straight lines between knots 10 %
    apart suffice is an inference. Between rests the rows under current would set the table,
    and they carry the overvoltage the model only approximates.
    """
    lo, hi = float(np.min(z)), float(np.max(z))
    knots = np.unique(np.concatenate([[lo], np.arange(0.0, 1.0 + 1e-9, knot_step), [hi]]))
    knots = knots[(knots >= lo) & (knots <= hi)]
    if len(knots) < 2:
        knots = np.array([lo, lo + 1e-6])
    j = np.clip(np.searchsorted(knots, z, side="right") - 1, 0, len(knots) - 2)
    w = (z - knots[j]) / (knots[j + 1] - knots[j])
    a = np.zeros((len(z), len(knots)))
    a[np.arange(len(z)), j] = 1.0 - w
    a[np.arange(len(z)), j + 1] = w
    # a light curvature penalty: a knot interval with no rest in it is a straight line on
    # (least squares alone leaves it free)
    h = np.diff(knots)
    slopes = np.diff(np.eye(len(knots)), axis=0) / h[:, None]  # each segment's slope
    pen = 1e-4 * np.diff(slopes, axis=0)  # changes of slope: zero for a straight line
    both = (direction > 0).any() and (direction < 0).any()
    if both:
        a = np.column_stack([a, direction])
        pen = np.column_stack([pen, np.zeros(len(pen))])
    beta, *_ = np.linalg.lstsq(np.vstack([a, pen]), np.concatenate([v_end, np.zeros(len(pen))]), rcond=None)
    at_knots = np.maximum.accumulate(beta[: len(knots)])
    out = np.interp(grid, knots, at_knots)
    # beyond the rests the end segments' straight lines go on (the same acid-gravity argument;
    # the rows under current there are a CV charge's overvoltage or a discharge's cut-off)
    # (the slope over the outer 20 % of the rests' range: one short end segment is ill-set)
    span = max(min(0.2, hi - lo), 1e-6)
    slope_hi = (at_knots[-1] - np.interp(hi - span, knots, at_knots)) / span
    slope_lo = (np.interp(lo + span, knots, at_knots) - at_knots[0]) / span
    out = np.where(grid > hi, at_knots[-1] + slope_hi * (grid - hi), out)
    return np.where(grid < lo, at_knots[0] - slope_lo * (lo - grid), out)


@dataclass(frozen=True)
class SlowBranch:
    """What identification takes from the rests: the slow branch, its voltage on every row, and
    each long rest's end value (SOC, V, direction before it) as an OCV point."""

    branch: RcBranch
    v_slow: np.ndarray
    rests: tuple[np.ndarray, np.ndarray, np.ndarray]
    note: str
    #: the last row of each of those rests (the SOC axis can be redrawn after the fact)
    ends: np.ndarray = field(default_factory=lambda: np.empty(0, int))


def slow_branch(
    t: np.ndarray, i: np.ndarray, v_cell: np.ndarray, z: np.ndarray, rest_a: float
) -> SlowBranch | None:
    """The slow RC branch (τ and R) and the OCV points the rests show, or None when they show
    no relaxation to fix it on (:func:`rest_time_constant`)."""
    relax = rest_time_constant(t, i, v_cell, rest_a)
    if relax is None or not math.isfinite(relax.r_ohm):
        return None
    branch = RcBranch(relax.r_ohm, relax.tau_s)
    v_slow = branch.r_ohm * rc_currents_for(np.array([branch.tau_s]), t, i)[0]
    ends = np.array(relax.ends, int)
    rests = (np.asarray(z)[ends], np.array(relax.v_end), np.array(relax.direction))
    return SlowBranch(branch, v_slow, rests, relax.line(), ends)
