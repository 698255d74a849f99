"""Fixtures for the recording tests: a real influxd per test session, a write stub, a filled store."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchgui.model import Channel, Event, SessionMeta
from benchgui.recording.store import Store
from benchgui.testing import influxd, victoriametrics
from tests.recording.httpstub import WriteStub

_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[influxd.InfluxServer]:
    if not influxd.available():
        pytest.fail("influxd is not installed: run `scripts/system-deps.sh test` (Debian package influxdb)")
    srv = influxd.InfluxServer(tmp_path_factory.mktemp("influxd"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[victoriametrics.VictoriaServer]:
    """A real VictoriaMetrics on a free loopback port, one per test module."""
    if not victoriametrics.available():
        pytest.fail("victoria-metrics is not installed: run `scripts/system-deps.sh test`")
    srv = victoriametrics.VictoriaServer(tmp_path_factory.mktemp("vm"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def influx_db(influx_server: influxd.InfluxServer) -> Iterator[str]:
    """A fresh database on the shared server."""
    name = f"bench{next(_db_numbers)}"
    influx_server.create_db(name)
    yield name
    influx_server.query(f'DROP DATABASE "{name}"', method="POST")


@pytest.fixture
def stub() -> Iterator[WriteStub]:
    s = WriteStub()
    yield s
    s.close()


CHANNELS = [
    Channel.of("battery.voltage", "labjack", "V"),
    Channel.of("battery.current", "labjack", "A"),
    Channel.of("soc", "mppt", "%"),
]


def fill_store(
    path: Path,
    n: int = 100,
    t0_ns: int = 1_700_000_000_000_000_000,
    battery_id: str = "B1",
    kind: str = "demo",
) -> str:
    """One session with ``n`` samples per channel at 1 s, two events; returns the session id."""
    with Store(path) as store:
        sid = store.create_session(
            t0_ns,
            SessionMeta("ann", battery_id, "a note", kind),
            {"instruments": {"labjack": {"model": "T7", "serial": "470023670"}}},
        )
        keys = [store.channel_key(c) for c in CHANNELS]
        rows = [(k, t0_ns + i * 10**9, 12.0 + i / 1000 + j, 0) for i in range(n) for j, k in enumerate(keys)]
        store.insert_samples(sid, rows)
        store.insert_events(
            sid,
            [
                Event(t0_ns, "program.step", "step 1: discharge 1 A", {"current_a": 1.0, "name": "x"}),
                Event(t0_ns + 5 * 10**9, "annotation", 'looks "odd"\nsecond line'),
            ],
        )
        store.end_session(sid, t0_ns + n * 10**9)
    return sid


def forward_done(path: Path) -> bool:
    """True when every sample and event in the store is behind some sink's cursor."""
    with Store(path, readonly=True) as store:
        return store.forwarded_everything()
