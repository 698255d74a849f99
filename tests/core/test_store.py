import contextlib
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
