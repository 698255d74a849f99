"""The driver against the simulator on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchgui.errors import InstrumentTimeout, ProtocolError, TransportError
from benchgui.instruments.mppt.driver import MpptDriver
from benchgui.instruments.mppt.protocol import (
    BadRequest,
    Forbidden,
    LineTooLong,
    Method,
    NotFound,
    Request,
    Statement,
)
from benchgui.instruments.mppt.sim import MpptSimServer
from benchgui.instruments.mppt.sim_model import SimOptions
from benchgui.instruments.transport import SerialTransport
from benchgui.simbench.world import SimWorld, WorldParams
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[MpptSimServer]:
    world = SimWorld(WorldParams(speed=1.0, sun_start_hour=11.0))
    server = MpptSimServer(world, tmp_path / "mppt.pty", SimOptions(period_s=0.1))
    await server.start()
    yield server
    await server.aclose()


@pytest.fixture
async def driver(sim: MpptSimServer) -> AsyncIterator[MpptDriver]:
    transport = SerialTransport(sim.path)
    await transport.open()
    d = MpptDriver(transport, timeout_s=10.0)  # generous: where a test wants a timeout it says so
    d.start()
    yield d
    await d.close()


def collect(driver: MpptDriver) -> list[Statement]:
    got: list[Statement] = []
    driver.statement_listeners.append(lambda st, t_ns: got.append(st))
    return got


async def test_enable_publication_and_receive_statements(driver: MpptDriver, sim: MpptSimServer) -> None:
    await driver.enable_publication(False)
    assert not sim.model.publication_enabled
    got = collect(driver)
    await driver.enable_publication(True)
    assert sim.model.publication_enabled
    await async_wait_until(lambda: len(got) >= 3, 10, what="3 statements")
    st = got[-1]
    assert st.path == ""
    assert {"Bat_V", "Bat_A", "SOC_pct", "ChgState", "ErrorFlags", "Dis_Ah"} <= set(st.values)
    assert 10.0 < st.values["Bat_V"] < 15.0


async def test_new_firmware_statement_form(tmp_path: Path) -> None:
    world = SimWorld(WorldParams())
    async with MpptSimServer(world, tmp_path / "m.pty", SimOptions(period_s=0.1, firmware="new")) as sim:
        transport = SerialTransport(sim.path)
        await transport.open()
        async with MpptDriver(transport) as d:
            got = collect(d)
            await async_wait_until(lambda: len(got) >= 2, 10)
            assert got[0].path == "serial"
            assert "Bat_V" in got[0].values


async def test_get_update_fetch_and_device_info(driver: MpptDriver, sim: MpptSimServer) -> None:
    assert (await driver.get("input"))["LoadEn"] is True
    await driver.set_load_output(False)
    assert sim.model.tree["input"]["LoadEn"].value is False
    assert (await driver.get("input"))["LoadEn"] is False
    assert await driver.fetch("conf", ["BatNom_Ah", "Topping_V"]) == [7.2, 14.4]
    await driver.update("conf", {"Topping_V": 14.3})
    assert await driver.fetch("conf", "Topping_V") == 14.3
    info = await driver.device_info()
    assert info["manufacturer"] == "Libre Solar"
    assert info["type"] == "MPPT 1210 HUS"
    assert info["serial"]
    assert info["firmware"]
    assert await driver.exec("exec/save-settings") is None


async def test_error_statuses_raise_typed_errors_and_the_driver_goes_on(driver: MpptDriver) -> None:
    with pytest.raises(NotFound, match=":A4"):
        await driver.get("nosuch")
    with pytest.raises(BadRequest):
        await driver.update("input", {"LoadEn": 1})
    with pytest.raises(Forbidden):
        await driver.update("output", {"Bat_V": 12.0})
    with pytest.raises(NotFound):
        await driver.update("pub/serial", {"Nope": 1})
    assert isinstance(await driver.get("info"), dict)


async def test_publication_list_and_period(driver: MpptDriver, sim: MpptSimServer) -> None:
    assert await driver.add_publication_ids(["Bat_degC", "Nope", "Bat_V"]) == ["Bat_degC"]
    assert "Bat_degC" in await driver.publication_ids()
    await driver.set_publication_period(0.5)
    assert sim.model.period_s == 0.5


async def test_many_requests_interleaved_with_statements_never_mix(driver: MpptDriver) -> None:
    got = collect(driver)
    for i in range(60):
        if i % 2:
            assert "LoadEn" in await driver.get("input")
        else:
            assert await driver.fetch("conf", ["BatNom_Ah"]) == [7.2]
    await async_wait_until(lambda: len(got) >= 3, 10)
    assert driver.unexpected_responses == 0
    assert driver.codec.skipped == 0


async def test_noise_and_garbage_are_counted_not_raised(driver: MpptDriver, sim: MpptSimServer) -> None:
    noise: list[object] = []
    driver.noise_listeners.append(noise.append)
    got = collect(driver)
    sim.inject(b"[00:00:05.123,000] <inf> bat_charger: state change\r\n")
    sim.inject(b"#" + b"x" * 3000 + b"\n")  # an over-long line
    sim.inject(b"\x00\xff\xfe binary garbage with no line end")  # eats the start of the next line
    await async_wait_until(lambda: len(noise) >= 3, 10, what="3 skipped lines")
    assert any(isinstance(n, LineTooLong) for n in noise)
    n = len(got)
    await async_wait_until(lambda: len(got) >= n + 3, 10, what="statements after the garbage")
    assert (await driver.get("input"))["LoadEn"] is True


async def test_silent_device_times_out(driver: MpptDriver, sim: MpptSimServer) -> None:
    sim.muted = True
    with pytest.raises(InstrumentTimeout, match="did not answer"):
        await driver.request(Request(Method.GET, "info"), timeout_s=0.3)
    assert driver.timeouts == 1
    sim.muted = False
    assert isinstance(await driver.get("info"), dict)


async def test_garbled_answer_is_a_protocol_error(driver: MpptDriver, sim: MpptSimServer) -> None:
    sim.muted = True
    task = asyncio.ensure_future(driver.get("info"))
    await async_wait_until(lambda: driver._pending is not None, 20)
    sim.inject(b':85 Content. {"Manufacturer":\n')
    with pytest.raises(ProtocolError, match="unreadable"):
        await asyncio.wait_for(task, 20)


async def test_unplugged_port_ends_the_driver_and_fails_the_request(
    driver: MpptDriver, sim: MpptSimServer
) -> None:
    sim.muted = True
    task = asyncio.ensure_future(driver.get("info"))
    await async_wait_until(lambda: driver._pending is not None, 20)
    await sim.vanish()
    with pytest.raises(TransportError):
        await asyncio.wait_for(task, 20)
    why = await asyncio.wait_for(driver.wait_closed(), 20)
    assert isinstance(why, TransportError)
    with pytest.raises(TransportError):
        await driver.get("info")
