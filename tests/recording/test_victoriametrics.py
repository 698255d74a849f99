"""The influxdb-client (v2) and 1.x paths against a real VictoriaMetrics server.

VictoriaMetrics (Debian's ``victoria-metrics``, started here on a free loopback port) accepts
InfluxDB line protocol and scales out as a cluster, so it is the second real server benchgui is
tested against. What it does differently, asserted here so the README cannot drift: a field
becomes the metric ``<measurement>_<field>`` with the tags as labels; string fields are stored as
0 (event text, operator, notes stay in the local store); timestamps are milliseconds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from benchgui.recording.forward import Forwarder
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.sinks import Influx1Sink, Influx2Sink
from benchgui.recording.store import Store
from benchgui.testing import victoriametrics
from tests.helpers import run_cli
from tests.recording.conftest import fill_store

pytestmark = pytest.mark.victoriametrics

T0_NS = 1_700_000_000_000_000_000


def v2_target(url: str) -> InfluxTarget:
    # org, bucket and token are required by the client and ignored by VictoriaMetrics
    return InfluxTarget(2, url, org="lab", bucket="bench", token="unused")


def store_values(path: Path, sid: str) -> dict[str, list[tuple[int, float]]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT c.name, x.t_ns, x.value FROM samples x JOIN channels c ON c.key = x.channel "
            "JOIN sessions s ON s.key = x.session WHERE s.id = ? ORDER BY x.t_ns",
            (sid,),
        ).fetchall()
    finally:
        db.close()
    out: dict[str, list[tuple[int, float]]] = {}
    for name, t_ns, value in rows:
        out.setdefault(name, []).append((t_ns // 1_000_000, value))
    return out


def test_influxdb_client_v2_path_stores_every_sample(
    tmp_path: Path, victoria: victoriametrics.VictoriaServer
) -> None:
    path = tmp_path / "s.sqlite3"
    sid = fill_store(path, n=50, t0_ns=T0_NS)
    with Store(path) as store:
        r = Forwarder(store, Influx2Sink(v2_target(victoria.url)), batch_size=40).drain()
        assert store.forwarded_everything()
    assert r.samples_sent == 150
    got = victoria.samples(f'{{session="{sid}"}}')
    voltage = got[
        (
            "battery_voltage_v",
            (("battery_id", "B1"), ("device", "T7 470023670"), ("session", sid), ("source", "labjack")),
        )
    ]
    assert voltage == store_values(path, sid)["battery.voltage.labjack"]
    soc = [v for (name, _), v in got.items() if name == "soc_soc_pct"]  # measurement soc, field soc_pct
    assert len(soc) == 1
    assert len(soc[0]) == 50
    # events: numeric data arrives, text does not (stored as 0 by VictoriaMetrics)
    events = {name: v for (name, _), v in got.items() if name.startswith("events_")}
    assert events["events_current_a"] == [(T0_NS // 1_000_000, 1.0)]
    assert events["events_text"] == [(T0_NS // 1_000_000, 0.0)]
    sessions = {name: v for (name, _), v in got.items() if name.startswith("sessions_")}
    assert sessions["sessions_duration_s"] == [(T0_NS // 1_000_000, 50.0)]


def test_influx1_write_endpoint_adds_a_db_label(
    tmp_path: Path, victoria: victoriametrics.VictoriaServer
) -> None:
    path = tmp_path / "s.sqlite3"
    sid = fill_store(path, n=5, t0_ns=T0_NS + 10**12)
    with Store(path) as store:
        Forwarder(store, Influx1Sink(InfluxTarget(1, victoria.url, database="lab1"))).drain()
    got = victoria.samples(f'{{session="{sid}",source="labjack"}}')
    labels = {dict(lbl).get("db") for (_, lbl) in got}
    assert labels == {"lab1"}
    assert sum(len(v) for v in got.values()) == 10


def test_cli_forward_with_environment_settings(
    tmp_path: Path, victoria: victoriametrics.VictoriaServer
) -> None:
    """The documented BENCHGUI_INFLUX_* settings work against VictoriaMetrics as they are."""
    path = tmp_path / "s.sqlite3"
    sid = fill_store(path, n=7, t0_ns=T0_NS + 2 * 10**12)
    config = tmp_path / "bench.toml"
    config.write_text("")  # everything from the environment
    env = {
        "BENCHGUI_INFLUX_URL": victoria.url,
        "BENCHGUI_INFLUX_VERSION": "2",
        "BENCHGUI_INFLUX_ORG": "lab",
        "BENCHGUI_INFLUX_BUCKET": "bench",
        "BENCHGUI_INFLUX_TOKEN": "unused",
    }
    proc = run_cli(["forward", "--once", "--store", str(path), "--config", str(config)], env=env)
    assert proc.returncode == 0, proc.stderr
    got = victoria.samples(f'{{session="{sid}"}}')
    samples = {"battery_voltage_v", "battery_current_a", "soc_soc_pct"}
    assert sum(len(v) for (name, _), v in got.items() if name in samples) == 21
