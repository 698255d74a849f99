"""What the forwarder has delivered, kept in the session store itself (schema migration 2).

Per sink (one InfluxDB target): a cursor over sample rowids and one over event keys — everything
at or below them is done (acknowledged by the server, or quarantined, or had no value to send) —
per-session counts for ``sessions list``, the session metadata last sent, and a quarantine of
points the server refused as bad data. Cursor, counts and quarantine move in one transaction, so
a crash between the server's acknowledgement and this commit only re-sends one batch, which
InfluxDB absorbs (a point with the same series, field and timestamp overwrites itself).

Rowids only grow while nothing is deleted from ``samples``; the store never deletes or vacuums.
The SQL is the store's (:mod:`benchgui.recording.store_forward`); a ledger is one sink's view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from benchgui.recording.store_forward import QuarantinedPoint, QuarantineEntry

if TYPE_CHECKING:
    from benchgui.recording.store import Store

__all__ = ["ForwardLedger", "QuarantineEntry", "QuarantinedPoint"]


class ForwardLedger:
    """What one sink has been sent, read and written through the store."""

    def __init__(self, store: Store, sink: str) -> None:
        self.store = store
        self.sink = sink
        store.forward_register(sink)

    def cursors(self) -> tuple[int, int]:
        """(last done sample rowid, last done event key)."""
        return self.store.forward_cursors(self.sink)

    def last_success_ns(self) -> int | None:
        return self.store.forward_last_success_ns(self.sink)

    def backlog(self) -> tuple[int, int]:
        """(samples, events) not yet done. Exact while rowids are dense (nothing deleted)."""
        s_cur, e_cur = self.cursors()
        s_max, e_max = self.store.last_sample_rowid_and_event_key()
        return max(0, s_max - s_cur), max(0, e_max - e_cur)

    def commit_samples(
        self,
        last_rowid: int,
        done: Mapping[int, int],
        quarantined: Mapping[int, int],
        entries: Iterable[QuarantineEntry],
        now_ns: int,
    ) -> None:
        """Samples up to ``last_rowid`` are done; ``done``/``quarantined`` count them per session key."""
        self.store.forward_commit_samples(self.sink, last_rowid, done, quarantined, entries, now_ns)

    def commit_events(self, last_key: int, entries: Iterable[QuarantineEntry], now_ns: int) -> None:
        self.store.forward_commit_events(self.sink, last_key, entries, now_ns)

    def meta_sent(self) -> dict[int, str]:
        return self.store.forward_meta_sent(self.sink)

    def commit_sessions(
        self, sent: Mapping[int, str], entries: Iterable[QuarantineEntry], now_ns: int
    ) -> None:
        self.store.forward_commit_sessions(self.sink, sent, entries, now_ns)

    def quarantined_count(self) -> int:
        return self.store.forward_quarantined_count(self.sink)

    def quarantined(self, limit: int = 100) -> list[QuarantinedPoint]:
        return self.store.forward_quarantined(self.sink, limit)
