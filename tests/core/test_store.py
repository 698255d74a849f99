import contextlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from benchgui.errors import SessionNotFound, StoreError
from benchgui.model import Channel, Event, SessionMeta
from benchgui.recording.schema import SCHEMA_VERSION
from benchgui.recording.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.sqlite3")
    yield s
    s.close()


def test_schema_is_versioned_and_wal(store: Store) -> None:
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "future.sqlite3"
    Store(p).close()
    db = sqlite3.connect(p)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this benchgui"):
        Store(p)


def test_garbage_file_is_a_store_error(tmp_path: Path) -> None:
    p = tmp_path / "garbage.sqlite3"
    p.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(p)


def test_session_round_trip_with_nan_and_flags(store: Store) -> None:
    sid = store.create_session(1_000_000_000, SessionMeta("ana", "bat-7", "first", "live"))
    ch = Channel.of("battery.voltage", "labjack", "V")
    key = store.channel_key(ch)
    store.insert_samples(sid, [(key, 1_000_000_000 + i * 10**8, float(i), i % 2) for i in range(10)])
    store.insert_samples(sid, [(key, 3_000_000_000, None, 0)])
    store.insert_events(sid, [Event(1_500_000_000, "annotation", "hello", {"x": 1})])
    store.end_session(sid, 4_000_000_000)
    info = store.session(sid[:10])
    assert info.id == sid
    assert info.samples == 11
    assert info.duration_s == 3.0
    assert info.meta == SessionMeta("ana", "bat-7", "first", "live")
    t, v = store.samples(sid, ch.name)
    assert len(t) == 11
    assert np.isnan(v[-1])
    assert v[:10].tolist() == [float(i) for i in range(10)]
    assert store.events(sid) == [Event(1_500_000_000, "annotation", "hello", {"x": 1})]
    assert [c.name for c in store.channels(sid)] == [ch.name]
    assert store.session_span(sid) == (1_000_000_000, 3_000_000_000)


def test_session_lookup_errors(store: Store) -> None:
    with pytest.raises(SessionNotFound):
        store.session("latest")
    a = store.create_session(10**18, SessionMeta())
    b = store.create_session(10**18 + 1, SessionMeta())
    assert store.session("latest").id == b
    with pytest.raises(SessionNotFound, match="matches 2 sessions"):
        store.session(a[:8])
    with pytest.raises(SessionNotFound, match="no session matches"):
        store.session("nope")


def test_decimated_query_keeps_extremes(store: Store) -> None:
    sid = store.create_session(0, SessionMeta())
    key = store.channel_key(Channel.of("battery.current", "mppt", "A"))
    n = 100_000
    t = np.arange(n, dtype=np.int64) * 10**9
    v = np.sin(np.arange(n) / 1000.0)
    v[54_321] = 9.0
    store.insert_samples(sid, list(zip([key] * n, t.tolist(), v.tolist(), [0] * n, strict=True)))
    dt, dv = store.decimated(sid, "battery.current.mppt", 0, int(t[-1]), 500)
    assert len(dt) <= 2 * 501
    assert dv.max() == 9.0
    assert np.all(np.diff(dt) >= 0)


def test_decimated_matches_the_shared_reducer_over_every_row(store: Store) -> None:
    """SQLite's per-column grouping is only a fetch: the result is what benchgui.minmax makes of all rows."""
    from benchgui import minmax
    from benchgui.clock import ns_to_s

    sid = store.create_session(0, SessionMeta())
    key = store.channel_key(Channel.of("battery.voltage", "labjack", "V"))
    rng = np.random.default_rng(7)
    t = np.sort(rng.integers(10**9, 10**12, 20_000))
    v = rng.normal(12.0, 0.5, len(t))
    v[::97] = np.nan  # no reading: stored NULL, left out of the columns
    store.insert_samples(sid, [(key, int(ti), float(vi), 0) for ti, vi in zip(t, v, strict=True)])
    t0, t1, columns = int(t[0]) - 5, int(t[-1]), 333
    dt, dv = store.decimated(sid, "battery.voltage.labjack", t0, t1, columns)
    ok = ~np.isnan(v)
    col = (t[ok] - t0) // ((t1 - t0) // columns)
    _, first, last, mn, mx = minmax.reduce_columns(col, t[ok].astype(np.float64), v[ok])
    et, ev = minmax.two_points(ns_to_s(first), ns_to_s(last), mn, mx)
    np.testing.assert_array_equal(dt, et)
    np.testing.assert_array_equal(dv, ev)


def test_a_transaction_is_all_or_nothing(store: Store) -> None:
    sid = store.create_session(0, SessionMeta())
    key = store.channel_key(Channel.of("battery.current", "load", "A"))

    def fails_half_way() -> None:
        with store.transaction():
            store.insert_samples(sid, [(key, 1, 1.0, 0), (key, 2, 2.0, 0)])
            with store.transaction():  # nested: joins the outer one
                store.end_session(sid, 5)
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError):
        fails_half_way()
    assert store.count_samples(sid) == 0
    assert store.session(sid).ended_ns is None
    with store.transaction():
        store.insert_samples(sid, [(key, 1, 1.0, 0)])
        store.end_session(sid, 5)
    assert store.count_samples(sid) == 1
    assert store.session(sid).ended_ns == 5


def test_session_info_is_merged_with_one_json_encoding(store: Store) -> None:
    sid = store.create_session(0, SessionMeta(), {"a": 1, "path": Path("/x")})
    store.update_session(sid, info={"b": 2})
    assert json.loads(store.session_info_json(sid)) == {"a": 1, "path": "/x", "b": 2}


def test_a_new_store_and_its_wal_are_private(tmp_path: Path) -> None:
    """Issue 22: the store was created 0644 (every user of the machine could read the sessions)."""
    path = tmp_path / "new" / "sessions.sqlite3"
    with Store(path) as store:
        store.create_session(1, SessionMeta("op", "AGM-1", "", "live"), {})
        modes = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()}
    assert modes["sessions.sqlite3"] == 0o600
    assert modes["sessions.sqlite3-wal"] == 0o600  # SQLite copies the database's mode
    assert path.parent.stat().st_mode & 0o777 == 0o700
    old = tmp_path / "old.sqlite3"
    Store(old).close()
    old.chmod(0o640)  # an existing store keeps the mode its owner gave it
    Store(old).close()
    assert old.stat().st_mode & 0o777 == 0o640


def test_a_store_that_cannot_be_created_is_one_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(StoreError, match="cannot create session store"):
        Store(blocked / "sessions.sqlite3")


def test_an_empty_session_id_matches_nothing(tmp_path: Path) -> None:
    """Issue 22: ``export ''`` matched any session; the store itself refuses it, for every caller."""
    with Store(tmp_path / "s.sqlite3") as store:
        store.create_session(1, SessionMeta("op", "AGM-1", "", "live"), {})
        for ref in ("", " "):
            with pytest.raises(SessionNotFound, match="empty session id"):
                store.session(ref)
