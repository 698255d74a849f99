"""The MPPT source on a real bench: samples, status, reconnecting, commands."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchgui.clock import ScaledClock
from benchgui.core.bench import Bench
from benchgui.errors import NotSupported, TransportError
from benchgui.instruments.mppt import items
from benchgui.instruments.mppt.sim import MpptSimServer
from benchgui.instruments.mppt.sim_model import SimOptions
from benchgui.instruments.mppt.source import MpptSnapshot, MpptSource
from benchgui.instruments.transport import Backoff, SerialTransport
from benchgui.model import InstrumentState
from benchgui.simbench.world import SimWorld, WorldParams
from tests.helpers import async_wait_until, spawn_cli

pytestmark = pytest.mark.timeout(90)


def make_source(path: str | Path, period_s: float = 0.1) -> MpptSource:
    return MpptSource(
        SerialTransport(str(path)), period_s=period_s, timeout_s=2.0, backoff=Backoff(0.05, 0.2)
    )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[tuple[MpptSimServer, MpptSource, Bench]]:
    clock = ScaledClock(1.0)
    world = SimWorld(WorldParams(sun_start_hour=11.0), clock)
    server = MpptSimServer(world, tmp_path / "mppt.pty", SimOptions(period_s=0.1, load_output_a=0.3))
    await server.start()
    source = make_source(server.path)
    bench = Bench(clock, [source])
    await bench.start()
    yield server, source, bench
    await bench.stop()
    await server.aclose()


def latest(bench: Bench, item: str) -> float | None:
    v = bench.display.latest(items.channel_name(item))
    return None if v is None else v[1]


async def connected(source: MpptSource) -> None:
    await async_wait_until(lambda: source.status.state is InstrumentState.CONNECTED, 15, what="connected")


async def test_statements_become_samples_with_units(rig: tuple[MpptSimServer, MpptSource, Bench]) -> None:
    _server, source, bench = rig
    await connected(source)
    n0 = bench.sample_count
    await async_wait_until(lambda: source.snapshot.statements >= 3, 10)
    assert bench.sample_count > n0
    names = {c.name for c in source.channels()}
    assert {
        "battery.voltage.mppt",
        "battery.current.mppt",
        "battery.power.mppt",
        "solar.voltage.mppt",
        "soc.mppt",
        "charger.state.mppt",
        "errors.flags.mppt",
        "battery.discharged.mppt",
        "energy.solar_in_day.mppt",
        "load_output.current.mppt",
        "battery.temperature.mppt",
        "internal.temperature.mppt",
    } <= names
    assert bench.channels["battery.discharged.mppt"].unit == "Ah"
    assert bench.channels["battery.temperature.mppt"].unit == "°C"
    v, i = latest(bench, "Bat_V"), latest(bench, "Bat_A")
    assert v is not None
    assert 11.0 < v < 15.0
    assert i is not None
    # derived power and the extra items added to the publication at connect
    await async_wait_until(lambda: latest(bench, "Bat_degC") is not None, 10, what="temperature")
    assert latest(bench, "Bat_W") is not None
    assert abs(latest(bench, "Load_A") - 0.3) < 0.05  # type: ignore[operator]
    snap = source.snapshot
    assert snap.connected
    assert snap.info["manufacturer"] == "Libre Solar"
    assert source.info()["type"] == "MPPT 1210 HUS"
    assert snap.charger_state in items.CHARGER_STATES
    assert snap.load_enabled is True


async def test_commands_reach_the_device(rig: tuple[MpptSimServer, MpptSource, Bench]) -> None:
    server, source, bench = rig
    await connected(source)
    seen: list[MpptSnapshot] = []
    source.changed.connect(seen.append)
    await source.set_load_output(False)
    assert server.model.tree["input"]["LoadEn"].value is False
    assert source.snapshot.load_enabled is False
    assert seen[-1].load_enabled is False
    await async_wait_until(lambda: latest(bench, "Load_A") == 0.0, 10, what="load output off")
    await source.set_publication_period(0.2)
    assert server.model.period_s == 0.2
    assert source.snapshot.publication_period_s == 0.2
    await source.update("conf", {"Topping_V": 14.3})
    assert (await source.get("conf"))["Topping_V"] == 14.3


async def test_bad_line_shows_in_status_text_and_counter(
    rig: tuple[MpptSimServer, MpptSource, Bench],
) -> None:
    server, source, bench = rig
    await connected(source)
    server.inject(b"*** Booting Zephyr OS ***\r\n")
    await async_wait_until(lambda: "1 bad lines" in source.status.text, 10, what="status text")
    assert source.status.state is InstrumentState.CONNECTED
    assert source.status.detail["bad_lines"] == 1
    assert "Booting" in bench.status["mppt"].text
    n = source.snapshot.statements
    await async_wait_until(lambda: source.snapshot.statements > n + 2, 10, what="data goes on")


async def test_unplugged_and_back_reconnects_and_data_resumes(
    rig: tuple[MpptSimServer, MpptSource, Bench],
) -> None:
    server, source, _bench = rig
    await connected(source)
    await server.vanish()
    await async_wait_until(lambda: source.status.state is InstrumentState.RECONNECTING, 10, what="noticed")
    assert source.status.reconnects >= 1
    assert not source.snapshot.connected
    with pytest.raises(TransportError):
        await source.set_load_output(False)
    await async_wait_until(lambda: "cannot open" in source.status.text, 10, what="retrying")
    await server.reappear()
    await connected(source)
    n = source.snapshot.statements
    await async_wait_until(lambda: source.snapshot.statements >= n + 3, 10, what="data resumes")


async def test_silent_device_is_reopened(tmp_path: Path) -> None:
    clock = ScaledClock(1.0)
    world = SimWorld(WorldParams(), clock)
    async with MpptSimServer(world, tmp_path / "m.pty", SimOptions(period_s=0.1)) as server:
        source = MpptSource(
            SerialTransport(server.path), period_s=0.1, timeout_s=0.3, backoff=Backoff(0.05, 0.2)
        )
        bench = Bench(clock, [source])
        await bench.start()
        try:
            await connected(source)
            server.model.tree["pub/serial"]["Enable"].value = False  # it stops talking …
            server.muted = True  # … and answering
            await async_wait_until(lambda: "no data" in source.status.text, 15, what="silence noticed")
            await async_wait_until(
                lambda: source.status.state is InstrumentState.RECONNECTING, 20, what="reopened"
            )
            server.muted = False
            await connected(source)
            assert server.model.publication_enabled  # switched back on at connect
        finally:
            await bench.stop()


@pytest.mark.slow
async def test_simulator_process_killed_and_restarted(tmp_path: Path) -> None:
    """The real thing: ``benchgui sim mppt`` as a process, killed with SIGKILL, started again."""
    link = tmp_path / "mppt.pty"
    args = ["sim", "mppt", "--link", str(link), "--period", "0.2"]

    async def start() -> subprocess.Popen[str]:
        proc = spawn_cli(args)
        await async_wait_until(lambda: link.exists() or proc.poll() is not None, 30, what="simulator up")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        return proc

    proc = await start()
    clock = ScaledClock(1.0)
    source = make_source(link, period_s=0.2)
    bench = Bench(clock, [source])
    await bench.start()
    try:
        await connected(source)
        await async_wait_until(lambda: source.snapshot.statements >= 3, 15)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        await async_wait_until(lambda: source.status.state is InstrumentState.RECONNECTING, 15, what="lost")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()  # a killed simulator leaves its dangling link behind
        proc = await start()
        await connected(source)
        n = source.snapshot.statements
        await async_wait_until(lambda: source.snapshot.statements >= n + 3, 15, what="data resumes")
        assert source.status.reconnects >= 1
    finally:
        await bench.stop()
        proc.terminate()
        proc.wait(10)


async def test_fixed_period_firmware_still_connects(tmp_path: Path) -> None:
    clock = ScaledClock(1.0)
    world = SimWorld(WorldParams(), clock)
    options = SimOptions(period_s=0.2, fixed_period=True)
    async with MpptSimServer(world, tmp_path / "m.pty", options) as server:
        source = make_source(server.path, period_s=0.5)
        bench = Bench(clock, [source])
        await bench.start()
        try:
            await connected(source)
            assert source.snapshot.period_settable is False
            assert source.snapshot.publication_period_s == 1.0
            await async_wait_until(lambda: source.snapshot.statements >= 2, 10)
            with pytest.raises(NotSupported, match="Period_s"):  # what the charger panel catches
                await source.set_publication_period(2.0)
            assert source.snapshot.period_settable is False
        finally:
            await bench.stop()
