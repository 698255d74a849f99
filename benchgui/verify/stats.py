"""Error statistics of a device against a reference: offset, gain, RMS, max, noise — with CIs.

Model: ``device = gain · reference + intercept + noise``, fitted by ordinary least squares
(the reference is 16-bit and far less noisy than the device, so the errors-in-variables bias of
OLS is negligible). Confidence intervals use Student's t with the standard errors widened for
autocorrelated residuals: consecutive readings of a slowly drifting error are not independent, so
the sample size is replaced by the AR(1) effective size ``n·(1−ρ)/(1+ρ)`` (ρ = lag-1
autocorrelation of the residuals, only when positive). With white noise this changes nothing.

Pure numpy/scipy; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchgui.verify.align import FloatArray


@dataclass(frozen=True)
class Estimate:
    """A value with its confidence interval (NaN bounds when it cannot be given)."""

    value: float
    lo: float
    hi: float

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2


NAN_ESTIMATE = Estimate(math.nan, math.nan, math.nan)


def t_quantile(df: float, p: float) -> float:
    """Student's t quantile. scipy is imported here, at the first analysis, not with the module:
    scipy.special costs the GUI ~0.2 s of CPU before its first frame (issue 19); scipy.stats
    would cost 1 s."""
    from scipy.special import stdtrit

    return float(stdtrit(df, p))


def effective_n(residuals: FloatArray) -> float:
    """Sample size corrected for positive lag-1 autocorrelation (AR(1) approximation)."""
    n = len(residuals)
    if n < 3:
        return float(n)
    r = residuals - residuals.mean()
    den = float(np.dot(r, r))
    if den <= 0:
        return float(n)
    rho = float(np.dot(r[1:], r[:-1]) / den)
    if rho <= 0:
        return float(n)
    rho = min(rho, 0.99)
    return max(3.0, n * (1 - rho) / (1 + rho))


def mean_estimate(x: FloatArray, confidence: float) -> Estimate:
    """Mean of ``x`` with a t-interval (autocorrelation-corrected)."""
    n = len(x)
    if n == 0:
        return NAN_ESTIMATE
    m = float(np.mean(x))
    if n < 2:
        return Estimate(m, math.nan, math.nan)
    n_eff = effective_n(x)
    se = float(np.std(x, ddof=1)) / math.sqrt(n_eff)
    q = t_quantile(max(1.0, n_eff - 1), 0.5 + confidence / 2)
    return Estimate(m, m - q * se, m + q * se)


@dataclass(frozen=True)
class LineFit:
    """``device = gain · reference + intercept [+ r · current]``, with confidence intervals.

    ``r`` is present when the battery current was a second regressor (voltages: the drop across
    the cables and contacts between two sense points grows with the current).
    """

    gain: Estimate
    intercept: Estimate
    residual_std: float
    n: int
    n_effective: float
    r: Estimate = NAN_ESTIMATE

    def predict(self, x: FloatArray | float, current: float = 0.0) -> FloatArray | float:
        """The fitted line (at ``current``, when the current is part of the model)."""
        drop = self.r.value * current if math.isfinite(self.r.value) else 0.0
        return self.gain.value * x + self.intercept.value + drop


def fit_line(
    x: FloatArray, y: FloatArray, confidence: float = 0.95, current: FloatArray | None = None
) -> LineFit | None:
    """OLS fit of y on x (and ``current``, if given).

    None when there are too few points or x has (almost) no spread. A ``current`` without spread
    of its own (collinear with the intercept or with x) is dropped from the model.
    """
    n = len(x)
    k = 2 if current is None else 3
    if n < k + 1:
        return None
    xm = float(np.mean(x))
    scale_x = float(np.std(x))
    if scale_x <= 1e-9 * max(1.0, abs(xm)):
        return None
    # centre and scale the columns so the normal equations stay well conditioned
    cols = [np.ones(n), (x - xm) / scale_x]
    if current is not None:
        im = float(np.mean(current))
        si = float(np.std(current))
        if si <= 1e-9 * max(1.0, abs(im)):
            return fit_line(x, y, confidence)
        cols.append((current - im) / si)
    a = np.column_stack(cols)
    coef, _, rank, sv = np.linalg.lstsq(a, y, rcond=None)
    if rank < a.shape[1] or sv[-1] < 1e-6 * sv[0]:
        return fit_line(x, y, confidence) if current is not None else None
    resid = y - a @ coef
    dof_raw = n - a.shape[1]
    s2 = float(np.dot(resid, resid)) / dof_raw
    n_eff = effective_n(resid)
    cov = s2 * np.linalg.inv(a.T @ a) * (n / n_eff)
    q = t_quantile(max(1.0, n_eff - a.shape[1]), 0.5 + confidence / 2)
    # back to physical units: y = b0 + b1 (x - xm)/sx [+ b2 (i - im)/si]
    t = np.zeros((a.shape[1], a.shape[1]))  # physical = t @ scaled
    t[0, 0] = 1.0
    t[1, 1] = 1.0 / scale_x
    t[0, 1] = -xm / scale_x
    if current is not None:
        t[2, 2] = 1.0 / si
        t[0, 2] = -im / si
    phys = t @ coef
    pcov = t @ cov @ t.T
    se = np.sqrt(np.maximum(np.diag(pcov), 0.0))

    def est(j: int) -> Estimate:
        return Estimate(float(phys[j]), float(phys[j] - q * se[j]), float(phys[j] + q * se[j]))

    return LineFit(est(1), est(0), math.sqrt(s2), n, n_eff, est(2) if current is not None else NAN_ESTIMATE)


@dataclass(frozen=True)
class ErrorStats:
    """How far a device's readings are from the reference's over one set of aligned pairs.

    ``offset`` is the device's error at zero (see :func:`error_stats` for how it is measured),
    ``gain`` the slope device/reference of the fitted line, ``rms``/``max_abs``/``mean`` of the
    error ``device − reference``, ``noise`` the standard deviation of the residual about the
    fitted model (what is left once offset, gain and cable drop are explained; without a fit,
    of the error). ``point_gain`` is ``(mean device − offset) / mean reference``: the scale error
    at one operating point, well determined even where the reference hardly varies (a constant
    current step) and the slope is not. ``series_r_ohm`` (voltages) is the resistance between
    the two instruments' sense points: the voltage error's slope against the battery current.
    """

    n: int
    mean: float
    rms: float
    max_abs: float
    noise: float
    offset: Estimate
    offset_method: str  # "rest" (mean error at rest), "fit" (intercept at zero), "mean" (mean error)
    gain: Estimate
    fit: LineFit | None
    series_r_ohm: Estimate = NAN_ESTIMATE
    mean_ref: float = math.nan
    mean_dev: float = math.nan
    point_gain: float = math.nan

    @property
    def gain_error_pct(self) -> float:
        return (self.gain.value - 1.0) * 100.0

    @property
    def point_gain_error_pct(self) -> float:
        return (self.point_gain - 1.0) * 100.0


def basic(ref: FloatArray, dev: FloatArray) -> tuple[float, float, float]:
    """(mean, rms, max_abs) of the error ``dev − ref``; NaNs for no pairs."""
    if len(ref) == 0:
        return math.nan, math.nan, math.nan
    e = dev - ref
    return float(np.mean(e)), float(np.sqrt(np.mean(e * e))), float(np.max(np.abs(e)))


def error_stats(
    ref: FloatArray,
    dev: FloatArray,
    *,
    confidence: float = 0.95,
    rest: FloatArray | None = None,
    min_pairs: int = 10,
    offset_from_fit: bool = False,
    current: FloatArray | None = None,
    fit_gain: bool = True,
    known_offset: float | None = None,
    min_point: float = 0.0,
    measure_offset: bool = True,
) -> ErrorStats:
    """Statistics of ``dev`` against ``ref`` (aligned arrays).

    The offset is measured, in this order of preference, as the mean error over the rest pairs
    (``rest``: a boolean mask, needs ``min_pairs`` of them), as the fit's intercept when
    ``offset_from_fit`` (current: zero lies inside the range of a charge/discharge test), or as
    the mean error (voltage: zero volts is far outside the data, an intercept there would be an
    extrapolation). ``current`` (the battery current at each pair, for voltages) becomes a second
    regressor of the fit, giving ``series_r_ohm``. Without ``fit_gain`` (a rest region: the
    reference hardly varies, the gain is not observable) no line is fitted. ``point_gain`` uses
    ``known_offset`` (the offset measured at rest) or this set's own offset, and is left NaN
    where |mean reference| ≤ ``min_point`` (a ratio of near-zero numbers). Without
    ``measure_offset`` (a charge or discharge region alone, where offset and gain cannot be told
    apart) the offset is left NaN and the ``mean`` error describes the region.
    """
    n = len(ref)
    mean, rms, max_abs = basic(ref, dev)
    fit = None
    if fit_gain and n >= min_pairs:
        known = np.isfinite(current) if current is not None else None
        if current is not None and known is not None and np.count_nonzero(known) >= min_pairs:
            fit = fit_line(ref[known], dev[known], confidence, current[known])
        else:
            fit = fit_line(ref, dev, confidence)
    err = dev - ref
    if fit is not None:
        noise = fit.residual_std
        gain = fit.gain
    else:
        noise = float(np.std(err, ddof=1)) if n > 1 else math.nan
        gain = NAN_ESTIMATE
    if not measure_offset:
        offset, method = NAN_ESTIMATE, ""
    elif rest is not None and int(np.count_nonzero(rest)) >= min_pairs:
        offset, method = mean_estimate(err[rest], confidence), "rest"
    elif offset_from_fit and fit is not None:
        offset, method = fit.intercept, "fit"
    else:
        offset, method = (mean_estimate(err, confidence) if n else NAN_ESTIMATE), "mean"
    mean_ref = float(np.mean(ref)) if n else math.nan
    mean_dev = float(np.mean(dev)) if n else math.nan
    off = known_offset if known_offset is not None and math.isfinite(known_offset) else offset.value
    if not math.isfinite(off):
        off = 0.0
    point_gain = math.nan
    if n and abs(mean_ref) > min_point and math.isfinite(off):
        point_gain = (mean_dev - off) / mean_ref
    series_r = fit.r if fit is not None else NAN_ESTIMATE
    return ErrorStats(
        n, mean, rms, max_abs, noise, offset, method, gain, fit, series_r, mean_ref, mean_dev, point_gain
    )
