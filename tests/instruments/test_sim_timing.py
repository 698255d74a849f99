"""The in-process simulators the assembly builds (demo, soak, safety tests) need real time.

Issue 17 item 1: the EA simulator used to answer at once (``pacing=False``, no turnaround), so
everything above it ran against a device that needs no time. Each simulator the factories start
now takes at least the line time and the device's turnaround; these tests check that *lower*
bound, which no machine — however fast — can undercut (how much later an answer comes is the
machine's business and is never asserted).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from benchgui.config.schema import EaSection, LabJackSection, MpptSection
from benchgui.instruments.ea import factory as ea_factory
from benchgui.instruments.ea.driver import DEFAULT_SERIAL, EaDriver
from benchgui.instruments.ea.sim import TURNAROUND_S, EaSimulator
from benchgui.instruments.labjack import factory as labjack_factory
from benchgui.instruments.labjack.sim import ThreadedT7Server
from benchgui.instruments.labjack.simdevice import RESPONSE_S, SAMPLE_S
from benchgui.instruments.mppt import factory as mppt_factory
from benchgui.instruments.mppt.sim import BITS_PER_BYTE, MpptSimServer
from benchgui.instruments.mppt.sim import TURNAROUND_S as MPPT_TURNAROUND_S
from benchgui.instruments.transport import SerialSettings, SerialTransport
from benchgui.simbench.world import SimWorld, WorldParams

pytestmark = pytest.mark.timeout(60)

Closers = list[Callable[[], Awaitable[None]]]


@pytest.fixture
async def closers() -> AsyncIterator[Closers]:
    out: Closers = []
    yield out
    for close in reversed(out):
        await close()


@pytest.fixture
def world() -> SimWorld:
    return SimWorld(WorldParams(sun=False, initial_soc=0.8))


async def test_the_demo_ea_load_answers_after_wire_time_and_turnaround(
    world: SimWorld, closers: Closers
) -> None:
    source = await ea_factory.simulated(world, EaSection(), closers)
    sim = source.simulator
    assert isinstance(sim, EaSimulator)
    assert sim.options.pacing
    assert sim.options.turnaround_s == TURNAROUND_S == pytest.approx(0.010)
    driver = EaDriver(SerialTransport(sim.path, DEFAULT_SERIAL), source.profile, timeout_s=5.0)
    await driver.open()
    try:
        await driver.identify()
        t0 = time.monotonic()
        await driver.read_actual()  # object 71: 5-byte query, 11-byte answer
        elapsed = time.monotonic() - t0
    finally:
        await driver.close()
    wire = (5 + 11) * 11 / 57600  # 8O1: 11 bits a byte
    assert elapsed >= wire + TURNAROUND_S, f"answered after {elapsed * 1000:.2f} ms"


async def test_the_demo_mppt_writes_at_the_line_speed(world: SimWorld, closers: Closers) -> None:
    section = MpptSection()
    source = await mppt_factory.simulated(world, section, closers)
    server = source.simulator
    assert isinstance(server, MpptSimServer)
    assert server.pace_baud == section.baud == 115200
    t = SerialTransport(server.path, SerialSettings(baud=section.baud))
    await t.open()
    try:
        request = b"?info\n"
        t0 = time.monotonic()
        await t.write(request)
        buf = b""
        while not any(line.startswith(b":") for line in buf.split(b"\n")[:-1]):  # a whole answer
            buf += await t.read()
        elapsed = time.monotonic() - t0
    finally:
        await t.close()
    answer = next(line for line in buf.split(b"\n") if line.startswith(b":"))
    byte_s = BITS_PER_BYTE / section.baud
    assert elapsed >= len(request) * byte_s + MPPT_TURNAROUND_S + (len(answer) + 1) * byte_s


async def test_the_demo_t7_takes_its_command_response_time(world: SimWorld, closers: Closers) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    source = await labjack_factory.simulated(world, LabJackSection(), closers)
    server = source.simulator
    assert isinstance(server, ThreadedT7Server)
    assert server.device.timing
    client = AsyncModbusTcpClient("127.0.0.1", port=server.port, retries=0, reconnect_delay=0)
    await client.connect()
    try:
        t0 = time.monotonic()
        rr = await client.read_holding_registers(0, count=8, device_id=1)  # AIN0..AIN3, FLOAT32
        elapsed = time.monotonic() - t0
    finally:
        client.close()
    assert not rr.isError()
    assert elapsed >= RESPONSE_S + 4 * SAMPLE_S[8]  # index 0 = the T7's default, 8


def test_the_t7_timing_follows_the_resolution_index_and_can_be_switched_off(world: SimWorld) -> None:
    from benchgui.instruments.labjack.simdevice import SimT7

    dev = SimT7(world)
    assert dev.response_s([0, 1]) == pytest.approx(RESPONSE_S + 2 * SAMPLE_S[8])
    dev.ains[0].resolution_index = 1
    dev.ains[1].settling_us = 500.0
    assert dev.response_s([0, 1]) == pytest.approx(RESPONSE_S + SAMPLE_S[1] + SAMPLE_S[8] + 0.0005)
    dev.timing = False
    assert dev.response_s([0, 1]) == pytest.approx(0.0005)  # the host's own settling stays
