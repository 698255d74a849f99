"""What the forwarder has delivered, kept in the session store itself (schema migration 2).

Per sink (one InfluxDB target): a cursor over sample rowids and one over event keys — everything
at or below them is done (acknowledged by the server, or quarantined, or had no value to send) —
per-session counts for ``sessions list``, the session metadata last sent, and a quarantine of
points the server refused as bad data. Cursor, counts and quarantine move in one transaction, so
a crash between the server's acknowledgement and this commit only re-sends one batch, which
InfluxDB absorbs (a point with the same series, field and timestamp overwrites itself).

Rowids only grow while nothing is deleted from ``samples``; the store never deletes or vacuums.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class QuarantineEntry:
    kind: str  # sample | event | session
    ref: int  # samples.rowid, events.key or sessions.key
    session: int | None
    line: str
    error: str


@dataclass(frozen=True)
class QuarantinedPoint:
    key: int
    kind: str
    ref: int
    session_id: str | None
    line: str
    error: str
    at_ns: int


class ForwardLedger:
    def __init__(self, db: sqlite3.Connection, sink: str) -> None:
        self.db = db
        self.sink = sink
        with db:
            db.execute("INSERT OR IGNORE INTO forward_cursors(sink) VALUES (?)", (sink,))

    def cursors(self) -> tuple[int, int]:
        """(last done sample rowid, last done event key)."""
        row = self.db.execute(
            "SELECT sample_rowid, event_key FROM forward_cursors WHERE sink = ?", (self.sink,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def last_success_ns(self) -> int | None:
        row = self.db.execute(
            "SELECT last_success_ns FROM forward_cursors WHERE sink = ?", (self.sink,)
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def backlog(self) -> tuple[int, int]:
        """(samples, events) not yet done. Exact while rowids are dense (nothing deleted)."""
        s_cur, e_cur = self.cursors()
        s_max = self.db.execute("SELECT MAX(rowid) FROM samples").fetchone()[0] or 0
        e_max = self.db.execute("SELECT MAX(key) FROM events").fetchone()[0] or 0
        return max(0, int(s_max) - s_cur), max(0, int(e_max) - e_cur)

    def _quarantine(self, entries: Iterable[QuarantineEntry], now_ns: int) -> None:
        self.db.executemany(
            "INSERT INTO forward_quarantine(sink, kind, ref, session, line, error, at_ns) "
            "VALUES (?,?,?,?,?,?,?)",
            [(self.sink, q.kind, q.ref, q.session, q.line, q.error, now_ns) for q in entries],
        )

    def commit_samples(
        self,
        last_rowid: int,
        done: Mapping[int, int],
        quarantined: Mapping[int, int],
        entries: Iterable[QuarantineEntry],
        now_ns: int,
    ) -> None:
        """Samples up to ``last_rowid`` are done; ``done``/``quarantined`` count them per session key."""
        with self.db:
            self.db.execute(
                "UPDATE forward_cursors SET sample_rowid = MAX(sample_rowid, ?), last_success_ns = ? "
                "WHERE sink = ?",
                (last_rowid, now_ns, self.sink),
            )
            sessions = set(done) | set(quarantined)
            self.db.executemany(
                "INSERT INTO forward_sessions(sink, session, forwarded, quarantined) VALUES (?,?,?,?) "
                "ON CONFLICT(sink, session) DO UPDATE SET forwarded = forwarded + excluded.forwarded, "
                "quarantined = quarantined + excluded.quarantined",
                [(self.sink, s, done.get(s, 0), quarantined.get(s, 0)) for s in sessions],
            )
            self._quarantine(entries, now_ns)

    def commit_events(self, last_key: int, entries: Iterable[QuarantineEntry], now_ns: int) -> None:
        with self.db:
            self.db.execute(
                "UPDATE forward_cursors SET event_key = MAX(event_key, ?), last_success_ns = ? "
                "WHERE sink = ?",
                (last_key, now_ns, self.sink),
            )
            self._quarantine(entries, now_ns)

    def meta_sent(self) -> dict[int, str]:
        rows = self.db.execute("SELECT session, meta_sent FROM forward_sessions WHERE sink = ?", (self.sink,))
        return {int(k): str(m) for k, m in rows}

    def commit_sessions(
        self, sent: Mapping[int, str], entries: Iterable[QuarantineEntry], now_ns: int
    ) -> None:
        with self.db:
            self.db.executemany(
                "INSERT INTO forward_sessions(sink, session, meta_sent) VALUES (?,?,?) "
                "ON CONFLICT(sink, session) DO UPDATE SET meta_sent = excluded.meta_sent",
                [(self.sink, k, m) for k, m in sent.items()],
            )
            self.db.execute(
                "UPDATE forward_cursors SET last_success_ns = ? WHERE sink = ?", (now_ns, self.sink)
            )
            self._quarantine(entries, now_ns)

    def quarantined_count(self) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM forward_quarantine WHERE sink = ?", (self.sink,)
        ).fetchone()
        return int(row[0])

    def quarantined(self, limit: int = 100) -> list[QuarantinedPoint]:
        rows = self.db.execute(
            "SELECT q.key, q.kind, q.ref, s.id, q.line, q.error, q.at_ns FROM forward_quarantine q "
            "LEFT JOIN sessions s ON s.key = q.session WHERE q.sink = ? ORDER BY q.key DESC LIMIT ?",
            (self.sink, limit),
        )
        return [QuarantinedPoint(*r) for r in rows]
