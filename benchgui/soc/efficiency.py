"""Charge efficiency from the relaxed rests: where the rests after a charge sit on the OCV.

Why: a charge pass counts the Ah that went in; only η of them are stored (the rest gasses or
heats). Counting Ah over a full cycle gives η only where both ends are the same state, and a
lead-acid charge without absorption stops at 80–90 % — so capacity.py then takes η = 1, and the
SOC axis of every row after a charge drifts by (1 − η) of the charge (measured on the KiBaM
block's C/10-steps run: the identified model read 2–4 % low once the voltage counted;
docs/soc-accuracy.md, "what limits the wrong starts now"). The rests do not need both ends: a
rested voltage V∞ (relaxation.py) is the OCV at the charge stored there, and the OCV is one
curve. Rests after a discharge place that curve against the Ah drawn (η plays no part), rests
after a charge place it against η × the Ah put in; only the right η lays both on one curve.

How: for each η on a grid the stored charge at every rest is x = η·(Ah in) − (Ah out). The rests
after a discharge trace the OCV against x, as a monotone cubic through them (PCHIP: the OCV
curves near the ends — lead-acid's acid depletion near empty, lithium's electrodes — where
straight lines between rests cut the corner; η plays no part in them); each
rest after a charge inside their range is compared with that line at its own x, less one offset
common to all (hysteresis: a constant, where a wrong η shifts the charge rests in proportion to
the Ah put in). η is the minimum of the residual; its 95 % interval is where the residual grows
by the factor 1 + F(1, n − 2)/(n − 2) (profile likelihood, σ² from the minimum's residual over
its n − 2 degrees of freedom; n the charge rests compared). It needs at least
:data:`MIN_EACH` rests after a charge inside the range of the rests after a discharge —
otherwise η is not determined — and an η wholly above 1 is not used (no cell stores more than
it is given). What the interval leaves out: the rests' own V∞ error, which is systematic.
Measured (``benchmarks/soc_capacity.py``): on the 18 PyBaMM lithium bench runs (η = 1) every
interval that is used covers 1; with straight lines between the rests instead, three of them
missed it (by up to 0.6 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import interpolate, stats

from benchgui.soc.capacity import CapacityEstimate, coulomb
from benchgui.soc.relaxation import SlowBranch

#: η searched over this range (below 0.8 a cell is failing; above 1.0 a sensor offset is read)
ETA_RANGE = (0.80, 1.02)
#: grid step of the search (the interval is read off the same grid)
ETA_STEP = 0.0005
#: rests needed after each direction, the charge ones inside the discharge ones' range
MIN_EACH = 3
#: the interval (± half-width, 95 %) beyond which η is reported but not used
MAX_HALF_WIDTH = 0.02


@dataclass(frozen=True)
class EfficiencyFit:
    """η from the rests, its interval and whether it is used (why not, in ``warning``)."""

    eta: float
    half_width: float  # 95 %
    rests_charge: int
    rests_discharge: int
    rms_v: float
    warning: str = ""

    @property
    def determined(self) -> bool:
        return not self.warning

    def line(self) -> str:
        return (
            f"charge efficiency {self.eta:.3f} ± {self.half_width:.3f} (95 %) from {self.rests_charge} "
            f"rests after a charge against {self.rests_discharge} after a discharge "
            f"(OCV fit RMS {1000 * self.rms_v:.2f} mV per cell)"
            + (f": {self.warning}" if self.warning else "")
        )


def _fit(x: np.ndarray, v: np.ndarray, direction: np.ndarray) -> tuple[float, int]:
    """(residual, rests used): each rest after a charge against the monotone cubic through the
    rests after a discharge at its stored charge, less one offset (the hysteresis, 2m)."""
    dis, chg = direction < 0, direction > 0
    order = np.argsort(x[dis])
    xd, vd = x[dis][order], v[dis][order]
    inside = chg & (x > xd[0]) & (x < xd[-1])
    if not inside.any():
        return math.inf, 0
    keep = np.concatenate([[True], np.diff(xd) > 0])
    r = v[inside] - interpolate.PchipInterpolator(xd[keep], vd[keep])(x[inside])
    r = r - r.mean()
    return float(r @ r), int(inside.sum())


def efficiency_from_rests(
    t: np.ndarray, i: np.ndarray, ends: np.ndarray, v_end: np.ndarray, direction: np.ndarray
) -> EfficiencyFit | None:
    """η from the rests ending at rows ``ends`` (V∞ ``v_end``, sign of the current before each),
    or None when the run has no rest after a charge or after a discharge at all."""
    i = np.asarray(i, np.float64)
    in_ah = coulomb(t, np.where(i > 0, i, 0.0))  # Ah put in up to each row
    out_ah = -coulomb(t, np.where(i < 0, i, 0.0))  # Ah drawn
    ends = np.asarray(ends, int)
    chg, dis = direction > 0, direction < 0
    if not chg.any() or not dis.any():
        return None
    a_in, a_out = in_ah[ends], out_ah[ends]
    grid = np.arange(ETA_RANGE[0], ETA_RANGE[1] + 1e-9, ETA_STEP)
    fits = [_fit(e * a_in - a_out, v_end, direction) for e in grid]
    sse = np.array([f[0] for f in fits])
    k = int(np.argmin(sse))
    eta = float(grid[k])
    inside = fits[k][1]
    n, p = inside, 2  # the offset and η
    # profile likelihood with σ² estimated from the same rests: F(1, n − p) rather than χ²(1),
    # so few rests give a wide interval (with 3 rests F = 161 where χ² gives 3.84)
    dof = max(n - p, 1)
    ok = sse <= sse[k] * (1.0 + float(stats.f.ppf(0.95, 1, dof)) / dof)
    half = 0.5 * float(grid[ok].max() - grid[ok].min()) + 0.5 * ETA_STEP
    warning = ""
    if inside < MIN_EACH or int(dis.sum()) < MIN_EACH:
        warning = (
            f"{inside} rests after a charge lie among the rests after a discharge ({MIN_EACH} needed): "
            "the run does not determine the charge efficiency"
        )
    elif eta - half > 1.0:
        # no cell stores more than it is given: the rests after a charge then sit off the curve
        # for another reason (measured on PyBaMM's LFP bench runs with CV tails at C/5 and C/2,
        # η = 1: 1.015–1.019 — a hysteresis that is not one constant, an inference)
        warning = f"the rests show η = {eta:.3f} ± {half:.3f}, above 1: not one OCV curve, not used"
    elif half > MAX_HALF_WIDTH or k in (0, len(grid) - 1):
        warning = f"the rests leave the charge efficiency open (±{half:.3f}): not used"
    rms = math.sqrt(sse[k] / n) if n else math.nan
    return EfficiencyFit(eta, half, inside, int(dis.sum()), rms, warning)


def soc_axis(t: np.ndarray, i: np.ndarray, cap: CapacityEstimate) -> np.ndarray:
    """SOC per row: Ah counted from the empty turn (charge × η), plus what lies below it, over Q."""
    ie = np.where(i > 0, cap.efficiency * i, i)
    ce = coulomb(t, ie)
    return (ce - ce[cap.k_empty] + cap.missing_empty_ah) / cap.capacity_ah


def with_efficiency(cap: CapacityEstimate, fit: EfficiencyFit) -> CapacityEstimate:
    """The capacity estimate at the rests' η: a capacity counted on a charge pass (and its
    extrapolation to full, made in the same Ah in) holds η × those Ah; a capacity counted on a
    discharge, or given, does not change. The interval takes in η's."""
    if cap.given or not cap.from_charge:
        return replace(cap, efficiency=fit.eta)
    charged = cap.counted_ah + cap.missing_full_ah
    q = fit.eta * charged + cap.missing_empty_ah
    interval = math.hypot(fit.eta * cap.interval_ah, charged * fit.half_width)
    return replace(cap, capacity_ah=q, interval_ah=interval, efficiency=fit.eta)


def axis_from_rests(
    t: np.ndarray, i: np.ndarray, cap: CapacityEstimate, slow: SlowBranch, apply: bool = True
) -> tuple[CapacityEstimate, np.ndarray, str]:
    """(capacity, SOC per row, note) with η from the slow branch's rests where they determine it,
    the count did not measure it (capacity.py's η = 1) and ``apply``; otherwise as they were
    (the note says what the rests show either way)."""
    fit = efficiency_from_rests(t, i, slow.ends, slow.rests[1], slow.rests[2])
    if fit is None:
        why = "no rests after both a charge and a discharge: efficiency not measured"
        return cap, soc_axis(t, i, cap), why
    if not fit.determined:
        return cap, soc_axis(t, i, cap), fit.line()
    if cap.efficiency != 1.0 or not apply:
        kept = "the count's η kept" if cap.efficiency != 1.0 else "not applied"
        return cap, soc_axis(t, i, cap), f"{fit.line()}; {kept}"
    cap = with_efficiency(cap, fit)
    return cap, soc_axis(t, i, cap), f"{fit.line()}; capacity {cap.line()}"
