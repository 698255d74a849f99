"""The simulated T7's front-end model and its in-process, own-thread server."""

from __future__ import annotations

import argparse
import asyncio
import threading

import pytest

from benchgui.config.schema import LabJackChannelSection, TransferSection
from benchgui.instruments.labjack import registers as reg
from benchgui.instruments.labjack.backends.modbus import ModbusBackend
from benchgui.instruments.labjack.scaling import channel_affine
from benchgui.instruments.labjack.sim import ThreadedT7Server, add_arguments, wiring_for
from benchgui.instruments.labjack.simdevice import SimT7, Wiring
from benchgui.simbench.world import SimWorld
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(30)


def test_the_front_end_presents_what_the_configured_transfer_function_expects(world: SimWorld) -> None:
    chans = [
        LabJackChannelSection(
            quantity="battery.voltage", ain=4, transfer=TransferSection(kind="divider", ratio=10.0)
        ),
        LabJackChannelSection(
            quantity="battery.current", ain=6, transfer=TransferSection(kind="la55p", r_m_ohm=150.0, sign=-1)
        ),
    ]
    dev = SimT7(world, Wiring.from_channels(chans))
    for s in dev.sensors.values():
        s.noise = 0.0
    world.set_current("load", -2.0)
    truth = (12.5, -2.0)
    a, b = channel_affine(chans[0])
    assert a * dev.convert(4, truth) + b == pytest.approx(12.5, abs=2 * a * reg.lsb_v(10.0))
    a, b = channel_affine(chans[1])
    expected = -2.0 * 0.96 + 0.005  # the sensor's own error, then the wiring
    assert a * dev.convert(6, truth) + b == pytest.approx(expected, abs=3 * abs(a) * reg.lsb_v(10.0))
    assert dev.convert(6, truth) > 0  # sign −1: the transducer is mounted against the arrow


def test_differential_reading_subtracts_the_partner(world: SimWorld) -> None:
    dev = SimT7(world, Wiring.bench())
    assert dev.check_write(reg.negative_ch_address(2), [3]) is None
    assert dev.ains[2].negative_ch == 3
    assert dev.check_write(reg.negative_ch_address(1), [2]) == 3  # ILLEGAL DATA VALUE
    assert dev.check_write(reg.range_address(2), [0x4120]) == 2  # half a FLOAT32: ILLEGAL ADDRESS


def test_cli_options_override_the_wiring() -> None:
    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--port", "0", "--divider-ratio", "4", "--r-m-ohm", "50"])
    args.config = None
    wiring = wiring_for(args)
    by_q = {w.quantity: w for w in wiring.wires.values()}
    assert by_q["battery.voltage"].a == 4.0
    assert by_q["battery.current"].a == pytest.approx(20.0)  # 50 Ω → 20 A/V


async def test_threaded_server_serves_and_stops(world: SimWorld) -> None:
    server = ThreadedT7Server(world, Wiring.bench())
    port = await server.start()
    assert any(t.name == "sim-labjack" for t in threading.enumerate())
    b = ModbusBackend("127.0.0.1", port)
    await asyncio.wait_for(b.open(), 10)
    world.set_current("load", -3.0)
    await async_wait_until(lambda: server.probe.values[1] == -3.0, 20, what="the probe's next snapshot")
    volts = await b.read_ains([1, 2])
    await b.close()
    assert volts[0] == pytest.approx(-3.0 * 0.96 * 0.1 + 0.0005, abs=0.005)
    assert volts[1] == pytest.approx(world.voltage() / 5, abs=0.01)
    await server.stop()
    assert not any(t.name == "sim-labjack" for t in threading.enumerate())


async def test_a_start_cancelled_midway_ends_the_server_without_a_traceback(
    world: SimWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow machine can cancel start() (a soak ending during a replug) while the server thread
    is still binding: the thread must end quietly instead of failing on a cancelled future."""
    from benchgui.instruments.labjack import sim

    release = threading.Event()
    original = sim.T7Server.start

    async def slow_start(self: sim.T7Server) -> int:
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 60)
        return await original(self)

    monkeypatch.setattr(sim.T7Server, "start", slow_start)
    crashes: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", crashes.append)
    server = ThreadedT7Server(world, Wiring.bench())
    task = asyncio.create_task(server.start())
    await async_wait_until(lambda: any(t.name == "sim-labjack" for t in threading.enumerate()), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await async_wait_until(
        lambda: not any(t.name == "sim-labjack" for t in threading.enumerate()), 30, what="the thread ends"
    )
    assert crashes == []
    await server.probe.stop()
