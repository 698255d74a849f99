"""The real driver against the simulator on a real pty: identify, set, poll, refusals, faults."""

from __future__ import annotations

import asyncio
import math

import pytest

from benchgui.errors import DeviceRefused, InstrumentTimeout, TransportError, ValueOutOfRange
from benchgui.instruments.ea import protocol as p
from benchgui.instruments.ea.driver import EaDriver
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.objects import NotSupported
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.simdevice import SimIdentity
from benchgui.instruments.transport import SerialTransport
from tests.instruments.ea import golden as g
from tests.instruments.ea.conftest import SETTINGS, Trace, trace_of

pytestmark = pytest.mark.timeout(30)


async def test_identify_sends_the_captured_queries(driver: EaDriver) -> None:
    ident = await driver.identify()
    assert ident.device_type == "EL 3160-60A"
    assert "EL 3160-60" in ident.device_type
    assert (ident.serial, ident.firmware) == ("2649810226", "V5.05 02.08.12")
    assert (ident.nominal_voltage_v, ident.nominal_current_a, ident.nominal_power_w) == (160.0, 60.0, 400.0)
    assert ident.extra["manufacturer"] == "EA-VIERSEN"
    sent = trace_of(driver).sent()
    assert sent[:3] == [g.Q_TYPE, g.Q_SERIAL, g.Q_FIRMWARE]
    assert [b[0] for b in sent[-3:]] == [0x73, 0x73, 0x73]  # floats announced with 4 bytes
    received = [b for d, b in trace_of(driver) if d == "rx"]
    assert received[0] == g.A_TYPE  # the simulator answers with the captured bytes


async def test_done_when_flow(driver: EaDriver, sim: EaSimulator) -> None:
    """Identify the EL 3160-60 simulator, set 2.5 A, switch the input on, read the current back."""
    await driver.identify()
    await driver.remote(True)
    await driver.set_current(2.5)
    await driver.input(True)
    actual = await driver.read_actual()
    assert actual.current_a == pytest.approx(2.5, abs=0.02)
    assert 11.0 < actual.voltage_v < 13.5
    assert actual.power_w == pytest.approx(actual.voltage_v * actual.current_a, rel=0.02)
    assert actual.status is not None
    assert (actual.status.remote, actual.status.input_on, actual.status.mode) == (True, True, "CC")
    assert sim.device.stage.sink_a == pytest.approx(2.5, abs=0.003)
    assert g.W_REMOTE_ON in trace_of(driver).sent()
    assert g.Q_ACTUAL in trace_of(driver).sent()


async def test_input_off_means_no_current_and_ah_counts(driver: EaDriver, sim: EaSimulator) -> None:
    await driver.identify()
    await driver.remote(True)
    await driver.set_current(5.0)
    await driver.input(True)
    assert (await driver.read_actual()).current_a > 4.9
    await driver.input(False)
    actual = await driver.read_actual()
    assert actual.current_a == 0.0
    assert actual.status is not None
    assert actual.status.input_on is False
    ah = await driver.read_ah()
    assert ah > 0
    assert math.isfinite(ah)
    assert g.Q_AH in trace_of(driver).sent()


async def test_constant_power(driver: EaDriver) -> None:
    await driver.identify()
    await driver.remote(True)
    await driver.set_power(50.0)
    await driver.input(True)
    actual = await driver.read_actual()
    assert actual.power_w == pytest.approx(50.0, rel=0.02)
    assert actual.status is not None
    assert actual.status.mode == "CP"


async def test_setpoints_are_refused_unless_remote(driver: EaDriver, sim: EaSimulator) -> None:
    await driver.identify()
    with pytest.raises(p.AccessDenied) as info:
        await driver.set_current(2.5)
    assert isinstance(info.value, DeviceRefused)
    assert "0x09" in str(info.value)
    with pytest.raises(p.AccessDenied):
        await driver.input(True)
    assert sim.device.setpoint("current") == 0
    assert not sim.device.input_on
    assert driver.stats.retries == 0  # a refusal is not retried


@pytest.mark.parametrize("value", [60.01, -0.1, float("nan"), float("inf")])
async def test_out_of_range_is_refused_before_sending(
    driver: EaDriver, sim: EaSimulator, value: float
) -> None:
    await driver.identify()
    await driver.remote(True)
    before, sent = sim.device.requests, len(trace_of(driver).sent())
    with pytest.raises(ValueOutOfRange, match=r"outside 0…60 A .*EL 3160-60A.*nothing was sent"):
        await driver.set_current(value)
    with pytest.raises(ValueOutOfRange, match="400 W"):
        await driver.set_power(401)
    assert sim.device.requests == before
    assert len(trace_of(driver).sent()) == sent


async def test_checksum_error_answer(driver: EaDriver, sim: EaSimulator) -> None:
    answer = await driver.exchange_raw(g.Q_TYPE[:-1] + b"\x00")
    assert answer == p.Telegram(0xC0, 1, 0xFF, b"\x03")
    # the device saying "checksum wrong" to a real request means the line damaged it: retried
    sim.garble_next_request()
    await driver.identify()
    assert driver.stats.retries == 1
    driver.retries = 0
    sim.garble_next_request()
    with pytest.raises(p.ChecksumWrong):
        await driver.read_actual()


async def test_corrupted_answer_is_retried(driver: EaDriver, sim: EaSimulator) -> None:
    await driver.identify()
    sim.corrupt_next()
    await driver.read_actual()
    assert driver.stats.corrupt_answers == 1
    assert driver.stats.retries == 1


async def test_garbage_before_an_answer_is_skipped(driver: EaDriver, sim: EaSimulator) -> None:
    await driver.identify()
    await sim.inject(b"\x8f\x00\x47noise")  # looks like the start of a 21-byte answer
    actual = await driver.read_actual()
    assert actual.voltage_v > 10
    assert driver.stats.discarded_bytes >= 8
    assert driver.stats.retries == 0


async def test_timeout_and_recovery(driver: EaDriver, sim: EaSimulator) -> None:
    await driver.identify()
    driver.timeout_s = 0.5  # short, to keep the test quick; 1 s elsewhere (the machine is shared)
    sim.drop_next(1)  # one lost answer: the retry gets it
    await driver.read_actual(with_status=False)
    assert driver.stats.timeouts == 1
    assert driver.stats.retries == 1
    sim.mute = True  # the device stops answering
    with pytest.raises(InstrumentTimeout, match="no answer to query actual"):
        await driver.read_actual()
    assert driver.stats.timeouts == 1 + 1 + driver.retries
    sim.mute = False
    assert (await driver.read_actual()).voltage_v > 10


async def test_device_vanishing_and_returning(driver: EaDriver, sim: EaSimulator) -> None:
    await driver.identify()
    await sim.vanish()
    with pytest.raises(TransportError):
        await driver.read_actual()
    await driver.close()
    with pytest.raises(TransportError):
        await driver.open()  # the link is gone
    await sim.reappear()
    await driver.open()
    assert (await driver.identify()).serial == "2649810226"
    assert (await driver.read_actual()).voltage_v > 10


async def test_pipelined_exchanges_give_the_same_answers(sim: EaSimulator) -> None:
    d = EaDriver(SerialTransport(sim.path, SETTINGS), load_profile("el3000"), timeout_s=1.0, pipeline_depth=3)
    await d.open()
    try:
        ident = await d.identify()
        assert ident.serial == "2649810226"
        await d.remote(True)
        await d.set_current(1.0)  # mode CC + setpoint in one pipelined exchange
        await d.input(True)
        actual = await d.read_actual()
        assert actual.current_a == pytest.approx(1.0, abs=0.02)
        assert actual.status is not None
        sim.corrupt_next()
        assert (await d.read_actual()).status is not None  # retried after resync
    finally:
        await d.close()


async def test_refusal_inside_a_pipeline_keeps_the_stream_aligned(sim: EaSimulator) -> None:
    d = EaDriver(SerialTransport(sim.path, SETTINGS), load_profile("el3000"), timeout_s=1.0, pipeline_depth=2)
    await d.open()
    try:
        await d.identify()
        with pytest.raises(p.AccessDenied):
            await d.set_current(1.0)  # mode select refused (not remote); the setpoint write also went out
        assert (await d.read_actual()).status is not None
        assert d.stats.stale_answers == 0
    finally:
        await d.close()


async def test_profile_without_the_object(sim: EaSimulator) -> None:
    d = EaDriver(SerialTransport(sim.path, SETTINGS), load_profile("ps2000b"), timeout_s=1.0)
    await d.open()
    try:
        with pytest.raises(NotSupported):
            await d.read_ah()
        with pytest.raises(NotSupported):
            await d.set_power(10)
    finally:
        await d.close()


async def test_serialized_transactions_never_interleave(driver: EaDriver) -> None:
    await driver.identify()
    await driver.remote(True)
    results = await asyncio.gather(
        *(driver.read_actual() for _ in range(20)), *(driver.set_current(0.1 * k) for k in range(10))
    )
    assert len(results) == 30
    assert driver.stats.retries == 0
    assert driver.stats.stale_answers == 0


async def test_another_family_is_only_another_profile(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PS 2000 B: status bytes inside object 71, no mode selection, no Ah counter — same code."""
    ps = load_profile("ps2000b")
    ident = SimIdentity(
        device_type="PS 2042-06B", nominal_voltage=42.0, nominal_current=6.0, nominal_power=100.0
    )
    sim = EaSimulator(world, ps, ident, SimOptions(pacing=False), link=tmp_path / "ps.pty")
    await sim.start()
    d = EaDriver(SerialTransport(sim.path, SETTINGS), ps, timeout_s=1.0)
    d.trace = Trace().record
    await d.open()
    try:
        assert (await d.identify()).nominal_current_a == 6.0
        await d.remote(True)
        await d.set_current(1.5)
        await d.input(True)
        actual = await d.read_actual()
        assert actual.current_a == pytest.approx(1.5, abs=0.01)
        assert actual.power_w is None
        assert actual.status is not None
        assert (actual.status.remote, actual.status.input_on) == (True, True)
        assert p.query(71, 6).encode() in trace_of(d).sent()
        assert p.query(70, 2).encode() not in trace_of(d).sent()  # status came with object 71
    finally:
        await d.close()
        await sim.stop()
