"""The model's own uncertainty, by SOC, for the filter: what identification could not pin down.

Two sources: the residual of the fit (:func:`uncertainty_from_residual`: how far the fitted model
is off where the run has data) and the stretches of SOC the run never reached
(:func:`widen_beyond_data`: there the OCV table is an extrapolation, not a measurement).
"""

from __future__ import annotations

import numpy as np

from benchgui.soc.model import ModelUncertainty

#: rest_v must stay below this (the model file's range is 0…1 V)
MAX_REST_V = 0.5


def uncertainty_from_residual(
    z: np.ndarray, res: np.ndarray, dyn: np.ndarray, rest: np.ndarray, bins: int = 20
) -> ModelUncertainty:
    """Per-SOC model error: σ at rest and σ of the dynamic voltage as a fraction of it.

    ``res`` is the cell-voltage residual, ``dyn`` the model's dynamic voltage |R0·i| + Σ R_j·|i_Rj|
    and ``rest`` marks rows where the battery rests. SOC bins without data borrow from their
    neighbours; floors keep the filter from trusting the model absolutely anywhere.
    """
    centres = (np.arange(bins) + 0.5) / bins
    rest_v = np.full(bins, np.nan)
    frac = np.full(bins, np.nan)
    k = np.clip((z * bins).astype(int), 0, bins - 1)
    moving = dyn >= 0.005
    for b in range(bins):
        inb = k == b
        r = inb & rest
        if r.sum() >= 5:
            rest_v[b] = np.sqrt(np.mean(res[r] ** 2))
        m = inb & moving
        if m.sum() >= 5:
            frac[b] = np.sqrt(np.sum(res[m] ** 2) / np.sum(dyn[m] ** 2))

    def fill(x: np.ndarray, floor: float, default: float) -> np.ndarray:
        ok = np.isfinite(x)
        if not ok.any():
            return np.full(bins, default)
        x = np.interp(centres, centres[ok], x[ok])
        return np.maximum(x, floor)

    return ModelUncertainty(centres, fill(rest_v, 0.0005, 0.005), np.minimum(fill(frac, 0.05, 0.25), 5.0))


def widen_beyond_data(
    unc: ModelUncertainty, grid: np.ndarray, ocv: np.ndarray, z_lo: float, z_hi: float
) -> ModelUncertainty:
    """``unc`` with the rest σ widened where the run has no data (SOC below ``z_lo``, above ``z_hi``).

    Why: there the OCV table is extrapolated (a run without CV tail or retries stops short of
    the ends), so the residual says nothing about it. The filter may trust it no more than the
    distance to the data: σ grows from the data's edge as the OCV slope just inside the data
    × the distance, so a rested reading there resolves SOC to about that distance, whatever the
    table guessed (an honest band instead of a guess; inference: the slope inside is the best
    scale for the voltage the stretch may span).
    """
    pts = {
        float(z): (float(unc.rest_at(z)), float(np.interp(z, unc.soc, unc.dynamic_fraction))) for z in unc.soc
    }
    for edge, end, inward in ((z_lo, 0.0, 0.02), (z_hi, 1.0, -0.02)):
        span = abs(edge - end)
        if span < 0.002 or not 0.0 <= edge <= 1.0:
            continue
        inner = float(np.clip(edge + inward, 0.0, 1.0))
        slope = abs(float(np.interp(inner, grid, ocv) - np.interp(edge, grid, ocv))) / abs(inward)
        for z in (end, edge, *[float(x) for x in unc.soc]):
            dist = (edge - z) if end == 0.0 else (z - edge)
            if dist < 0:
                continue
            rest = float(unc.rest_at(z))
            dyn = float(np.interp(z, unc.soc, unc.dynamic_fraction))
            pts[z] = (min(max(rest, slope * dist), MAX_REST_V), dyn)
    soc = np.array(sorted(pts))
    chg, rst = unc.charge_fraction, unc.rest_fraction
    return ModelUncertainty(
        soc,
        np.array([pts[z][0] for z in soc]),
        np.array([pts[z][1] for z in soc]),
        None if chg is None else np.interp(soc, unc.soc, chg),  # a fraction: as it was
        None if rst is None else np.interp(soc, unc.soc, rst),
    )
