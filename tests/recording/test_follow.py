"""``benchgui --follow BENCH``: a bench read back live from a real InfluxDB and a real VictoriaMetrics.

Two benches' sessions are forwarded into the server; the follow source for one of them publishes
exactly that bench's samples, under their original channel names and units, then picks up what
is forwarded later — each sample once. A server that cannot be read is a status, not a crash.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from benchgui.clock import WallClock
from benchgui.core.follow import FollowSource
from benchgui.model import Channel, Event, InstrumentState, InstrumentStatus, Sample, SessionMeta
from benchgui.recording.follow_reader import InfluxQLReader, VictoriaReader, make_reader
from benchgui.recording.forward import Forwarder
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.sinks import make_sink
from benchgui.recording.store import Store
from benchgui.testing import victoriametrics
from tests.helpers import async_wait_until, run_cli
from tests.recording.influxd import InfluxServer

pytestmark = pytest.mark.timeout(120)

CHANNELS = [
    Channel.of("battery.voltage", "labjack", "V"),
    Channel.of("battery.current", "mppt", "A"),
    Channel("load.current.setpoint", "A", "load", "load.current.setpoint"),
    Channel("soc.spkf.sigma3", "%", "spkf", "soc.sigma3"),
]


class Sink:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.channels: dict[str, Channel] = {}
        self.statuses: list[InstrumentStatus] = []

    def publish(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)

    def set_status(self, status: InstrumentStatus) -> None:
        self.statuses.append(status)

    def record_event(self, kind: str, text: str, data: dict[str, Any] | None = None) -> object:
        return None

    def add_channels(self, channels: Sequence[Channel]) -> None:
        self.channels.update({c.name: c for c in channels})

    def update_session_info(self) -> None:
        pass


def record(store_path: Path, bench: str, t0_ns: int, n: int, offset: float) -> None:
    """One session of ``bench`` with ``n`` samples per channel at 10 Hz, and one event."""
    with Store(store_path) as store:
        sid = store.create_session(t0_ns, SessionMeta(kind="demo", bench=bench))
        keys = [store.channel_key(c) for c in CHANNELS]
        rows = [(k, t0_ns + i * 10**8, offset + i + j / 10, 0) for i in range(n) for j, k in enumerate(keys)]
        store.insert_samples(sid, rows)
        store.insert_events(sid, [Event(t0_ns, "program.step", "step 1", {"current_a": 1.0})])


def forward(store_path: Path, target: InfluxTarget) -> None:
    with Store(store_path) as store, Forwarder(store, make_sink(target)) as fwd:
        fwd.drain()


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxTarget]:
    srv = InfluxServer(tmp_path_factory.mktemp("follow-influx"))
    srv.start()
    srv.create_db("lab")
    yield InfluxTarget(1, srv.url, database="lab")
    srv.stop()


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxTarget]:
    if not victoriametrics.available():
        pytest.fail("victoria-metrics is not installed: run `scripts/system-deps.sh test`")
    srv = victoriametrics.VictoriaServer(tmp_path_factory.mktemp("follow-vm"))
    srv.start()
    yield InfluxTarget(2, srv.url, org="lab", bucket="lab", token="unused")
    srv.stop()


@pytest.mark.parametrize("server", ["influx", "victoria"])
async def test_follow_shows_one_bench_live(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target: InfluxTarget = request.getfixturevalue(server)
    reader = make_reader(target)
    assert isinstance(reader, VictoriaReader if server == "victoria" else InfluxQLReader)
    bench = f"follow-{server}"
    store = tmp_path / "s.sqlite3"
    t0 = (time.time_ns() // 10**9 - 120) * 10**9  # two minutes ago: inside the history window
    record(store, bench, t0, 20, 10.0)
    record(store, f"{bench}-other", t0, 20, 500.0)  # another bench on the same server
    forward(store, target)

    sink = Sink()
    source = FollowSource(target, bench, history_s=600, interval_s=0.05, reader=reader)
    task = asyncio.create_task(source.run(sink, WallClock()))
    try:
        await async_wait_until(lambda: len(sink.samples) >= 80, what="the first read")
        assert set(sink.channels) == {c.name for c in CHANNELS}
        assert {c.name: c.unit for c in sink.channels.values()} == {c.name: c.unit for c in CHANNELS}
        voltage = [s for s in sink.samples if s.channel == "battery.voltage.labjack"]
        assert [s.value for s in voltage] == [10.0 + i for i in range(20)]
        assert voltage[0].t_ns == t0
        assert all(s.value < 500 for s in sink.samples)  # nothing of the other bench
        assert sink.statuses[-1].state is InstrumentState.CONNECTED
        assert bench in sink.statuses[-1].text

        record(store, bench, t0 + 10 * 10**9, 5, 100.0)  # the bench goes on recording
        forward(store, target)
        await async_wait_until(lambda: len(sink.samples) >= 100, what="the later samples")
        reads = source.reads
        await async_wait_until(lambda: source.reads >= reads + 3, what="three more reads")
        assert len(sink.samples) == 100  # each sample once
        keys = [(s.channel, s.t_ns) for s in sink.samples]
        assert len(set(keys)) == len(keys)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_unreachable_server_is_a_status_not_a_crash() -> None:
    target = InfluxTarget(1, "http://127.0.0.1:9", database="lab")  # discard port: refused
    sink = Sink()
    source = FollowSource(target, "b1", interval_s=0.05)
    task = asyncio.create_task(source.run(sink, WallClock()))
    try:
        await async_wait_until(lambda: any("127.0.0.1:9" in s.text for s in sink.statuses), what="a status")
        assert sink.statuses[-1].state in (InstrumentState.CONNECTING, InstrumentState.RECONNECTING)
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_follow_command_line_errors_are_one_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    r = run_cli(["--config", str(config), "--follow", "b1"])
    assert r.returncode == 2
    assert "--follow reads the central store" in r.stderr
    env = {
        "BENCHGUI_INFLUX_URL": "http://127.0.0.1:9",
        "BENCHGUI_INFLUX_VERSION": "1",
        "BENCHGUI_INFLUX_DATABASE": "x",
    }
    r = run_cli(["--config", str(config), "--follow", "bad name"], env=env)
    assert r.returncode == 2
    assert "--follow" in r.stderr
    r = run_cli(["--config", str(config), "--follow", "b1", "--demo"], env=env)
    assert r.returncode == 2


def test_follow_gui_draws_the_followed_bench(tmp_path: Path, influx: InfluxTarget) -> None:
    store = tmp_path / "s.sqlite3"
    record(store, "gui-bench", (time.time_ns() // 10**9 - 30) * 10**9, 50, 12.0)
    forward(store, influx)
    config = tmp_path / "c.toml"
    config.write_text("")
    env = {
        "BENCHGUI_INFLUX_URL": influx.url,
        "BENCHGUI_INFLUX_VERSION": "1",
        "BENCHGUI_INFLUX_DATABASE": "lab",
    }
    shot = tmp_path / "follow.png"
    r = run_cli(
        ["--config", str(config), "--store", str(tmp_path / "local.sqlite3"), "--follow", "gui-bench",
         "--quit-after", "4", "--screenshot", str(shot)],
        env=env,
        timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert shot.stat().st_size > 10_000
    assert (
        not (tmp_path / "local.sqlite3").exists()
        or "gui-bench" not in run_cli(["--store", str(tmp_path / "local.sqlite3"), "sessions", "list"]).stdout
    )  # nothing of the followed bench is recorded here
