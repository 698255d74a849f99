"""The local session store: one SQLite database, always written, never needs a server.

WAL mode with ``synchronous=NORMAL`` survives an application crash (``kill -9``) with every
committed transaction intact; the recorder commits every ``flush_interval_s`` (0.25 s by
default), so at most that much is lost. Samples reference their session and channel by integer
keys to keep rows small. The schema is versioned with ``PRAGMA user_version`` and migrated
forward on open.

One :class:`Store` object belongs to one thread (SQLite's rule); readers open their own. WAL lets
readers work while the recorder writes.

Every SQL statement on the database is a method of :class:`Store` (the forwarder's bookkeeping
tables in :mod:`benchgui.recording.store_forward`, the sample reads in
:mod:`benchgui.recording.store_reads`): the recorder, the CSV importer, the
forwarder, replay and the CLI use this API, so there is one JSON encoding of session info and
one place to change when the schema moves. Several writes become one transaction inside
:meth:`Store.transaction`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from benchgui.clock import ns_to_s
from benchgui.errors import SessionNotFound, StoreError
from benchgui.model import Channel, Event, SessionInfo, SessionMeta
from benchgui.outputs import create_private
from benchgui.recording.schema import MIGRATIONS, SCHEMA_VERSION
from benchgui.recording.store_forward import ForwardTables
from benchgui.recording.store_reads import SampleReads, SampleRow

log = logging.getLogger(__name__)

_INSERT_JSON = (
    "INSERT INTO samples(session, channel, t_ns, value, flags) "
    "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?)"
)


def new_session_id(started_ns: int) -> str:
    """Readable, sortable, unique enough across benches: ``20261125-183455-3f2a``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(ns_to_s(started_ns)))
    return f"{stamp}-{secrets.token_hex(2)}"


def info_json(info: dict[str, Any] | None) -> str:
    """The one JSON encoding of session info (values JSON cannot hold are stored as text)."""
    return json.dumps(info or {}, default=str)


class Store(SampleReads, ForwardTables):
    """Access to one session database (one object per thread)."""

    def __init__(self, path: str | Path, *, readonly: bool = False, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.exists():
                    raise StoreError(f"no session store at {self.path}")
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=busy_timeout_s)
            else:
                create_private(self.path)  # 0600: SQLite would make it readable by everyone
                self._db = sqlite3.connect(self.path, timeout=busy_timeout_s)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open session store {self.path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create session store {self.path}: {exc.strerror or exc}") from exc
        self._channel_keys: dict[str, int] = {}
        self._tx_depth = 0

    # -- lifecycle -------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this benchgui ({SCHEMA_VERSION}); "
                "upgrade benchgui"
            )
        if version == SCHEMA_VERSION:
            return
        if self.readonly:
            raise StoreError(f"{self.path} needs a schema upgrade; open it once with write access")
        with self._db:
            for v in range(version, SCHEMA_VERSION):
                log.info("migrating session store %s to schema %d", self.path, v + 1)
                self._db.executescript(MIGRATIONS[v])
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside is committed together at the end, or rolled back on error.

        Nested blocks join the outermost one. Outside a block every write method commits itself.
        """
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield
            finally:
                self._tx_depth -= 1
            return
        self._tx_depth = 1
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # the original error is the one to report
                self._db.rollback()
            raise
        else:
            self._db.commit()
        finally:
            self._tx_depth = 0

    # -- channels --------------------------------------------------------------------------
    def channel_key(self, channel: Channel) -> int:
        """Integer key of ``channel``, registering it on first use."""
        key = self._channel_keys.get(channel.name)
        if key is not None:
            return key
        row = self._db.execute("SELECT key FROM channels WHERE name = ?", (channel.name,)).fetchone()
        if row is None:
            with self.transaction():
                cur = self._db.execute(
                    "INSERT INTO channels(name, unit, source, quantity, label) VALUES (?,?,?,?,?)",
                    (channel.name, channel.unit, channel.source, channel.quantity, channel.label),
                )
            key = int(cur.lastrowid or 0)
        else:
            key = int(row[0])
        self._channel_keys[channel.name] = key
        return key

    def channels(self, session_id: str | None = None) -> list[Channel]:
        """All known channels, or those with samples in one session."""
        sql = "SELECT name, unit, source, quantity, label FROM channels"
        args: tuple[Any, ...] = ()
        if session_id is not None:
            key = self._session_key(session_id)
            sql += " WHERE key IN (SELECT DISTINCT channel FROM samples WHERE session = ?)"
            args = (key,)
        return [
            Channel(n, u or "", s or "", q or "", lbl or "")
            for n, u, s, q, lbl in self._db.execute(sql + " ORDER BY name", args)
        ]

    # -- sessions --------------------------------------------------------------------------
    def create_session(
        self,
        started_ns: int,
        meta: SessionMeta,
        info: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        ended_ns: int | None = None,
    ) -> str:
        """Add a session (a new id unless ``session_id`` is given); returns its id."""
        sid = session_id or new_session_id(started_ns)
        with self.transaction():
            self._db.execute(
                "INSERT INTO sessions(id, started_ns, ended_ns, operator, battery_id, notes, kind, "
                "info_json, bench) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    sid,
                    started_ns,
                    ended_ns,
                    meta.operator,
                    meta.battery_id,
                    meta.notes,
                    meta.kind,
                    info_json(info),
                    meta.bench,
                ),
            )
        return sid

    def end_session(self, session_id: str, ended_ns: int) -> None:
        with self.transaction():
            self._db.execute("UPDATE sessions SET ended_ns = ? WHERE id = ?", (ended_ns, session_id))

    def update_session(
        self, session_id: str, meta: SessionMeta | None = None, info: dict[str, Any] | None = None
    ) -> None:
        """Replace operator, battery and notes (not the kind); merge ``info`` into the stored info."""
        with self.transaction():
            if meta is not None:
                self._db.execute(
                    "UPDATE sessions SET operator=?, battery_id=?, notes=? WHERE id=?",
                    (meta.operator, meta.battery_id, meta.notes, session_id),
                )
            if info:
                old = json.loads(self.session_info_json(session_id))
                old.update(info)
                self._db.execute("UPDATE sessions SET info_json=? WHERE id=?", (info_json(old), session_id))

    def session_info_json(self, session_id: str) -> str:
        row = self._db.execute("SELECT info_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound(f"no session {session_id!r}")
        return str(row[0])

    def _session_key(self, session_id: str) -> int:
        row = self._db.execute("SELECT key FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound(f"no session {session_id!r} in {self.path}")
        return int(row[0])

    def session_key(self, session_id: str) -> int:
        return self._session_key(session_id)

    _SESSION_COLS = (
        "id, started_ns, ended_ns, operator, battery_id, notes, kind, sample_count, last_sample_ns, key, "
        "bench"
    )

    def _to_info(self, row: Sequence[Any], forwarded: dict[int, int] | None = None) -> SessionInfo:
        sid, started, ended, op, bat, notes, kind, count, _last, key, bench = row
        fwd = (forwarded or {}).get(key, 0)
        meta = SessionMeta(op, bat, notes, kind, bench)
        return SessionInfo(sid, started, ended if ended is not None else None, meta, count, fwd)

    def sessions(self, forward_sink: str | None = None) -> list[SessionInfo]:
        """Every session, oldest first; ``forwarded`` counts for ``forward_sink`` (default: any sink)."""
        fwd = self.forwarded_counts(forward_sink)
        rows = self._db.execute(f"SELECT {self._SESSION_COLS} FROM sessions ORDER BY started_ns, key")
        return [self._to_info(r, fwd) for r in rows]

    def session(self, ref: str) -> SessionInfo:
        """A session by full id, unique prefix, or ``latest``; an empty prefix matches nothing."""
        if not ref.strip():  # issue 22: `export ''` matched every session
            raise SessionNotFound("an empty session id matches no session")
        if ref in ("latest", "last"):
            row = self._db.execute(
                f"SELECT {self._SESSION_COLS} FROM sessions ORDER BY started_ns DESC, key DESC LIMIT 1"
            ).fetchone()
            if row is None:
                raise SessionNotFound(f"no sessions in {self.path}")
            return self._to_info(row, self.forwarded_counts())
        rows = self._db.execute(
            f"SELECT {self._SESSION_COLS} FROM sessions WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id",
            (ref, ref.replace("%", "\\%").replace("_", "\\_") + "%"),
        ).fetchall()
        exact = [r for r in rows if r[0] == ref]
        if exact:
            return self._to_info(exact[0], self.forwarded_counts())
        if not rows:
            raise SessionNotFound(f"no session matches {ref!r} in {self.path}")
        if len(rows) > 1:
            raise SessionNotFound(f"{ref!r} matches {len(rows)} sessions; give more of the id")
        return self._to_info(rows[0], self.forwarded_counts())

    def session_span(self, session_id: str) -> tuple[int, int] | None:
        """(first, last) sample time of a session, or None if it has none."""
        key = self._session_key(session_id)
        row = self._db.execute(
            "SELECT MIN(t_ns), MAX(t_ns) FROM samples WHERE session = ?", (key,)
        ).fetchone()
        return None if row[0] is None else (int(row[0]), int(row[1]))

    # -- samples and events ----------------------------------------------------------------
    def insert_samples(self, session_id: str, rows: Sequence[SampleRow]) -> None:
        """Insert rows of (channel key, t_ns, value, flags) for one session."""
        if not rows:
            return
        with self.transaction():
            self._insert_samples(self._session_key(session_id), rows)

    def _insert_samples(self, key: int, rows: Sequence[SampleRow]) -> None:
        last = max(r[1] for r in rows)
        if len(rows) < 64:
            self._db.executemany(
                "INSERT INTO samples(session, channel, t_ns, value, flags) VALUES (?,?,?,?,?)",
                [(key, *r) for r in rows],
            )
        else:
            # One statement for the whole batch: executemany releases and re-takes the GIL for
            # every row, which a busy event loop in another thread turns into a convoy
            # (measured: 12k rows/s contended vs 90k rows/s this way).
            try:
                payload = json.dumps(rows, allow_nan=False)
            except ValueError:  # NaN slipped in: store it as NULL like the row path does
                payload = json.dumps([(c, t, None if v is None or v != v else v, f) for c, t, v, f in rows])
            self._db.execute(_INSERT_JSON, (key, payload))
        self._db.execute(
            "UPDATE sessions SET sample_count = sample_count + ?, "
            "last_sample_ns = MAX(COALESCE(last_sample_ns, 0), ?) WHERE key = ?",
            (len(rows), last, key),
        )

    def insert_events(self, session_id: str, events: Iterable[Event]) -> None:
        key = self._session_key(session_id)
        with self.transaction():
            self._db.executemany(
                "INSERT INTO events(session, t_ns, kind, text, data_json) VALUES (?,?,?,?,?)",
                [(key, e.t_ns, e.kind, e.text, e.data_json()) for e in events],
            )

    def events(self, session_id: str, kind_prefix: str = "") -> list[Event]:
        key = self._session_key(session_id)
        rows = self._db.execute(
            "SELECT t_ns, kind, text, data_json FROM events "
            "WHERE session = ? AND kind LIKE ? ORDER BY t_ns, key",
            (key, kind_prefix + "%"),
        )
        return [Event(t, k, txt, json.loads(d or "{}")) for t, k, txt, d in rows]
