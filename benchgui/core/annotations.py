"""Operator annotations on a stored session ("afterwards"), written off the GUI thread.

Live annotations go through :meth:`Bench.annotate` and the recorder. A note on a session that is
no longer being recorded — one being replayed or viewed — is written straight into the store as
an ``annotation`` event by a single worker thread with its own connection (WAL lets it write
beside the recorder). The forwarder then sends it to InfluxDB like any other event.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from benchgui.model import Event
from benchgui.recording.store import Store

log = logging.getLogger(__name__)


def add_annotation(store_path: str | Path, session_id: str, t_ns: int, text: str) -> Event:
    """Store one annotation in ``session_id`` (blocking: call it from a worker thread)."""
    event = Event(int(t_ns), "annotation", text)
    with Store(store_path) as store:
        store.insert_events(session_id, [event])
    return event


class AnnotationWriter:
    def __init__(self, store_path: str | Path) -> None:
        self.store_path = Path(store_path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="benchgui-annotations")

    def add(self, session_id: str, t_ns: int, text: str) -> Future[Event]:
        fut = self._pool.submit(add_annotation, self.store_path, session_id, t_ns, text)
        fut.add_done_callback(_log_failure)
        return fut

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _log_failure(fut: Future[Event]) -> None:
    exc = fut.exception()
    if exc is not None:
        log.error("could not store the annotation: %s", exc)
