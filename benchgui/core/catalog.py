"""Read-only questions about stored sessions, for the GUI (which must not open the store itself)."""

from __future__ import annotations

from pathlib import Path

from benchgui.clock import ns_to_s
from benchgui.model import Channel, Event, SessionInfo
from benchgui.recording.store import Store


class SessionCatalog:
    def __init__(self, store_path: str | Path) -> None:
        self.store_path = Path(store_path)

    def _open(self) -> Store:
        return Store(self.store_path, readonly=True)

    def sessions(self) -> list[SessionInfo]:
        if not self.store_path.exists():
            return []
        with self._open() as s:
            return s.sessions()

    def session(self, ref: str) -> SessionInfo:
        with self._open() as s:
            return s.session(ref)

    def span_s(self, session_id: str) -> tuple[float, float] | None:
        with self._open() as s:
            span = s.session_span(session_id)
        return None if span is None else (ns_to_s(span[0]), ns_to_s(span[1]))

    def channels(self, session_id: str) -> list[Channel]:
        with self._open() as s:
            return s.channels(session_id)

    def events(self, session_id: str, kind_prefix: str = "") -> list[Event]:
        with self._open() as s:
            return s.events(session_id, kind_prefix)
