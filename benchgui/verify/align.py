"""Time alignment of two instruments that sample at different instants and rates.

The MPPT publishes about once a second, the LabJack at 1–100 Hz, the load when polled; none of
them samples at the same instant as another. To compare them we need pairs of values that
describe the same moment. The rule used here:

* each source's timestamps are first corrected by its known latency (a reading stamped ``t``
  describes the battery at ``t - latency``);
* the *faster* source is linearly interpolated at the *slower* source's instants, so every
  pair uses one real reading and one interpolated between two real neighbours (interpolating the
  slow source would invent values between readings that are far apart);
* an instant is used only when it lies between two valid neighbours of the faster source that are
  at most ``max_gap_s`` apart: nothing is ever extrapolated past the ends or across a gap (a
  dropped connection, missing cells in an import).

Pure numpy; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from benchgui.clock import NS_PER_S

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Series:
    """A time-ordered series: ``t`` in seconds (epoch), finite values only, strictly increasing."""

    t: FloatArray
    v: FloatArray

    def __len__(self) -> int:
        return len(self.t)

    def median_interval_s(self) -> float:
        """Typical spacing of the readings (inf for fewer than two)."""
        if len(self.t) < 2:
            return float("inf")
        return float(np.median(np.diff(self.t)))


def prepare(
    t: npt.ArrayLike,
    v: npt.ArrayLike,
    *,
    latency_s: float = 0.0,
    valid_min: float | None = None,
    time_unit: float = 1 / NS_PER_S,
) -> Series:
    """Clean a raw channel for alignment.

    ``t`` is in units of ``time_unit`` seconds (nanoseconds by default). NaN values (no reading)
    and, when ``valid_min`` is given, readings below it (an instrument reporting 0 V when
    switched off) are removed; what remains is sorted by time (imports may be out of order) and
    readings with the same timestamp are averaged, so the result is strictly increasing.
    """
    ts = np.asarray(t, dtype=np.float64) * time_unit - latency_s
    vs = np.asarray(v, dtype=np.float64)
    if ts.shape != vs.shape:
        raise ValueError(f"time and value arrays differ in length: {ts.shape} vs {vs.shape}")
    keep = np.isfinite(vs) & np.isfinite(ts)
    if valid_min is not None:
        keep &= vs >= valid_min
    ts, vs = ts[keep], vs[keep]
    if len(ts) == 0:
        return Series(np.empty(0), np.empty(0))
    order = np.argsort(ts, kind="stable")
    ts, vs = ts[order], vs[order]
    if len(ts) > 1 and not np.all(np.diff(ts) > 0):
        uniq, start, counts = np.unique(ts, return_index=True, return_counts=True)
        sums = np.add.reduceat(vs, start)
        ts, vs = uniq, sums / counts
    return Series(ts, vs)


def interpolate_at(
    series: Series, t: FloatArray, max_gap_s: float
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Values of ``series`` at instants ``t`` and a mask of the instants that may be used.

    An instant is usable when it coincides with a reading or lies between two readings that are
    at most ``max_gap_s`` apart. Unusable instants get NaN.
    """
    t = np.asarray(t, dtype=np.float64)
    out = np.full(t.shape, np.nan)
    ok = np.zeros(t.shape, dtype=bool)
    n = len(series)
    if n == 0 or len(t) == 0:
        return out, ok
    st, sv = series.t, series.v
    i = np.searchsorted(st, t, side="left")  # st[i-1] < t <= st[i]
    exact = (i < n) & (st[np.minimum(i, n - 1)] == t)
    inside = (i > 0) & (i < n)
    lo = np.clip(i - 1, 0, n - 1)
    hi = np.clip(i, 0, n - 1)
    gap = st[hi] - st[lo]
    between = inside & ~exact & (gap <= max_gap_s)
    ok = exact | between
    if np.any(exact):
        out[exact] = sv[hi[exact]]
    if np.any(between):
        b = between
        w = (t[b] - st[lo[b]]) / gap[b]
        out[b] = sv[lo[b]] + w * (sv[hi[b]] - sv[lo[b]])
    return out, ok


@dataclass(frozen=True)
class Aligned:
    """Pairs of (reference, device) values at common instants ``t`` (seconds)."""

    t: FloatArray
    ref: FloatArray
    dev: FloatArray
    interpolated: str  # "reference" or "device": which side was interpolated
    unpaired: int  # instants of the slower source that fell in a gap or outside the faster one

    def __len__(self) -> int:
        return len(self.t)

    @property
    def error(self) -> FloatArray:
        return self.dev - self.ref

    def select(self, mask: npt.NDArray[np.bool_]) -> Aligned:
        return Aligned(self.t[mask], self.ref[mask], self.dev[mask], self.interpolated, self.unpaired)


def align(ref: Series, dev: Series, max_gap_s: float) -> Aligned:
    """Pair a device's readings with the reference's at common instants (see the module doc).

    The faster source (smaller median interval) is interpolated at the slower one's instants; on
    a tie the reference is interpolated, so each pair keeps the device's own reading.
    """
    ref_faster = ref.median_interval_s() <= dev.median_interval_s()
    if ref_faster:
        at, fixed, moving = dev.t, dev, ref
    else:
        at, fixed, moving = ref.t, ref, dev
    values, ok = interpolate_at(moving, at, max_gap_s)
    t = at[ok]
    fixed_v = fixed.v[ok]
    moving_v = values[ok]
    if ref_faster:
        return Aligned(t, moving_v, fixed_v, "reference", int(np.count_nonzero(~ok)))
    return Aligned(t, fixed_v, moving_v, "device", int(np.count_nonzero(~ok)))
