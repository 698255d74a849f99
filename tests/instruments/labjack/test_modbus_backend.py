"""The Modbus TCP backend against the simulated T7 on a loopback port (real sockets, real pymodbus)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from benchgui.errors import InstrumentTimeout, TransportError, ValueOutOfRange
from benchgui.instruments.labjack import registers as reg
from benchgui.instruments.labjack.backends.base import T7Refused
from benchgui.instruments.labjack.backends.modbus import ModbusBackend, runs
from benchgui.instruments.labjack.sim import T7Server
from benchgui.instruments.labjack.simdevice import SIM_SERIAL, SimT7, Wiring
from benchgui.simbench.world import SimWorld

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def backend(t7: T7Server) -> AsyncIterator[ModbusBackend]:
    b = ModbusBackend("127.0.0.1", t7.port, timeout_s=1.0)
    await asyncio.wait_for(b.open(), 10)
    yield b
    await b.close()


async def test_device_info(t7: T7Server) -> None:
    b = ModbusBackend("127.0.0.1", t7.port)
    info = await asyncio.wait_for(b.open(), 10)
    await b.close()
    assert (info.product_id, info.model, info.serial) == (7, "T7", SIM_SERIAL)
    assert info.firmware == pytest.approx(1.0299, abs=1e-4)
    assert info.via == f"modbus 127.0.0.1:{t7.port}"


async def test_read_ains_in_one_transaction(backend: ModbusBackend, t7: T7Server, world: SimWorld) -> None:
    world.set_current("load", -3.0)  # discharging at 3 A
    before = t7.device.reads
    volts = await backend.read_ains([0, 1, 2, 3])
    assert t7.device.reads == before + 1  # one Modbus read for four AINs
    v_bat = world.voltage()
    assert volts[2] == pytest.approx(v_bat / 5.0, abs=0.005)  # LJTick-Divider /5
    assert volts[1] == pytest.approx(-3.0 * 0.96 * 0.1, abs=0.005)  # LA 55-P into 100 Ω, 4 % low
    assert abs(volts[0]) < 0.005
    assert abs(volts[3]) < 0.005


async def test_settings_are_written_and_read_back(backend: ModbusBackend, t7: T7Server) -> None:
    s = reg.AinSettings(2, 1.0, 3, 4, 250.0)
    await backend.configure([s])
    got = await backend.read_settings(2)
    assert got == reg.AinSettings(2, 1.0, 3, 4, 250.0)
    st = t7.device.ains[2]
    assert (st.range_v, st.negative_ch, st.resolution_index, st.settling_us) == (1.0, 3, 4, 250.0)
    await backend.configure([reg.AinSettings(2, 0.1, 199, 0, 0.0)])
    assert (await backend.read_settings(2)).range_v == 0.1


def _steps(values: list[float], lsb: float) -> bool:
    """Every value sits on the converter's grid."""
    return all(abs(v / lsb - round(v / lsb)) < 1e-3 for v in values)


async def test_range_changes_resolution_and_clipping(backend: ModbusBackend, world: SimWorld) -> None:
    world.set_current("load", -1.0)  # AIN1 ≈ −0.096 V, AIN2 ≈ 2.5 V
    wide = [v for _ in range(20) for v in await backend.read_ains([1, 2])]
    assert _steps(wide, reg.lsb_v(10.0))
    assert not _steps(wide[0::2], reg.lsb_v(10.0) * 2)  # not coarser than one ±10 V step
    await backend.configure([reg.AinSettings(1, 1.0), reg.AinSettings(2, 1.0)])
    narrow = [await backend.read_ains([1, 2]) for _ in range(20)]
    current = [v[0] for v in narrow]
    assert _steps(current, reg.lsb_v(1.0))
    assert not _steps(current, reg.lsb_v(10.0))  # finer than the ±10 V grid: the resolution changed
    assert {v[1] for v in narrow} == {1.0}  # 2.5 V on a ±1 V range: clipped at the limit
    assert reg.over_range(narrow[0][1], 1.0)


async def test_illegal_range_is_refused_before_sending(backend: ModbusBackend, t7: T7Server) -> None:
    with pytest.raises(ValueOutOfRange, match=r"AIN2_RANGE 5 V is not a T7 range \(±10, ±1, ±0.1, ±0.01 V\)"):
        await backend.configure([reg.AinSettings(2, 5.0)])
    assert t7.device.refused == 0
    assert t7.device.ains[2].range_v == 10.0


async def test_the_device_refuses_illegal_values_with_illegal_data_value(
    backend: ModbusBackend, t7: T7Server
) -> None:
    with pytest.raises(T7Refused, match=r"AIN2_RANGE = 5: Modbus exception 3 \(ILLEGAL DATA VALUE\)"):
        await backend.write_registers(reg.range_address(2), reg.encode_float32(5.0), "AIN2_RANGE = 5")
    with pytest.raises(T7Refused, match="ILLEGAL DATA VALUE"):
        await backend.write_registers(reg.negative_ch_address(3), [4], "AIN3_NEGATIVE_CH = 4")
    with pytest.raises(T7Refused, match="ILLEGAL DATA VALUE"):  # a T7 (not -Pro) stops at index 8
        await backend.write_settings(reg.AinSettings(1, 10.0, 199, 9, 0.0))
    with pytest.raises(T7Refused, match="ILLEGAL DATA ADDRESS"):  # AIN values are read-only
        await backend.write_registers(reg.ain_address(0), [0, 0], "AIN0")
    assert t7.device.refused == 3  # the read-only refusal comes from the register store itself
    assert t7.device.ains[2].range_v == 10.0
    assert t7.device.ains[3].negative_ch == 199
    assert (await backend.read_ains([2]))[0] > 2.0  # the connection is still good


async def test_settling_time_is_honoured(backend: ModbusBackend, t7: T7Server) -> None:
    await backend.configure([reg.AinSettings(2, 10.0, 199, 0, 20000.0)])
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await backend.read_ains([2])
    assert loop.time() - t0 >= 0.02


async def test_server_restart_needs_a_reconnect(t7: T7Server, backend: ModbusBackend) -> None:
    await backend.read_ains([1])
    await t7.stop()

    async def read_until_it_fails() -> None:
        for _ in range(3):  # the first read may still be in flight as the socket closes
            await backend.read_ains([1])

    with pytest.raises(TransportError):
        await read_until_it_fails()
    with pytest.raises(TransportError, match="no T7 answers"):
        await backend.open()
    await t7.start()
    info = await asyncio.wait_for(backend.open(), 10)
    assert info.serial == SIM_SERIAL
    assert len(await backend.read_ains([1, 2])) == 2


def test_runs_of_consecutive_inputs() -> None:
    assert runs([5, 1, 2]) == [[1, 2], [5]]
    assert runs([3]) == [[3]]
    assert runs([]) == []


async def test_configuration_is_batched_per_run_of_inputs(
    backend: ModbusBackend, t7: T7Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    original = backend.write_registers

    async def counting(address: int, values: list[int], what: str) -> None:
        writes.append(what)
        await original(address, values, what)

    monkeypatch.setattr(backend, "write_registers", counting)
    wanted = [
        reg.AinSettings(2, 0.1, 3, 5, 10.0),
        reg.AinSettings(1, 1.0, 199, 2, 0.0),
        reg.AinSettings(5, 0.01, 199, 8, 500.0),
    ]
    await backend.configure(wanted)
    assert len(writes) == 8  # two runs (AIN1…AIN2, AIN5) × four register arrays
    assert "AIN1…AIN2_RANGE = 1, 0.1" in writes
    assert await backend.read_many([2, 1, 5]) == wanted
    for s in wanted:
        st = t7.device.ains[s.ain]
        assert (st.range_v, st.negative_ch, st.resolution_index, st.settling_us) == (
            s.range_v,
            s.negative_ch,
            s.resolution_index,
            s.settling_us,
        )


async def test_answers_time_out_after_timeout_s(world: SimWorld) -> None:
    server = T7Server(SimT7(world, Wiring.bench()), "127.0.0.1", 0)
    await server.start()
    b = ModbusBackend("127.0.0.1", server.port, timeout_s=0.1)
    try:
        await b.open()
        await b.configure([reg.AinSettings(2, 10.0, 199, 0, 50000.0)])  # 50 ms settling …
        await b.configure([reg.AinSettings(1, 10.0, 199, 0, 50000.0)])
        server.device.ains[3].settling_us = 50000.0  # … ×4 AINs: 200 ms, twice timeout_s
        server.device.ains[0].settling_us = 50000.0
        # the answer comes after 200 ms: only a 0.1 s answer timeout (not the 3 s connect one) trips
        with pytest.raises(InstrumentTimeout, match="no answer"):
            await b.read_ains([0, 1, 2, 3])
    finally:
        await b.close()
        await server.stop()
