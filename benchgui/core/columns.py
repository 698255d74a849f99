"""Min/max per pixel column of a live series, kept up to date incrementally.

A live plot redraws ~20 times a second while only a few samples arrive in between. Re-reducing
a day of samples to pixel columns every frame costs more than drawing them. So the columns are
laid on a grid fixed in absolute time (column *k* covers ``[k·w, (k+1)·w)``): when the window
scrolls, finished columns stay valid, and each frame only re-reduces the newest column and
appends the ones that new samples opened. A change of column width (window length or plot
width) starts over.
"""

from __future__ import annotations

import math

import numpy as np

from benchgui import minmax
from benchgui.core.ringbuffer import FloatArray, RingBuffer
from benchgui.minmax import ColumnStats

_EMPTY_F: FloatArray = np.empty(0)
# column widths this close (relative) are the same grid: far below a pixel, far above rounding
_SAME_WIDTH = 1e-9


def reduce_columns(t: FloatArray, v: FloatArray, width: float) -> ColumnStats:
    """(column index, first t, last t, min, max) of sorted samples on the fixed grid."""
    return minmax.reduce_columns(np.floor(t / width).astype(np.int64), t, v)


class ColumnCache:
    """The reduced columns of one channel's ring buffer for the current column width."""

    def __init__(self) -> None:
        self.width = 0.0
        # column index, first t, last t, min, max — one entry per non-empty column, oldest first
        self._cols: ColumnStats = minmax.empty_stats()
        # the cache holds every sample of columns >= this one (whether or not there were any)
        self._from_col = 0  # meaningful once a buffer has been seen
        self._buf: RingBuffer | None = None

    def update(self, buf: RingBuffer, t0: float, t1: float, columns: int) -> tuple[FloatArray, FloatArray]:
        """Two points (min, max) per non-empty column of [t0, t1], oldest first."""
        width = (t1 - t0) / max(columns, 1)
        if not (width > 0 and math.isfinite(width)):
            return _EMPTY_F, _EMPTY_F
        if abs(width - self.width) <= _SAME_WIDTH * width:
            # t1 - t0 of a scrolling window wobbles in the last bits (t ~ 1.7e9 s): same grid
            width = self.width
        first_needed = math.floor(t0 / width)
        same_grid = width == self.width and buf is self._buf
        if not same_grid or first_needed < self._from_col:
            # new grid, the window reaches further back, or another buffer: start over
            self.width, self._buf = width, buf
            self._cols = minmax.empty_stats()
            self._from_col = first_needed
        idx = self._cols[0]
        if len(idx):
            redo_from = self._cols[1][-1]  # the newest column may have grown: reduce it again
            self._cols = _sliced(self._cols, slice(None, -1))
        else:
            redo_from = self._from_col * width
        t, v = buf.window(redo_from, math.inf)
        new = reduce_columns(t, v, width)
        if len(new[0]):
            i, tf, tl, mn, mx = self._cols
            self._cols = (
                np.concatenate((i, new[0])),
                np.concatenate((tf, new[1])),
                np.concatenate((tl, new[2])),
                np.concatenate((mn, new[3])),
                np.concatenate((mx, new[4])),
            )
        # columns before the window, or whose samples the ring buffer has dropped, go
        first_in_buf = buf.first_time()
        keep_from = first_needed
        if first_in_buf is not None:
            keep_from = max(first_needed, math.floor(first_in_buf / width))
        lo = int(np.searchsorted(self._cols[0], keep_from, side="left"))
        if lo:
            self._cols = _sliced(self._cols, slice(lo, None))
        self._from_col = max(self._from_col, first_needed)
        n = int(np.searchsorted(self._cols[0], math.floor(t1 / width), side="right"))
        _, tf, tl, mn, mx = self._cols
        return minmax.two_points(tf[:n], tl[:n], mn[:n], mx[:n])


def _sliced(cols: ColumnStats, sl: slice) -> ColumnStats:
    i, tf, tl, mn, mx = cols
    return i[sl], tf[sl], tl[sl], mn[sl], mx[sl]
