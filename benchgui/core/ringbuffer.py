"""Fixed-size ring buffers for display (min/max decimation lives in :mod:`benchgui.minmax`).

The display keeps the last hour or so of every channel in preallocated numpy arrays: appending is
O(1) and never allocates, so memory stays flat however long the bench runs. What is older comes
from the local store. Times are float seconds since the epoch (float64 resolves ~0.2 µs today),
which is what the plots want.
"""

from __future__ import annotations

import math

import numpy as np

from benchgui.minmax import FloatArray, decimate_minmax

__all__ = ["FloatArray", "RingBuffer", "decimate_minmax"]  # decimate_minmax: see benchgui.minmax


class RingBuffer:
    """Preallocated (time, value) ring buffer; the oldest samples are overwritten."""

    __slots__ = ("_cap", "_head", "_n", "_t", "_v")

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError("capacity must be >= 2")
        self._cap = int(capacity)
        self._t = np.zeros(self._cap, dtype=np.float64)
        self._v = np.zeros(self._cap, dtype=np.float64)
        self._head = 0  # index of the next write
        self._n = 0  # number of valid samples (<= capacity)

    @property
    def capacity(self) -> int:
        return self._cap

    def __len__(self) -> int:
        return self._n

    def append(self, t: float, v: float) -> None:
        """Add one sample (O(1), no allocation)."""
        h = self._head
        self._t[h] = t
        self._v[h] = v
        h += 1
        self._head = 0 if h == self._cap else h
        if self._n < self._cap:
            self._n += 1

    def extend(self, t: FloatArray, v: FloatArray) -> None:
        """Add many samples at once (vectorised)."""
        t = np.asarray(t, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        if len(t) >= self._cap:
            t, v = t[-self._cap :], v[-self._cap :]
        n = len(t)
        first = min(n, self._cap - self._head)
        self._t[self._head : self._head + first] = t[:first]
        self._v[self._head : self._head + first] = v[:first]
        rest = n - first
        if rest:
            self._t[:rest] = t[first:]
            self._v[:rest] = v[first:]
        self._head = (self._head + n) % self._cap
        self._n = min(self._cap, self._n + n)

    def _parts(self) -> list[tuple[FloatArray, FloatArray]]:
        """The valid data as up to two chronological (t, v) views, without copying."""
        if self._n < self._cap:
            return [(self._t[: self._n], self._v[: self._n])]
        h = self._head
        return [(self._t[h:], self._v[h:]), (self._t[:h], self._v[:h])]

    def snapshot(self) -> tuple[FloatArray, FloatArray]:
        """All samples, oldest first (a copy)."""
        parts = self._parts()
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def window(self, t0: float, t1: float = math.inf) -> tuple[FloatArray, FloatArray]:
        """Samples with t0 <= t <= t1, oldest first.

        May return views into the buffer (no copy): use them before the next append, or copy.
        """
        ts, vs = [], []
        for t, v in self._parts():
            if len(t) == 0:
                continue
            i0 = int(np.searchsorted(t, t0, side="left"))
            i1 = int(np.searchsorted(t, t1, side="right"))
            if i1 > i0:
                ts.append(t[i0:i1])
                vs.append(v[i0:i1])
        if not ts:
            return np.empty(0), np.empty(0)
        if len(ts) == 1:
            return ts[0], vs[0]  # read-only use: a view, no copy (see docstring)
        return np.concatenate(ts), np.concatenate(vs)

    def first_time(self) -> float | None:
        if self._n == 0:
            return None
        return float(self._t[self._head] if self._n == self._cap else self._t[0])

    def last(self) -> tuple[float, float] | None:
        if self._n == 0:
            return None
        i = self._head - 1
        return float(self._t[i]), float(self._v[i])
