"""Operating regions of a battery test: charge, rest, discharge, current bins, and steps.

Errors of a current or voltage sensor depend on where it works: a shunt amplifier's offset shows
at zero current, its gain error at high current, a cable's voltage drop only while current
flows. So every aligned pair is labelled from the battery current at its instant (normally the
reference's current):

* **rest** — |I| ≤ ``zero_current_a`` throughout a stretch of at least ``rest_min_s``: the
  battery is idle, so a current sensor's offset and the voltage difference between two
  voltmeters without cable drop are measured here;
* **zero** — |I| ≤ ``zero_current_a`` but only briefly (a sign change, a pause between steps):
  part of the overall statistics, not of the rest region;
* **charge** / **discharge** — I above / below the zero band;
* **step** — the mean current over ``window_s`` before the instant and the mean after it
  differ by more than ``threshold_a``: two sources sampled a few hundred milliseconds apart then
  see different currents, so such pairs measure timing, not the sensor, and are excluded from
  every statistic (counted).

Pure numpy; no I/O.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from benchgui.verify.align import FloatArray, Series, interpolate_at

CHARGE = "charge"
REST = "rest"
DISCHARGE = "discharge"
ZERO = "zero"
UNKNOWN = "unknown"
REGIONS = (CHARGE, REST, DISCHARGE)

StrArray = npt.NDArray[np.str_]


def rest_intervals(current: Series, zero_current_a: float, rest_min_s: float, max_gap_s: float) -> FloatArray:
    """(start, end) rows of stretches where |I| stays within the zero band for ≥ ``rest_min_s``.

    A gap longer than ``max_gap_s`` in the current readings ends a stretch: nobody knows what the
    current did in between.
    """
    if len(current) == 0:
        return np.empty((0, 2))
    quiet = np.abs(current.v) <= zero_current_a
    t = current.t
    # break runs where readings stop being quiet or a gap opens
    breaks = np.ones(len(t), dtype=bool)
    breaks[1:] = (quiet[1:] != quiet[:-1]) | (np.diff(t) > max_gap_s)
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], len(t)) - 1
    rows = [(t[s], t[e]) for s, e in zip(starts, ends, strict=True) if quiet[s] and t[e] - t[s] >= rest_min_s]
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def step_mask(current: Series, at: FloatArray, window_s: float, threshold_a: float) -> npt.NDArray[np.bool_]:
    """True where the mean current over ``window_s`` before an instant of ``at`` and the mean over
    ``window_s`` after it differ by more than ``threshold_a``: a step of the operating point.
    Window means smooth out the ripple of a switching charger, which is not a step."""
    at = np.asarray(at, dtype=np.float64)
    out = np.zeros(at.shape, dtype=bool)
    if window_s <= 0 or threshold_a <= 0 or len(current) == 0 or len(at) == 0:
        return out
    t, v = current.t, current.v
    cs = np.concatenate(([0.0], np.cumsum(v)))
    lo = np.searchsorted(t, at - window_s, side="left")
    mid_l = np.searchsorted(t, at, side="left")
    mid_r = np.searchsorted(t, at, side="right")
    hi = np.searchsorted(t, at + window_s, side="right")
    n_before = mid_r - lo
    n_after = hi - mid_l
    both = (n_before > 0) & (n_after > 0)
    mean_before = (cs[mid_r] - cs[lo])[both] / n_before[both]
    mean_after = (cs[hi] - cs[mid_l])[both] / n_after[both]
    out[both] = np.abs(mean_after - mean_before) > threshold_a
    return out


def label(
    at: FloatArray,
    current: Series,
    *,
    zero_current_a: float,
    rest_min_s: float,
    max_gap_s: float,
) -> StrArray:
    """The region of each instant in ``at`` (see the module doc); ``unknown`` without a current."""
    at = np.asarray(at, dtype=np.float64)
    labels = np.full(at.shape, UNKNOWN, dtype="<U9")
    i, ok = interpolate_at(current, at, max_gap_s)
    labels[ok & (i > zero_current_a)] = CHARGE
    labels[ok & (i < -zero_current_a)] = DISCHARGE
    quiet = ok & (np.abs(i) <= zero_current_a)
    labels[quiet] = ZERO
    for t0, t1 in rest_intervals(current, zero_current_a, rest_min_s, max_gap_s):
        labels[quiet & (at >= t0) & (at <= t1)] = REST
    return labels


def bin_names(edges: list[float] | tuple[float, ...], unit: str = "A") -> list[str]:
    """Readable names of the bins between consecutive edges: ``-5…-2 A``."""
    return [f"{_fmt(a)}…{_fmt(b)} {unit}" for a, b in itertools.pairwise(edges)]


def _fmt(x: float) -> str:
    return f"{x:g}"


def bin_index(current: FloatArray, edges: list[float] | tuple[float, ...]) -> npt.NDArray[np.int64]:
    """Index of the bin each current falls into, -1 outside all bins (or NaN)."""
    current = np.asarray(current, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    if len(e) < 2:
        return np.full(current.shape, -1, dtype=np.int64)
    idx = np.searchsorted(e, current, side="right") - 1
    idx[(current < e[0]) | (current > e[-1]) | ~np.isfinite(current)] = -1
    idx[current == e[-1]] = len(e) - 2
    return idx.astype(np.int64)
