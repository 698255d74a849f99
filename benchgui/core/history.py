"""Series for plotting: the live ring buffers, and the local store for what is older.

Widgets ask :meth:`History.series` for one channel over a time range at a given number of pixel
columns and get at most two points per column back, immediately. Whatever must come from the
store (older than the ring buffer, or a stored session being viewed) is fetched by one
background thread with its own read-only connection and cached; until it arrives the plot shows
what it has. So widgets never touch the disk and a redraw never waits for it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchgui.clock import s_to_ns
from benchgui.core.columns import ColumnCache
from benchgui.core.display import DisplayBuffers
from benchgui.errors import SessionNotFound
from benchgui.minmax import FloatArray, decimate_minmax
from benchgui.recording.store import Store

log = logging.getLogger(__name__)

EMPTY = (np.empty(0), np.empty(0))


@dataclass
class _Cached:
    t0: float
    t1: float
    columns: int
    t: FloatArray
    v: FloatArray


class History:
    def __init__(
        self,
        display: DisplayBuffers | None,
        store_path: str | Path | None,
        session_id: str | None = None,
        max_gap_s: float | None = None,
    ) -> None:
        self.display = display
        self.store_path = Path(store_path) if store_path else None
        self.session_id = session_id
        self.max_gap_s = max_gap_s
        self.session_start_s: float | None = None
        self._cache: dict[str, _Cached] = {}
        self._columns: dict[str, ColumnCache] = {}  # live buffers, reduced incrementally
        self._pending: dict[str, Future[None]] = {}
        # counts what the background fetch has added: a plot redrawn only on change must also
        # redraw when the store's part of a window arrives (widgets/frame_scheduler.py)
        self.fetched = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="benchgui-history")
        self._local = threading.local()

    def set_session(self, session_id: str | None, started_s: float | None = None) -> None:
        """Follow another session; ``started_s`` bounds what the store can add to the buffers."""
        if session_id != self.session_id:
            self.session_id = session_id
            self.session_start_s = started_s
            self._cache.clear()
            self.fetched += 1

    def pending(self) -> bool:
        """Whether a fetch from the store is in flight (its result needs a frame when it lands)."""
        return any(not f.done() for f in self._pending.values())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the plot's question -------------------------------------------------------------------
    def series(self, channel: str, t0: float, t1: float, columns: int) -> tuple[FloatArray, FloatArray]:
        """(t seconds, value) for [t0, t1], at most ~2 points per column."""
        buf = self.display.get(channel) if self.display is not None else None
        first = buf.first_time() if buf is not None else None
        buf_start = first if first is not None else math.inf
        parts: list[tuple[FloatArray, FloatArray]] = []
        older_in_store = self.session_start_s is None or self.session_start_s < buf_start
        if t0 < buf_start and older_in_store and self.session_id is not None and self.store_path is not None:
            upto = min(t1, buf_start)
            cached = self._cache.get(channel)
            col_w = (t1 - t0) / max(columns, 1)
            if cached is None or not (
                cached.t0 <= t0 + col_w
                and cached.t1 >= upto - col_w
                and cached.columns >= columns // 2
                and (cached.t1 - cached.t0) <= 2 * (upto - t0) + col_w
            ):
                self._request(channel, t0, upto, columns)
            if cached is not None and len(cached.t):
                m = (cached.t >= t0) & (cached.t < buf_start)
                parts.append((cached.t[m], cached.v[m]))
        if buf is not None and buf_start <= t1:
            cache = self._columns.get(channel)
            if cache is None:
                cache = self._columns[channel] = ColumnCache()
            t, v = cache.update(buf, t0, t1, columns)
            if self.max_gap_s is not None:
                t, v = decimate_minmax(t, v, t0, t1, columns, self.max_gap_s)  # only marks the gaps
            parts.append((t, v))
        if not parts:
            return EMPTY
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    # -- background fetch ----------------------------------------------------------------------
    def _request(self, channel: str, t0: float, t1: float, columns: int) -> None:
        pending = self._pending.get(channel)
        if pending is not None and not pending.done():
            return
        sid = self.session_id
        with contextlib.suppress(RuntimeError):  # RuntimeError: the pool is shut down
            self._pending[channel] = self._pool.submit(self._fetch, sid, channel, t0, t1, columns)

    def _store(self) -> Store | None:
        store = getattr(self._local, "store", None)
        if store is None and self.store_path is not None and self.store_path.exists():
            store = self._local.store = Store(self.store_path, readonly=True)
        return store

    def _fetch(self, sid: str | None, channel: str, t0: float, t1: float, columns: int) -> None:
        try:
            store = self._store()
            if store is None or sid is None:
                return
            t, v = store.decimated(sid, channel, s_to_ns(t0), s_to_ns(t1), columns)
            if self.max_gap_s is not None and len(t) > 1:
                t, v = decimate_minmax(t, v, t0, t1, columns, max(self.max_gap_s, 3 * (t1 - t0) / columns))
            if sid == self.session_id:
                self._cache[channel] = _Cached(t0, t1, columns, t, v)
                self.fetched += 1
        except SessionNotFound:
            pass  # the recorder has not committed the new session yet; asked again next frame
        except Exception:
            log.exception("reading history of %s failed", channel)
