"""The recorder: every published sample and event goes to the local store, from its own thread.

The bench calls :meth:`Recorder.on_samples` on the event loop; that only appends to a queue.
A writer thread drains the queue every ``flush_interval_s`` and commits one transaction, so the
GUI never waits for the disk, and a ``kill -9`` loses at most one flush interval. If the disk
refuses (full, locked), rows stay in memory and are retried; the failure is logged and shown in
:attr:`Recorder.state` — nothing is dropped silently.
"""

from __future__ import annotations

import contextlib
import json
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
from benchgui.recording.store import Store, new_session_id
from benchgui.signals import Signal

log = logging.getLogger(__name__)

# writer-thread operations
_SAMPLES, _EVENT, _CREATE, _END, _UPDATE, _CHANNEL = range(6)


@dataclass
class RecorderState:
    ok: bool = True
    text: str = "idle"
    rows_written: int = 0
    pending: int = 0
    last_commit_monotonic: float = 0.0


class Recorder:
    def __init__(
        self, store_path: str | Path, flush_interval_s: float = 0.25, busy_timeout_s: float = 10.0
    ) -> None:
        self.store_path = Path(store_path)
        self.flush_interval_s = flush_interval_s
        self.busy_timeout_s = busy_timeout_s
        self.session_id: str | None = None
        self.state = RecorderState()
        self.state_changed: Signal[[RecorderState]] = Signal("recorder.state_changed")
        self._queue: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
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
                self._queue.put((_CHANNEL, ch))

    def start_session(self, started_ns: int, meta: SessionMeta, info: dict[str, Any] | None = None) -> str:
        sid = new_session_id(started_ns)
        self._queue.put((_CREATE, (sid, started_ns, meta, info or {})))
        self.session_id = sid
        return sid

    def update_session(self, meta: SessionMeta | None = None, info: dict[str, Any] | None = None) -> None:
        if self.session_id is not None:
            self._queue.put((_UPDATE, (self.session_id, meta, info)))

    def end_session(self, ended_ns: int) -> None:
        if self.session_id is not None:
            self._queue.put((_END, (self.session_id, ended_ns)))
            self.session_id = None

    def on_samples(self, samples: Sequence[Sample]) -> None:
        if self.session_id is not None and samples:
            self._queue.put((_SAMPLES, (self.session_id, samples)))

    def on_event(self, event: Event) -> None:
        if self.session_id is not None:
            self._queue.put((_EVENT, (self.session_id, event)))

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
        pending: list[tuple[int, Any]] = []
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
                        n = sum(len(p[1][1]) for p in pending if p[0] == _SAMPLES)
                        log.error(
                            "recorder stopping with %d uncommitted operations (%d samples) lost: %s",
                            len(pending),
                            n,
                            self.state.text,
                        )
                        break
        finally:
            store.close()

    def _apply(self, store: Store, keys: dict[str, int], ops: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """Apply queued operations in order, in one transaction; on failure keep them all."""
        if not ops:
            return ops
        written = 0
        try:
            # Channels first, each in its own tiny transaction (idempotent, so a retry is harmless).
            for op, arg in ops:
                if op == _CHANNEL and arg.name not in keys:
                    keys[arg.name] = store.channel_key(arg)
                elif op == _SAMPLES:
                    for s in arg[1]:
                        if s.channel not in keys:
                            ch = self._channels.get(s.channel) or Channel(s.channel, "", "", s.channel)
                            keys[s.channel] = store.channel_key(ch)
            db = store.db
            rows: list[tuple[int, int, float | None, int]] = []
            rows_sid: str | None = None

            def flush_rows() -> None:
                # one insert per run of consecutive sample batches: per-statement overhead (and
                # the GIL hand-over around each) would otherwise dominate at high rates
                nonlocal rows, written
                if rows and rows_sid is not None:
                    store.insert_samples(rows_sid, rows, commit=False)
                    written += len(rows)
                rows = []

            for op, arg in ops:
                if op == _SAMPLES:
                    sid, samples = arg
                    if sid != rows_sid:
                        flush_rows()
                        rows_sid = sid
                    rows.extend(
                        (keys[s.channel], s.t_ns, None if math.isnan(s.value) else s.value, s.flags)
                        for s in samples
                    )
                    continue
                flush_rows()
                if op == _CREATE:
                    sid, started, meta, info = arg
                    db.execute(
                        "INSERT INTO sessions(id, started_ns, operator, battery_id, notes, kind, info_json) "
                        "VALUES (?,?,?,?,?,?,?)",
                        (sid, started, meta.operator, meta.battery_id, meta.notes, meta.kind, _json(info)),
                    )
                elif op == _END:
                    db.execute("UPDATE sessions SET ended_ns = ? WHERE id = ?", (arg[1], arg[0]))
                elif op == _UPDATE:
                    sid, meta, info = arg
                    if meta is not None:
                        db.execute(
                            "UPDATE sessions SET operator=?, battery_id=?, notes=? WHERE id=?",
                            (meta.operator, meta.battery_id, meta.notes, sid),
                        )
                    if info:
                        old = json.loads(store.session_info_json(sid))
                        old.update(info)
                        db.execute("UPDATE sessions SET info_json=? WHERE id=?", (_json(old), sid))
                elif op == _EVENT:
                    store.insert_events(arg[0], [arg[1]], commit=False)
            flush_rows()
            store.commit()
        except Exception as exc:
            with contextlib.suppress(Exception):
                store.db.rollback()
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


def _json(info: dict[str, Any]) -> str:
    return json.dumps(info, default=str)
