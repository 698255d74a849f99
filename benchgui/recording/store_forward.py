"""The forwarder's SQL on the session store: its bookkeeping tables and the rows it reads.

A part of :class:`benchgui.recording.store.Store` kept in its own module (the store would be
twice the size otherwise): :class:`~benchgui.recording.ledger.ForwardLedger` and the forwarder
call these methods and hold no SQL of their own. The tables (schema migration 2) are described
in :mod:`benchgui.recording.ledger`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any


@dataclass(frozen=True)
class QuarantineEntry:
    """A point the forwarder will not send again, and why."""

    kind: str  # sample | event | session
    ref: int  # samples.rowid, events.key or sessions.key
    session: int | None
    line: str
    error: str


@dataclass(frozen=True)
class QuarantinedPoint:
    """A quarantined point as ``forward --quarantined`` lists it."""

    key: int
    kind: str
    ref: int
    session_id: str | None
    line: str
    error: str
    at_ns: int


#: (rowid, session key, channel key, t_ns, value or None, flags)
ForwardSampleRow = tuple[int, int, int, int, float | None, int]
#: (key, session key, t_ns, kind, text, data_json)
ForwardEventRow = tuple[int, int, int, str, str, str]


class ForwardTables:
    """Store methods for forwarding; mixed into :class:`~benchgui.recording.store.Store`."""

    _db: sqlite3.Connection

    if TYPE_CHECKING:

        def transaction(self) -> contextlib.AbstractContextManager[None]: ...

        def session_key(self, session_id: str) -> int: ...

    # -- what there is to forward ----------------------------------------------------------------
    def samples_after(self, rowid: int, limit: int) -> list[ForwardSampleRow]:
        """The next ``limit`` samples after ``rowid``, in rowid (= store) order."""
        return self._db.execute(
            "SELECT rowid, session, channel, t_ns, value, flags FROM samples "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (rowid, limit),
        ).fetchall()

    def events_after(self, key: int, limit: int) -> list[ForwardEventRow]:
        """The next ``limit`` events after event ``key``, in key order."""
        return self._db.execute(
            "SELECT key, session, t_ns, kind, text, data_json FROM events WHERE key > ? ORDER BY key LIMIT ?",
            (key, limit),
        ).fetchall()

    def session_rows(self) -> list[tuple[int, str, int, int | None, str, str, str, str, str, str]]:
        """(key, id, started_ns, ended_ns, operator, battery_id, notes, kind, info_json, bench) of all
        sessions."""
        return self._db.execute(
            "SELECT key, id, started_ns, ended_ns, operator, battery_id, notes, kind, info_json, bench "
            "FROM sessions"
        ).fetchall()

    def channel_rows(self) -> list[tuple[int, str, str, str, str, str]]:
        """(key, name, unit, source, quantity, label) of all channels."""
        return self._db.execute("SELECT key, name, unit, source, quantity, label FROM channels").fetchall()

    def session_event_rows(self, session_id: str) -> list[tuple[int, str, str, str]]:
        """(t_ns, kind, text, data_json) of one session's events, in store order."""
        key = self.session_key(session_id)
        return self._db.execute(
            "SELECT t_ns, kind, text, data_json FROM events WHERE session = ? ORDER BY key", (key,)
        ).fetchall()

    def session_sample_rows(
        self, session_id: str, batch: int = 5000
    ) -> Iterator[list[tuple[int, int, float | None, int]]]:
        """(channel key, t_ns, value or None, flags) of one session in store order, in batches."""
        key = self.session_key(session_id)
        cur = self._db.execute(
            "SELECT channel, t_ns, value, flags FROM samples WHERE session = ? ORDER BY rowid", (key,)
        )
        while rows := cur.fetchmany(batch):
            yield rows

    def forwarded_everything(self) -> bool:
        """True when every sample and event is behind some sink's cursor."""
        s_max = self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM samples").fetchone()[0]
        e_max = self._db.execute("SELECT COALESCE(MAX(key), 0) FROM events").fetchone()[0]
        row = self._db.execute("SELECT MAX(sample_rowid), MAX(event_key) FROM forward_cursors").fetchone()
        return row[0] is not None and row[0] >= s_max and row[1] >= e_max

    def forwarded_counts(self, sink: str | None = None) -> dict[int, int]:
        """Samples per session key the forwarder is done with, for ``sink`` (or the best of any sink)."""
        args: tuple[str, ...] = ()
        if sink is None:
            sql = "SELECT session, MAX(forwarded) FROM forward_sessions GROUP BY session"
        else:
            sql, args = "SELECT session, forwarded FROM forward_sessions WHERE sink = ?", (sink,)
        return {int(k): int(n) for k, n in self._db.execute(sql, args)}

    # -- one sink's ledger -----------------------------------------------------------------------
    def forward_register(self, sink: str) -> None:
        """Give ``sink`` its cursors (both at 0) unless it has them."""
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO forward_cursors(sink) VALUES (?)", (sink,))

    def forward_cursors(self, sink: str) -> tuple[int, int]:
        """(last done sample rowid, last done event key) of ``sink``."""
        row = self._db.execute(
            "SELECT sample_rowid, event_key FROM forward_cursors WHERE sink = ?", (sink,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def forward_last_success_ns(self, sink: str) -> int | None:
        row = self._db.execute(
            "SELECT last_success_ns FROM forward_cursors WHERE sink = ?", (sink,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def last_sample_rowid_and_event_key(self) -> tuple[int, int]:
        """The newest sample rowid and event key (0 when there are none)."""
        s_max = self._db.execute("SELECT MAX(rowid) FROM samples").fetchone()[0] or 0
        e_max = self._db.execute("SELECT MAX(key) FROM events").fetchone()[0] or 0
        return int(s_max), int(e_max)

    def _quarantine(self, sink: str, entries: Iterable[QuarantineEntry], now_ns: int) -> None:
        self._db.executemany(
            "INSERT INTO forward_quarantine(sink, kind, ref, session, line, error, at_ns) "
            "VALUES (?,?,?,?,?,?,?)",
            [(sink, q.kind, q.ref, q.session, q.line, q.error, now_ns) for q in entries],
        )

    def forward_commit_samples(
        self,
        sink: str,
        last_rowid: int,
        done: Mapping[int, int],
        quarantined: Mapping[int, int],
        entries: Iterable[QuarantineEntry],
        now_ns: int,
    ) -> None:
        """Samples up to ``last_rowid`` are done; ``done``/``quarantined`` count them per session key."""
        with self.transaction():
            self._db.execute(
                "UPDATE forward_cursors SET sample_rowid = MAX(sample_rowid, ?), last_success_ns = ? "
                "WHERE sink = ?",
                (last_rowid, now_ns, sink),
            )
            sessions = set(done) | set(quarantined)
            self._db.executemany(
                "INSERT INTO forward_sessions(sink, session, forwarded, quarantined) VALUES (?,?,?,?) "
                "ON CONFLICT(sink, session) DO UPDATE SET forwarded = forwarded + excluded.forwarded, "
                "quarantined = quarantined + excluded.quarantined",
                [(sink, s, done.get(s, 0), quarantined.get(s, 0)) for s in sessions],
            )
            self._quarantine(sink, entries, now_ns)

    def forward_commit_events(
        self, sink: str, last_key: int, entries: Iterable[QuarantineEntry], now_ns: int
    ) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE forward_cursors SET event_key = MAX(event_key, ?), last_success_ns = ? "
                "WHERE sink = ?",
                (last_key, now_ns, sink),
            )
            self._quarantine(sink, entries, now_ns)

    def forward_meta_sent(self, sink: str) -> dict[int, str]:
        rows = self._db.execute("SELECT session, meta_sent FROM forward_sessions WHERE sink = ?", (sink,))
        return {int(k): str(m) for k, m in rows}

    def forward_commit_sessions(
        self, sink: str, sent: Mapping[int, str], entries: Iterable[QuarantineEntry], now_ns: int
    ) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT INTO forward_sessions(sink, session, meta_sent) VALUES (?,?,?) "
                "ON CONFLICT(sink, session) DO UPDATE SET meta_sent = excluded.meta_sent",
                [(sink, k, m) for k, m in sent.items()],
            )
            self._db.execute("UPDATE forward_cursors SET last_success_ns = ? WHERE sink = ?", (now_ns, sink))
            self._quarantine(sink, entries, now_ns)

    def forward_quarantined_count(self, sink: str) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM forward_quarantine WHERE sink = ?", (sink,)).fetchone()
        return int(row[0])

    def forward_quarantined(self, sink: str, limit: int = 100) -> list[QuarantinedPoint]:
        rows: list[Any] = self._db.execute(
            "SELECT q.key, q.kind, q.ref, s.id, q.line, q.error, q.at_ns FROM forward_quarantine q "
            "LEFT JOIN sessions s ON s.key = q.session WHERE q.sink = ? ORDER BY q.key DESC LIMIT ?",
            (sink, limit),
        ).fetchall()
        return [QuarantinedPoint(*r) for r in rows]
