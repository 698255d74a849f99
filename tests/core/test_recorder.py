import sqlite3
from pathlib import Path

from benchgui.core.recorder import Recorder
from benchgui.model import Channel, Event, Sample, SessionMeta
from benchgui.recording.store import Store
from tests.helpers import wait_until


def test_recorder_commits_sessions_samples_and_events(tmp_path: Path) -> None:
    path = tmp_path / "rec.sqlite3"
    rec = Recorder(path, flush_interval_s=0.02)
    rec.start()
    ch = Channel.of("battery.voltage", "mppt", "V")
    rec.add_channels([ch])
    sid = rec.start_session(5, SessionMeta(operator="op"))
    rec.on_samples([Sample(ch.name, 10 + i, 12.0 + i) for i in range(100)])
    rec.on_samples([Sample("unknown.channel", 200, float("nan"))])
    rec.on_event(Event(150, "note", "n"))
    rec.end_session(300)
    assert rec.flush(5)
    rec.close()
    with Store(path) as s:
        info = s.session(sid)
        assert info.samples == 101
        assert info.ended_ns == 300
        assert s.events(sid)[0].text == "n"
        assert len(s.samples(sid, ch.name)[0]) == 100


def test_samples_outside_a_session_are_not_recorded(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r.sqlite3", flush_interval_s=0.02)
    rec.start()
    rec.on_samples([Sample("a.b", 1, 1.0)])
    assert rec.flush(5)
    rec.close()
    with Store(tmp_path / "r.sqlite3") as s:
        assert s.sessions() == []


def test_disk_errors_keep_rows_and_retry(tmp_path: Path) -> None:
    """A failing commit keeps every queued row; once the disk recovers they all land, once."""
    path = tmp_path / "r.sqlite3"
    rec = Recorder(path, flush_interval_s=0.02, busy_timeout_s=0.1)
    states: list[tuple[bool, str]] = []
    rec.state_changed.connect(lambda st: states.append((st.ok, st.text)))
    rec.start()
    sid = rec.start_session(1, SessionMeta())
    assert rec.flush(5)
    blocker = sqlite3.connect(path)  # another writer holds the database: the recorder's commits fail
    blocker.execute("BEGIN EXCLUSIVE")
    rec.on_samples([Sample("x.y", 10 + i, float(i)) for i in range(50)])
    wait_until(lambda: any(not ok for ok, _ in states), timeout=10, what="a reported write failure")
    assert "cannot write" in next(text for ok, text in states if not ok)
    blocker.rollback()
    blocker.close()
    wait_until(lambda: states[-1][0], timeout=10, what="the recorder to recover")
    assert rec.flush(10)
    rec.close()
    with Store(path) as s:
        assert s.session(sid).samples == 50
        assert len(s.samples(sid, "x.y")[0]) == 50
