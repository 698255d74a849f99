"""The recorder: every published sample and event goes to the local store, from its own thread.

The bench calls :meth:`Recorder.on_samples` on the event loop; that only appends to a queue.
A writer thread drains the queue every ``flush_interval_s`` and commits one transaction, so the
GUI never waits for the disk, and a ``kill -9`` loses at most one flush interval. If the disk
refuses (full, locked), rows stay in memory and are retried; the failure is logged and shown in
:attr:`Recorder.state` — nothing is dropped silently.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgui.model import Channel, Event, Sample, SessionMeta
from benchgui.recording.store import SampleRow, Store, new_session_id
from benchgui.signals import Signal

log = logging.getLogger(__name__)


# -- writer-thread operations, queued in call order -----------------------------------------------
@dataclass(frozen=True, slots=True)
class _ChannelOp:
    channel: Channel


@dataclass(frozen=True, slots=True)
class _Samples:
    session_id: str
    samples: Sequence[Sample]


@dataclass(frozen=True, slots=True)
class _EventOp:
    session_id: str
    event: Event


@dataclass(frozen=True, slots=True)
class _Create:
    session_id: str
    started_ns: int
    meta: SessionMeta
    info: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Update:
    session_id: str
    meta: SessionMeta | None
    info: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _End:
    session_id: str
    ended_ns: int


_Op = _ChannelOp | _Samples | _EventOp | _Create | _Update | _End


@dataclass
class RecorderState:
    """What the recording panel shows: whether the disk takes the rows, and how many."""

    ok: bool = True
    text: str = "idle"
    rows_written: int = 0
    pending: int = 0
    last_commit_monotonic: float = 0.0


class Recorder:
    """Queues samples and events on the event loop; a writer thread commits them to the store."""

    def __init__(
        self, store_path: str | Path, flush_interval_s: float = 0.25, busy_timeout_s: float = 10.0
    ) -> None:
        self.store_path = Path(store_path)
        self.flush_interval_s = flush_interval_s
        self.busy_timeout_s = busy_timeout_s
        self.session_id: str | None = None
        self.state = RecorderState()
        self.state_changed: Signal[[RecorderState]] = Signal("recorder.state_changed")
        self._queue: queue.SimpleQueue[_Op] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._channels: dict[str, Channel] = {}
        self._flushed = threading.Condition()
        self._generation = 0  # counts completed flushes, for flush()
        # Open once here so errors (bad path, newer schema) surface to the caller, not the thread.
        Store(self.store_path).close()

    # -- called on the event loop ------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="benchgui-recorder", daemon=True)
            self._thread.start()

    def add_channels(self, channels: Sequence[Channel]) -> None:
        for ch in channels:
            if ch.name not in self._channels:
                self._channels[ch.name] = ch
                self._queue.put(_ChannelOp(ch))

    def start_session(self, started_ns: int, meta: SessionMeta, info: dict[str, Any] | None = None) -> str:
        sid = new_session_id(started_ns)
        self._queue.put(_Create(sid, started_ns, meta, info or {}))
        self.session_id = sid
        return sid

    def update_session(self, meta: SessionMeta | None = None, info: dict[str, Any] | None = None) -> None:
        if self.session_id is not None:
            self._queue.put(_Update(self.session_id, meta, info))

    def end_session(self, ended_ns: int) -> None:
        if self.session_id is not None:
            self._queue.put(_End(self.session_id, ended_ns))
            self.session_id = None

    def on_samples(self, samples: Sequence[Sample]) -> None:
        if self.session_id is not None and samples:
            self._queue.put(_Samples(self.session_id, samples))

    def on_event(self, event: Event) -> None:
        if self.session_id is not None:
            self._queue.put(_EventOp(self.session_id, event))

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything queued so far is committed (used at shutdown and in tests)."""
        with self._flushed:
            target = self._generation + 2  # one flush may already be running with older data
            return self._flushed.wait_for(lambda: self._generation >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("recorder thread did not finish within %.0f s", timeout)
            self._thread = None

    # -- writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        store = Store(self.store_path, busy_timeout_s=self.busy_timeout_s)
        keys: dict[str, int] = {}
        pending: list[_Op] = []
        tries_left = 20
        try:
            while True:
                stopping = self._stop.wait(self.flush_interval_s)
                # take what is queued now, not what arrives meanwhile: a fast producer must not
                # keep the writer draining forever without committing
                for _ in range(self._queue.qsize()):
                    try:
                        pending.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                pending = self._apply(store, keys, pending)
                with self._flushed:
                    self._generation += 1
                    self._flushed.notify_all()
                if stopping and not pending and self._queue.empty():
                    break
                if stopping and pending:
                    # the disk still refuses at shutdown: retry for a while, then say what is lost
                    tries_left -= 1
                    if tries_left <= 0:
                        n = sum(len(p.samples) for p in pending if isinstance(p, _Samples))
                        log.error(
                            "recorder stopping with %d uncommitted operations (%d samples) lost: %s",
                            len(pending),
                            n,
                            self.state.text,
                        )
                        break
        finally:
            store.close()

    def _apply(self, store: Store, keys: dict[str, int], ops: list[_Op]) -> list[_Op]:
        """Apply queued operations in order, in one transaction; on failure keep them all."""
        if not ops:
            return ops
        written = 0
        try:
            # Channels first, each in its own tiny transaction (idempotent, so a retry is harmless).
            for op in ops:
                if isinstance(op, _ChannelOp) and op.channel.name not in keys:
                    keys[op.channel.name] = store.channel_key(op.channel)
                elif isinstance(op, _Samples):
                    for s in op.samples:
                        if s.channel not in keys:
                            ch = self._channels.get(s.channel) or Channel(s.channel, "", "", s.channel)
                            keys[s.channel] = store.channel_key(ch)
            rows: list[SampleRow] = []
            rows_sid: str | None = None

            def flush_rows() -> None:
                # one insert per run of consecutive sample batches: per-statement overhead (and
                # the GIL hand-over around each) would otherwise dominate at high rates
                nonlocal rows, written
                if rows and rows_sid is not None:
                    store.insert_samples(rows_sid, rows)
                    written += len(rows)
                rows = []

            with store.transaction():
                for op in ops:
                    if isinstance(op, _Samples):
                        if op.session_id != rows_sid:
                            flush_rows()
                            rows_sid = op.session_id
                        rows.extend(
                            (keys[s.channel], s.t_ns, None if math.isnan(s.value) else s.value, s.flags)
                            for s in op.samples
                        )
                        continue
                    flush_rows()
                    if isinstance(op, _Create):
                        store.create_session(op.started_ns, op.meta, op.info, session_id=op.session_id)
                    elif isinstance(op, _End):
                        store.end_session(op.session_id, op.ended_ns)
                    elif isinstance(op, _Update):
                        store.update_session(op.session_id, op.meta, op.info)
                    elif isinstance(op, _EventOp):
                        store.insert_events(op.session_id, [op.event])
                flush_rows()
        except Exception as exc:  # whatever the disk or SQLite says: keep the rows, retry, report
            self._set_state(False, f"cannot write {self.store_path}: {exc}", len(ops))
            log.error("recorder: %s (will retry)", exc)
            return ops
        self.state.rows_written += written
        self.state.last_commit_monotonic = time.monotonic()
        self._set_state(True, "recording" if self.session_id else "idle", 0)
        return []

    def _set_state(self, ok: bool, text: str, pending: int) -> None:
        changed = ok != self.state.ok or text != self.state.text
        self.state.ok, self.state.text, self.state.pending = ok, text, pending
        if changed:
            self.state_changed.emit(self.state)
