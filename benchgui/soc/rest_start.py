"""Where a filter that starts at rest stands: the rest's relaxation, fitted with the model's own
time constants.

A battery whose current has just stopped is not at its OCV: its RC branches still hold what
the last charge or discharge left in them, and on a lead-acid block the slow one (τ ≈ 50 min)
holds hundreds of mV. Read as an OCV, such a voltage started the filter 40 points off with a σ
of 1 % (a C/2 discharge just ended; measured on a synthetic block), and started at the beginnings
of the lead-acid drives' rests the median error was 8–11 % with a third of the rows inside ±3σ
(docs/soc-accuracy.md, "Starts at a rest").

What the first minutes of the rest show settles it. At rest the model's voltage is

    v(t) = V∞ + Σ_j A_j·e^(−(t − t0)/τ_j),   A_j = n·R_j·i_j(t0)

(SOC and hysteresis stand still without current), linear in V∞ and the A_j once the τ_j are the
model's. A least-squares fit over the rest's first ``window_s`` gives V∞ — the OCV the rest
will reach, whose SOC is the start — and the branch currents at the start, each with its
uncertainty. The fit is Bayesian: each A_j has a prior of what a current of ``prior_c_rate`` C
leaves in its branch, so a rest too short to tell a slow branch from the OCV gives a wide σ
(its mean falls back on "no relaxation"), never a confident wrong answer. The model's τ and R
are not exact (relaxation is not a sum of exponentials): V∞ is off by up to ``rel_error`` of
what the fit extrapolates, and a fit that misses the readings by more than their noise counts
its residual as the noise.

Evidence: the ESC model's own equations (Plett, BMS Vol. I ch. 2; :mod:`benchgui.soc.model`);
Bayesian linear least squares (a Gaussian prior on the coefficients). The window (10 min), the
prior (1C) and the relative error (30 %) are inferences, measured in docs/soc-accuracy.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchgui.soc.model import CellModel

#: how much of a rest at the start the fit uses (s): long enough to tell a 50-minute branch
#: from the OCV (σ of its current ~0.04 A on a 7 Ah block at 1 reading/10 s), short enough
#: that the live estimator restarts from it while the operator waits
WINDOW_S = 600.0
#: the prior of a branch's current at a rest's start: what a 1C load leaves in it (1σ)
PRIOR_C_RATE = 1.0
#: the model's R/τ off by this share: V∞ is off by that share of what the fit extrapolates
REL_ERROR = 0.3
#: a shorter rest shows mostly the fastest relaxation, and its V∞ rests on the model's slow
#: branches alone: its SOC gets at least the configured start's σ (measured: 1-minute rests
#: after 2C pulses put LiFePO4's V∞ on the plateau, 64 points below the truth, outside its
#: ±3σ). The branches still come from the fit.
MIN_SPAN_S = 120.0


@dataclass(frozen=True)
class RestStart:
    """The fit over a rest's first rows: V∞ (pack V) and the RC branch currents at its start."""

    v_inf_v: float
    v_inf_sigma_v: float
    rc_a: np.ndarray
    rc_sigma_a: np.ndarray
    span_s: float
    rows: int

    @property
    def tells_soc(self) -> bool:
        """Whether the rest lasted long enough for its V∞ to be a start (:data:`MIN_SPAN_S`)."""
        return self.span_s >= MIN_SPAN_S


def leading_rest_rows(
    t_s: np.ndarray, current_a: np.ndarray, rest_a: float, window_s: float = WINDOW_S
) -> int:
    """How many rows from the first are at rest (|i| ≤ ``rest_a``) within ``window_s``."""
    n = len(t_s)
    if n == 0 or not abs(float(current_a[0])) <= rest_a:
        return 0
    moving = ~(np.abs(np.asarray(current_a, np.float64)) <= rest_a)  # NaN counts as moving
    late = np.asarray(t_s, np.float64) - float(t_s[0]) > window_s
    stop = np.nonzero(moving | late)[0]
    return int(stop[0]) if len(stop) else n


def fit_rest_start(
    model: CellModel,
    t_s: np.ndarray,
    voltage_v: np.ndarray,
    *,
    sensor_sigma_v: float = 0.005,
    prior_c_rate: float = PRIOR_C_RATE,
    rel_error: float = REL_ERROR,
) -> RestStart | None:
    """Fit V∞ + Σ A_j·e^(−t/τ_j) to rested pack voltages; None without a plausible reading
    (finite, within the filter's bounds of half the model's lowest and 1.5× its highest pack
    voltage — a dropout to 0 V is skipped, as the filter rejects it)."""
    t = np.asarray(t_s, np.float64)
    v = np.asarray(voltage_v, np.float64)
    # a dropout or a glitch is no relaxation: the filter's own plausibility bounds
    v_lo, v_hi = model.pack_voltage_range()
    ok = np.isfinite(t) & np.isfinite(v) & (v >= 0.5 * v_lo) & (v <= 1.5 * v_hi)
    t, v = t[ok], v[ok]
    if len(v) == 0:
        return None
    n = model.cells_in_series
    tt = t - t[0]
    all_r = n * np.array([b.r_ohm for b in model.rc], np.float64)
    seen = all_r > 0.0  # a branch without resistance holds no voltage: nothing to fit
    taus = np.array([b.tau_s for b in model.rc], np.float64)[seen]
    r_pack = all_r[seen]
    x = np.column_stack([np.ones_like(tt), *(np.exp(-tt / tau) for tau in taus)])
    s2 = sensor_sigma_v**2
    # priors: A_j ~ N(0, (n·R_j·prior current)²); V∞ vague (10 V per cell) around the mean
    lam = np.empty(1 + len(taus))
    lam[0] = 1.0 / (10.0 * n) ** 2
    lam[1:] = 1.0 / (r_pack * prior_c_rate * model.capacity_ah) ** 2
    info = x.T @ x / s2 + np.diag(lam)
    rhs = x.T @ v / s2
    rhs[0] += lam[0] * float(v.mean())
    cov = np.linalg.inv(info)
    coef = cov @ rhs
    resid = v - x @ coef
    rms = float(np.sqrt(np.mean(resid * resid)))
    if rms > sensor_sigma_v:  # the model misses this relaxation: its error is the noise
        cov = cov * (rms / sensor_sigma_v) ** 2
    a = coef[1:]
    v_inf_var = float(cov[0, 0]) + (rel_error * float(np.abs(a).sum())) ** 2
    prior_a = prior_c_rate * model.capacity_ah
    rc = np.zeros(len(all_r))
    rc_sigma = np.full(len(all_r), prior_a)
    rc[seen] = a / r_pack
    rc_sigma[seen] = np.sqrt(np.diag(cov)[1:] / r_pack**2 + (rel_error * rc[seen]) ** 2)
    return RestStart(
        float(coef[0]),
        math.sqrt(v_inf_var),
        rc,
        rc_sigma,
        float(tt[-1]),
        len(v),
    )
