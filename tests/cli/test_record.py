"""`benchgui record --headless` and `benchgui sessions list`, as an operator runs them."""

import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

from benchgui.recording.store import Store
from tests.helpers import run_cli, spawn_cli, wait_until


def test_record_headless_demo_then_list(tmp_path: Path) -> None:
    r = run_cli(["record", "--headless", "--demo", "--duration", "3", "--speed", "5"], timeout=60)
    assert r.returncode == 0, r.stderr
    sid = r.stdout.strip().splitlines()[-1]
    assert len(sid) == len("20261125-183455-3f2a")
    listed = run_cli(["sessions", "list"])
    assert listed.returncode == 0
    assert sid in listed.stdout
    js = json.loads(run_cli(["sessions", "list", "--json"]).stdout)
    (entry,) = [s for s in js if s["id"] == sid]
    assert entry["samples"] > 50
    assert entry["end"] is not None
    assert entry["kind"] == "demo"


def test_record_imports_no_qt() -> None:
    code = (
        "import sys, benchgui.cli.record, benchgui.assembly;"
        "bad=[m for m in sys.modules if m.startswith(('PySide6','pyqtgraph','qasync'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    import subprocess

    from tests.helpers import cli_env

    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_sigterm_ends_the_session_cleanly(tmp_path: Path) -> None:
    store = tmp_path / "data" / "sessions.sqlite3"
    p = spawn_cli(["record", "--headless", "--demo"])
    try:
        wait_until(lambda: _samples(store) > 20, timeout=30, what="samples in the store")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 0, err
    sid = out.strip().splitlines()[-1]
    with Store(store) as s:
        info = s.session(sid)
        assert info.ended_ns is not None
        events = s.events(sid)
        assert events[-1].kind == "session.stop"
        # the supervisor handles the signal: load off first, recorded as a `signal` trip
        trips = [e for e in events if e.kind == "safety.trip"]
        assert [e.data["reason"] for e in trips] == ["signal"]
        assert trips[0].data["signal"] == "SIGTERM"


def _samples(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT COALESCE(SUM(sample_count), 0) FROM sessions").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_kill_9_loses_at_most_the_last_second(tmp_path: Path) -> None:
    """SIGKILL the recorder: the store is readable and holds samples up to within 1 s of the kill."""
    store = tmp_path / "data" / "sessions.sqlite3"
    p = spawn_cli(["record", "--headless", "--demo"])
    try:
        wait_until(lambda: _samples(store) > 100, timeout=30, what="samples in the store")
        n0 = _samples(store)
        # the tail is what we check: kill while it is busy committing new rows
        wait_until(lambda: _samples(store) > n0 + 60, timeout=30, what="recording to go on")
        t_kill_ns = time.time_ns()
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        p.kill()
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    last_ns = db.execute("SELECT MAX(t_ns) FROM samples").fetchone()[0]
    counted = db.execute("SELECT sample_count FROM sessions").fetchone()[0]
    real = db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    db.close()
    assert real == counted  # the per-session counter is committed with the rows it counts
    lag_s = (t_kill_ns - last_ns) / 1e9
    assert lag_s < 1.0, f"last stored sample is {lag_s:.2f} s older than the kill"
    listed = run_cli(["sessions", "list"])
    assert listed.returncode == 0
    assert "running" in listed.stdout
