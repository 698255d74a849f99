"""The identified model's demonstrated error, per SOC and per regime (rest / discharge / charge).

Why: a filter must never be pulled by a model that cannot predict the voltage. A lead-acid
block's charge overvoltage (gassing towards full) is far larger than its discharge polarisation:
an ESC model with one R0 fitted to a whole characterisation run misses the charge by 50–120 mV
per cell while it fits rests and discharges to 20–35 mV (docs/soc-accuracy.md, "Lead-acid in the
matrix"). So the model may carry a charge-only resistance ΔR⁺ (R0 + ΔR⁺ while charging,
:attr:`~benchgui.soc.model.CellModel.r0_charge_extra_ohm`), and its uncertainty table a charge
row beside the rest/discharge one, which the filter picks by the sign of the current.

Two pieces:

* :func:`charge_column` — the regressor of ΔR⁺ in the fit. Separate charge and discharge
  resistances are Plett's (G. L. Plett, "Extended Kalman filtering for battery management
  systems of LiPB-based HEV battery packs, Part 2", J. Power Sources 134 (2004) 262–276, the
  R⁺/R⁻ of its simple models — cited from memory, not checked against the text here).
* :func:`rest_weights` — row weights for the fit that give the relaxed rests as much say as all
  the rows under current, so a charge overvoltage the model can only approximate cannot move
  the OCV table off the rested voltages.
* :func:`longest_rest_s` — the slowest relaxation a run can show (bounds the time constants).
* :func:`hysteresis_bound` — the largest hysteresis the rests after each direction allow.
* :func:`regime_uncertainty` — the table, from the residual of the model the filter will run,
  plus a :class:`RegimeErrors` summary for the fit report. With ``by_direction`` the charge
  rows get their own fraction beside the worst regime's (the table of a model without ΔR⁺ has
  only the latter, as before).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchgui.soc.model import ModelUncertainty

#: regimes, in report order
REGIMES = ("rest", "discharge", "charge")
#: the dynamic fraction's bounds: a floor so no regime is trusted absolutely, and the model
#: file's ceiling (modelfile: dynamic_fraction ≤ 10)
FRACTION_FLOOR = 0.05
FRACTION_CEILING = 10.0
REST_FLOOR_V = 0.0005
#: rows below this dynamic voltage (V per cell) carry no information on the dynamic fraction
MOVING_V = 0.005


def charge_column(i: np.ndarray) -> np.ndarray:
    """The charging part of the current (A, ≥ 0): multiplies ΔR⁺ in the fit."""
    return np.maximum(np.asarray(i, np.float64), 0.0)


def rest_weights(t: np.ndarray, i: np.ndarray, rest_a: float, min_s: float = 600.0) -> np.ndarray:
    """Row weights: the relaxed rows (at rest for at least ``min_s``, the rest length
    :func:`~benchgui.soc.capacity.rest_points` trusts) together weigh as much as all the others.

    Why: a rested voltage is the OCV by definition; a row under current is OCV + a polarisation
    the model only approximates. With every row weighted alike the thousands of rows under
    current outvote the few hundred relaxed ones, and where the model misses the polarisation
    (a lead-acid block's charge overvoltage and its √i-like discharge polarisation) the fit moves
    the OCV table off the rests and lets a slow hysteresis state bring the rests back. Measured
    on the lead-acid C/10-steps run: the table sat 13–20 mV per cell above the rested voltage
    after a charge *and* after a discharge, with M = 46 mV at γ = 0.23 (settling over 4
    capacities) to make up the difference — a state the filter cannot learn in a drive, so a
    20-point wrong start was explained away by it (docs/soc-accuracy.md; socle17 report).
    """
    relaxed = relaxed_rows(t, i, rest_a, min_s)
    w = np.ones(len(relaxed))
    n_rel = int(relaxed.sum())
    if 0 < n_rel < len(w):
        w[relaxed] = max(1.0, (len(w) - n_rel) / n_rel)
    return w


def rest_age_s(t: np.ndarray, i: np.ndarray, rest_a: float) -> np.ndarray:
    """Per row, the time (s) since the current stopped (|i| ≤ ``rest_a``); −inf under current."""
    t = np.asarray(t, np.float64)
    resting = np.abs(np.asarray(i, np.float64)) <= rest_a
    if not len(t):
        return t.copy()
    first = resting & ~np.concatenate([[False], resting[:-1]])
    started = np.maximum.accumulate(np.where(first, t, -np.inf))
    return np.where(resting, t - started, -np.inf)


def relaxed_rows(t: np.ndarray, i: np.ndarray, rest_a: float, min_s: float = 600.0) -> np.ndarray:
    """Rows at rest (|i| ≤ ``rest_a``) for at least ``min_s`` since the current stopped."""
    return rest_age_s(t, i, rest_a) >= min_s


def longest_rest_s(t: np.ndarray, i: np.ndarray, rest_a: float) -> float:
    """The longest stretch (s) with |i| ≤ ``rest_a``: the slowest relaxation a run can show.

    Why: an RC branch slower than the longest rest never shows its relaxation finish, so the
    fit cannot tell it from the OCV or the hysteresis, and in the filter its unknown initial
    current is a free voltage offset that trades with SOC. Measured on the lead-acid C/20+CV
    run with the hysteresis bounded by its rests: a branch of 205 mΩ at τ = 8.5 h took its
    place, and a 20-point wrong start never converged (docs/soc-accuracy.md).
    """
    age = rest_age_s(t, i, rest_a)
    return float(max(age.max(), 0.0)) if len(age) else 0.0


def hysteresis_bound(rest_z: np.ndarray, rest_v: np.ndarray, direction: np.ndarray) -> float | None:
    """The largest hysteresis the rests allow (V per cell): half the median gap between the
    rested voltage after a charge and after a discharge at the same SOC. None: the run has no
    SOC where rests of both histories can be compared (then no bound).

    Why: a fully developed hysteresis (|h| = 1) moves a rested voltage by ±(M + M0), so rests
    after each direction differ by at most 2(M + M0); a larger M can only come from the rows
    under current, where it stands in for a charge overvoltage. Measured on the lead-acid
    C/20+CV run: M = 54–64 mV fitted, while its rests differ by 11–22 mV (half: ≈ 9 mV), and
    with h = +1 after every charge the model read the drives' rests after a charge 44–130 mV per
    cell high (docs/soc-accuracy.md). The gap itself may be relaxation rather than hysteresis
    (a KiBaM block's bound charge, τ ≈ 50 min): a bound, not an estimate.
    """
    gaps: list[float] = []
    for sign in (1.0, -1.0):
        mine, other = direction == sign, direction == -sign
        if mine.sum() < 1 or other.sum() < 2:
            continue
        oz, ov = rest_z[other], rest_v[other]
        order = np.argsort(oz)
        oz, ov = oz[order], ov[order]
        inside = mine & (rest_z >= oz[0]) & (rest_z <= oz[-1])
        if inside.any():
            gaps += (sign * (rest_v[inside] - np.interp(rest_z[inside], oz, ov))).tolist()
    if not gaps:
        return None
    return max(0.5 * float(np.median(gaps)), 0.0)


def regimes(i: np.ndarray, rest_a: float) -> dict[str, np.ndarray]:
    """Row masks: resting (|i| ≤ rest current), discharging, charging."""
    return {"rest": np.abs(i) <= rest_a, "discharge": i < -rest_a, "charge": i > rest_a}


@dataclass(frozen=True)
class RegimeErrors:
    """RMS residual (V per cell) by regime and SOC bin (NaN: no data there), for the report."""

    soc: np.ndarray  # bin centres (fraction)
    rms_v: dict[str, np.ndarray]
    mean_v: dict[str, np.ndarray]

    def lines(self) -> list[str]:
        out = []
        for name in REGIMES:
            r, m = self.rms_v[name], self.mean_v[name]
            ok = np.isfinite(r)
            if not ok.any():
                out.append(f"{name:<9} no data")
                continue
            worst = int(np.nanargmax(r))
            out.append(
                f"{name:<9} RMS {1000 * np.nanmin(r):.1f} … {1000 * np.nanmax(r):.1f} mV per cell by SOC "
                f"(worst at {100 * self.soc[worst]:.0f} %: mean {1000 * m[worst]:+.1f} mV)"
            )
        return out


def _bin_rms(k: np.ndarray, mask: np.ndarray, x: np.ndarray, bins: int, min_rows: int) -> np.ndarray:
    out = np.full(bins, np.nan)
    for b in range(bins):
        m = mask & (k == b)
        if m.sum() >= min_rows:
            out[b] = np.sqrt(np.mean(x[m] ** 2))
    return out


def _fill(x: np.ndarray, centres: np.ndarray, floor: float, default: float) -> np.ndarray:
    """Bins without data borrow from their neighbours (linear, held at the ends)."""
    ok = np.isfinite(x)
    if not ok.any():
        return np.full(len(x), default)
    return np.maximum(np.interp(centres, centres[ok], x[ok]), floor)


def _last_direction(i: np.ndarray, rest_a: float) -> np.ndarray:
    """Sign of the last current above ``rest_a`` at or before each row (0 before any)."""
    moving = np.abs(i) > rest_a
    idx = np.where(moving, np.arange(len(i)), -1)
    last = np.maximum.accumulate(idx) if len(i) else idx
    return np.where(last >= 0, np.sign(i[np.maximum(last, 0)]), 0.0)


def _rest_fraction(
    k: np.ndarray,
    m: np.ndarray,
    res: np.ndarray,
    dyn: np.ndarray,
    i: np.ndarray,
    rest_a: float,
    bins: int,
    min_rows: int,
) -> np.ndarray | None:
    """The rest rows' own fraction per SOC bin, the worse of after a charge and after a
    discharge; None when no rest row holds a relaxation voltage (then the table has no row).

    Why: at rest the dynamic voltage is what the RC branches still hold. With the slow branch
    the rests show (relaxation.py) the model follows a block's relaxation, while under load it
    misses the √i-like polarisation: the worst regime's fraction (0.8 on the lead-acid matrix)
    made a 15-minute rest after a load count for almost nothing (σ ≈ 0.8 × 30 mV per cell)."""
    after = _last_direction(np.asarray(i, np.float64), rest_a)
    out = np.full(bins, np.nan)
    for sign in (-1.0, 1.0):
        mm = m & (after == sign)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.fmax(out, _bin_rms(k, mm, res, bins, min_rows) / _bin_rms(k, mm, dyn, bins, min_rows))
    return out if np.isfinite(out).any() else None


def regime_uncertainty(
    z: np.ndarray,
    res: np.ndarray,
    dyn: np.ndarray,
    i: np.ndarray,
    rest_a: float,
    resting: np.ndarray,
    bins: int = 20,
    min_rows: int = 5,
    by_direction: bool = False,
    charge_term_v: np.ndarray | None = None,
) -> tuple[ModelUncertainty, RegimeErrors]:
    """The filter's table from the residual ``res`` (V per cell) of the model it will run.

    ``dyn`` is that model's dynamic voltage |R0·i| + Σ R_j·|i_Rj| per row, ``resting`` marks
    rows where it has relaxed (the rest column). The dynamic fraction of a SOC bin is the
    largest over the regimes of √(Σres²/Σdyn²) on rows that move (dyn ≥ 5 mV), the worst
    regime's. With ``by_direction`` the charge rows get their own ``charge_fraction`` as well
    (the filter picks it while charging), while ``dynamic_fraction`` stays the worst regime's:
    measured on the lead-acid matrix, a discharge row from the discharges alone (mostly C/10
    in a characterisation) let 1C/2C pulses pull the SOC (pulsed drive RMS 6.5 % against 3.6 %),
    so its evidence is no better than the charge's (docs/soc-accuracy.md; inference).

    ``charge_term_v``: the ΔR⁺·max(i, 0) voltage of each row. It is counted in the charge
    rows' error as if wholly uncertain (√(res² + term²)): a characterisation charges at one
    rate, so it shows ΔR⁺ at that rate only, and cannot tell a resistance from an overvoltage
    that grows more slowly with current (a lead-acid block's gassing, Tafel-like; inference).
    The mean prediction gains from ΔR⁺, the band does not shrink on its account.

    With ``by_direction`` the rest column is likewise the worse of rests after charge and rests
    after discharge per SOC bin: on the lead-acid C/20+CV run the model read every rest after a
    charge 44–130 mV per cell high and every rest after a discharge within −11…+16 mV, and the
    pooled RMS (16–22 mV at 30–65 %) let the drives' rests after charge pull the SOC 8–10 points
    each (docs/soc-accuracy.md; measured, socle3 report). A bias of one history is not noise.
    """
    z = np.asarray(z, np.float64)
    centres = (np.arange(bins) + 0.5) / bins
    k = np.clip((z * bins).astype(int), 0, bins - 1)
    masks = regimes(np.asarray(i, np.float64), rest_a)
    moving = dyn >= MOVING_V
    rest_v = _fill(_bin_rms(k, resting, res, bins, min_rows), centres, REST_FLOOR_V, 0.005)
    if by_direction:  # the rest column is the worse of the two histories, as the dynamic one
        after = _last_direction(np.asarray(i, np.float64), rest_a)
        for sign in (-1.0, 1.0):
            one = _bin_rms(k, resting & (after == sign), res, bins, min_rows)
            if np.isfinite(one).any():  # each history filled across SOC on its own
                rest_v = np.maximum(rest_v, _fill(one, centres, REST_FLOOR_V, 0.005))
    frac = np.full(bins, np.nan)
    chg = np.full(bins, np.nan)
    for name, mask in masks.items():
        m = mask & moving
        x = res
        if by_direction and name == "charge" and charge_term_v is not None:
            x = np.hypot(res, charge_term_v)
        num = _bin_rms(k, m, x, bins, min_rows)
        den = _bin_rms(k, m, dyn, bins, min_rows)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = num / den
        if by_direction and name == "charge":
            chg = f
        frac = np.fmax(frac, f)  # NaN where neither has data
    rst = (
        _rest_fraction(k, masks["rest"] & moving, res, dyn, i, rest_a, bins, min_rows)
        if by_direction
        else None
    )
    table = ModelUncertainty(
        centres,
        rest_v,
        np.minimum(_fill(frac, centres, FRACTION_FLOOR, 0.25), FRACTION_CEILING),
        np.minimum(_fill(chg, centres, FRACTION_FLOOR, 0.25), FRACTION_CEILING) if by_direction else None,
        None if rst is None else np.minimum(_fill(rst, centres, FRACTION_FLOOR, 0.25), FRACTION_CEILING),
    )
    rms = {n: _bin_rms(k, m, res, bins, min_rows) for n, m in masks.items()}
    mean = {}
    for n, m in masks.items():
        mv = np.full(bins, np.nan)
        for b in range(bins):
            mb = m & (k == b)
            if mb.sum() >= min_rows:
                mv[b] = float(np.mean(res[mb]))
        mean[n] = mv
    return table, RegimeErrors(centres, rms, mean)
