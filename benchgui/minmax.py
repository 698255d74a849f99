"""Min/max per pixel column: the one reducer behind the live plots, the history and the store.

A plot of n samples on a few hundred pixel columns needs only each column's extremes; keeping
the minimum and the maximum (drawn at the column's first and last sample time) preserves peaks
that a stride would lose. The reduction works on *runs* of partial statistics — first time,
last time, minimum, maximum — so raw samples (first = last = t, min = max = v) and per-bucket
aggregates that SQLite computed while fetching reduce in exactly the same way.

Users: :mod:`benchgui.core.columns` (live plots, incremental), :func:`decimate_minmax` (the
history's plot series) and :meth:`benchgui.recording.store.Store.decimated` (stored sessions).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: one entry per non-empty column: (column number, first t, last t, minimum, maximum)
ColumnStats = tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]

_EMPTY_I: IntArray = np.empty(0, np.int64)
_EMPTY_F: FloatArray = np.empty(0)


def empty_stats() -> ColumnStats:
    """Statistics of no column at all."""
    return _EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F


def reduce_runs(
    starts: NDArray[np.intp] | IntArray,
    first_t: FloatArray,
    last_t: FloatArray,
    vmin: FloatArray,
    vmax: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(first t, last t, min, max) of each run; run *i* is ``starts[i]`` up to the next start.

    ``starts`` must begin with 0 and increase strictly; inputs are time-ordered.
    """
    ends = np.r_[starts[1:], len(first_t)] - 1
    return first_t[starts], last_t[ends], np.minimum.reduceat(vmin, starts), np.maximum.reduceat(vmax, starts)


def reduce_columns(
    col: IntArray,
    first_t: FloatArray,
    vmin: FloatArray,
    last_t: FloatArray | None = None,
    vmax: FloatArray | None = None,
) -> ColumnStats:
    """Merge time-ordered entries by column number ``col`` (non-decreasing).

    Raw samples pass only ``first_t`` (their times) and ``vmin`` (their values).
    """
    if len(col) == 0:
        return empty_stats()
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    runs = reduce_runs(
        starts,
        first_t,
        first_t if last_t is None else last_t,
        vmin,
        vmin if vmax is None else vmax,
    )
    return (col[starts], *runs)


def two_points(
    first_t: FloatArray, last_t: FloatArray, vmin: FloatArray, vmax: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The series a plot draws: (first t, min), (last t, max) for every column, in order."""
    ot, ov = np.empty(2 * len(first_t)), np.empty(2 * len(first_t))
    ot[0::2], ot[1::2] = first_t, last_t
    ov[0::2], ov[1::2] = vmin, vmax
    return ot, ov


def mark_gaps(t: FloatArray, v: FloatArray, max_gap: float) -> tuple[FloatArray, FloatArray]:
    """Insert a NaN where consecutive points are more than ``max_gap`` apart.

    A plot with ``connect="finite"`` then shows the gap instead of a straight line across an
    outage.
    """
    if len(t) < 2:
        return t, v
    gaps = np.flatnonzero(np.diff(t) > max_gap)
    if len(gaps) == 0:
        return t, v
    return np.insert(t, gaps + 1, t[gaps] + max_gap / 2), np.insert(v, gaps + 1, np.nan)


def decimate_minmax(
    t: FloatArray, v: FloatArray, t0: float, t1: float, columns: int, max_gap: float | None = None
) -> tuple[FloatArray, FloatArray]:
    """Reduce (t, v) to at most two points (min and max) per pixel column of [t0, t1].

    Where consecutive output points are more than ``max_gap`` apart a NaN is inserted (see
    :func:`mark_gaps`). ``t`` must be sorted. Always returns new arrays (``t`` and ``v`` may be
    views into a ring buffer).
    """
    if len(t) <= 2 * columns or t1 <= t0:
        ot, ov = t.copy(), v.copy()
    else:
        # t is sorted, so column boundaries come from a binary search over the column edges
        # (O(columns·log n)) rather than from binning every sample (O(n) numpy work).
        edges = t0 + (t1 - t0) * np.arange(columns + 1) / columns
        starts = np.searchsorted(t, edges, side="left")  # sorted, so unique = drop repeats
        starts = starts[np.r_[True, starts[1:] != starts[:-1]] & (starts < len(t))]
        if len(starts) == 0 or starts[0] != 0:
            starts = np.r_[0, starts]
        ot, ov = two_points(*reduce_runs(starts, t, t, v, v))
    if max_gap is not None:
        ot, ov = mark_gaps(ot, ov, max_gap)
    return ot, ov
