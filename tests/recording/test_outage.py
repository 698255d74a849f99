"""The promise of store-and-forward, end to end with real processes.

``benchgui record`` forwards to a real influxd; influxd is stopped mid-session while recording
goes on; the app is killed with SIGKILL; both are started again → every stored sample is in
InfluxDB exactly once (per channel, the counts in InfluxDB equal the counts in the store).
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from benchgui.model import Channel
from benchgui.recording.influx_schema import measurement_and_field
from tests.helpers import run_cli, spawn_cli, wait_until
from tests.recording.influxd import InfluxServer

pytestmark = [pytest.mark.influxdb, pytest.mark.slow]


def _q(store: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    if not store.exists():
        return []
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        db.close()


def max_rowid(store: Path) -> int:
    rows = _q(store, "SELECT MAX(rowid) FROM samples")
    return int(rows[0][0] or 0) if rows else 0


def cursor(store: Path) -> int:
    rows = _q(store, "SELECT MAX(sample_rowid) FROM forward_cursors")
    return int(rows[0][0] or 0) if rows else 0


def store_counts(store: Path) -> dict[tuple[str, str, str, str], int]:
    """{(session, measurement, source, field): points} from the store.

    A point is a distinct timestamp of a channel with a value: InfluxDB keeps one value per
    series, field and time, so two samples a source stamped with the same time are one point.
    """
    out: dict[tuple[str, str, str, str], int] = {}
    for sid, name, unit, source, quantity, n in _q(
        store,
        "SELECT s.id, c.name, c.unit, c.source, c.quantity, COUNT(DISTINCT x.t_ns) FROM samples x "
        "JOIN sessions s ON s.key = x.session JOIN channels c ON c.key = x.channel "
        "WHERE x.value IS NOT NULL GROUP BY s.id, c.name",
    ):
        m, f = measurement_and_field(Channel(name, unit, source, quantity))
        out[(sid, m, source, f)] = n
    return out


def influx_counts(server: InfluxServer, db: str, sessions: list[str]) -> dict[tuple[str, str, str, str], int]:
    out: dict[tuple[str, str, str, str], int] = {}
    measurements = [r[0] for r in server.query("SHOW MEASUREMENTS", db)[0]["values"]]
    for sid in sessions:
        for m in measurements:
            if m in ("events", "annotations", "sessions"):
                continue
            for source, fields in server.counts_by(db, m, "source", f"\"session\" = '{sid}'").items():
                for f, n in fields.items():
                    if not f.endswith("_flags"):
                        out[(sid, m, source, f)] = n
    return out


def test_server_outage_and_sigkill_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = InfluxServer(tmp_path_factory.mktemp("outage"))
    server.start()
    server.create_db("bench")
    store = tmp_path / "sessions.sqlite3"
    config = tmp_path / "config.toml"
    config.write_text("[recording.influx]\ninterval_s = 0.2\nmax_backoff_s = 0.5\ntimeout_s = 2.0\n")
    env = {
        "BENCHGUI_INFLUX_URL": server.url,
        "BENCHGUI_INFLUX_VERSION": "1",
        "BENCHGUI_INFLUX_DATABASE": "bench",
    }
    args = ["--config", str(config), "--store", str(store), "record", "--headless", "--demo", "--speed", "20"]
    app = spawn_cli(args, env)
    app2 = None
    try:
        wait_until(lambda: cursor(store) > 500, 60, 0.05, "samples to reach InfluxDB")
        server.stop()  # the server goes away mid-session …
        mark = max_rowid(store)
        wait_until(
            lambda: max_rowid(store) > mark + 3000, 60, 0.05, "recording to go on"
        )  # … recording does not
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        backlog = max_rowid(store) - cursor(store)
        assert backlog > 3000, "the outage left a backlog on disk"
        killed_last = max_rowid(store)

        server.start()  # both come back
        app2 = spawn_cli(args, env)
        wait_until(lambda: cursor(store) >= killed_last, 60, 0.05, "the restarted app to drain the backlog")
        app2.send_signal(signal.SIGTERM)
        _, err = app2.communicate(timeout=30)
        assert app2.returncode == 0, err
        r = run_cli(["--config", str(config), "--store", str(store), "forward", "--once"], env=env)
        assert r.returncode == 0, r.stderr
        assert "backlog: 0 samples, 0 events" in r.stdout

        expected = store_counts(store)
        sessions = sorted({k[0] for k in expected})
        assert len(sessions) == 2
        assert influx_counts(server, "bench", sessions) == expected
        assert sum(expected.values()) > 3500
    finally:
        for p in (app, app2):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
        server.stop()
