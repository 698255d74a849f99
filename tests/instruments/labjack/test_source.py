"""The LabJack source on a real bench core against the simulated T7: channels, sign, live
reconfiguration, refusal, re-apply at reconnect, and a missing LJM library."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import pytest

from benchgui.clock import ScaledClock
from benchgui.config.schema import CalibrationSection, LabJackChannelSection, LabJackSection
from benchgui.core.bench import Bench
from benchgui.errors import ConfigError, DeviceRefused
from benchgui.instruments.base import raise_if_cancelled
from benchgui.instruments.labjack.backends.base import LjmUnavailable
from benchgui.instruments.labjack.backends.ljm import load_ljm
from benchgui.instruments.labjack.sim import T7Server
from benchgui.instruments.labjack.source import LabJackSource
from benchgui.instruments.simulated import SimLoadSource
from benchgui.model import InstrumentState, Sample, SampleFlag
from benchgui.simbench.world import SimWorld
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(60)


class Collected:
    def __init__(self, bench: Bench) -> None:
        self.samples: list[Sample] = []
        bench.samples_published.connect(self.samples.extend)

    def of(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.channel == name]


@pytest.fixture
async def rig(t7: T7Server, world: SimWorld) -> AsyncIterator[tuple[Bench, LabJackSource, Collected]]:
    # a stopped T7 drops the connection (an error at once): the answer timeout only has to be
    # long enough that a busy machine never looks like a lost connection (tests count connects)
    section = LabJackSection(address="127.0.0.1", port=t7.port, poll_interval_s=0.02, timeout_s=2.0)
    src = LabJackSource(section)
    bench = Bench(ScaledClock(1.0), [src])
    got = Collected(bench)
    await bench.start()
    await async_wait_until(lambda: len(got.of("battery.power.labjack")) >= 3, 15, what="first polls")
    yield bench, src, got
    await bench.stop()


def _with(
    chans: Sequence[LabJackChannelSection], quantity: str, **changes: object
) -> list[LabJackChannelSection]:
    return [replace(c, **changes) if c.quantity == quantity else c for c in chans]  # type: ignore[arg-type]


async def test_channels_values_and_sign(rig: tuple[Bench, LabJackSource, Collected], world: SimWorld) -> None:
    bench, src, got = rig
    assert [c.name for c in src.channels()] == [
        "battery.voltage.labjack",
        "battery.current.labjack",
        "battery.power.labjack",
    ]
    assert bench.status["labjack"].state is InstrumentState.CONNECTED
    assert "470099999" in bench.status["labjack"].text
    world.set_current("charger", 3.0)  # charging: positive
    n = len(got.samples)
    await async_wait_until(lambda: len(got.samples) > n + 9, 10)
    v, i, p = (got.of(f"battery.{q}.labjack")[-1] for q in ("voltage", "current", "power"))
    assert v.value == pytest.approx(world.voltage(), abs=0.03)
    assert i.value == pytest.approx(3.0 * 0.96 + 0.005, abs=0.03)  # the LA 55-P reads 4 % low
    assert p.value == pytest.approx(v.value * i.value)
    assert v.t_ns == i.t_ns == p.t_ns
    assert src.info()["serial"] == "470099999"


async def test_live_range_change_clips_and_flags(
    rig: tuple[Bench, LabJackSource, Collected], t7: T7Server
) -> None:
    bench, src, got = rig
    assert await src.apply_channels(_with(src.channel_config, "battery.voltage", range_v=1.0))
    assert t7.device.ains[2].range_v == 1.0
    n = len(got.samples)
    await async_wait_until(lambda: len(got.of("battery.voltage.labjack")) > n // 3 + 3, 10)
    last = got.of("battery.voltage.labjack")[-1]
    assert last.value == pytest.approx(5.0)  # 1 V (clipped) × 5
    assert last.flags & SampleFlag.OVER_RANGE
    assert got.of("battery.power.labjack")[-1].flags & SampleFlag.OVER_RANGE
    assert bench.display.flags["battery.voltage.labjack"] & SampleFlag.OVER_RANGE
    assert src.connects == 1  # no restart


async def test_refused_reconfiguration_keeps_the_old_settings(
    rig: tuple[Bench, LabJackSource, Collected], t7: T7Server
) -> None:
    _, src, _ = rig
    before = src.channel_config
    with pytest.raises(DeviceRefused, match="ILLEGAL DATA VALUE"):  # index 9 needs a T7-Pro
        await src.apply_channels(_with(before, "battery.current", resolution_index=9, range_v=1.0))
    assert src.channel_config == before
    assert (t7.device.ains[1].resolution_index, t7.device.ains[1].range_v) == (0, 10.0)
    with pytest.raises(ConfigError, match=r"channels\[1\]\.differential"):
        await src.apply_channels(_with(before, "battery.current", differential=True))
    assert src.channel_config == before


async def test_new_channels_and_calibration_apply_live(
    rig: tuple[Bench, LabJackSource, Collected], world: SimWorld
) -> None:
    bench, src, got = rig
    world.set_current("load", -2.0)
    expected = -2.0 * 0.96 + 0.005  # the LA 55-P reads 4 % low
    await async_wait_until(lambda: abs((src.uncalibrated_mean("battery.current") or 0) - expected) < 0.05, 10)
    raw = src.uncalibrated_mean("battery.current")
    assert raw is not None
    cal = CalibrationSection(gain=2.0, offset=0.0)
    extra = LabJackChannelSection(quantity="aux.voltage", unit="V", ain=4)
    chans = [*_with(src.channel_config, "battery.current", calibration=cal), extra]
    await src.apply_channels(chans)
    assert "aux.voltage.labjack" in bench.channels
    n = len(got.samples)
    await async_wait_until(lambda: len(got.samples) > n + 8, 10)
    assert got.of("battery.current.labjack")[-1].value == pytest.approx(2 * raw, abs=0.1)
    assert got.of("aux.voltage.labjack")[-1].value == pytest.approx(0.0, abs=0.01)


async def test_power_cycled_device_gets_its_configuration_back(
    rig: tuple[Bench, LabJackSource, Collected], t7: T7Server
) -> None:
    bench, src, got = rig
    await src.apply_channels(_with(src.channel_config, "battery.voltage", range_v=1.0, settling_us=10.0))
    await t7.stop()
    await async_wait_until(lambda: bench.status["labjack"].state is InstrumentState.RECONNECTING, 10)
    assert bench.status["labjack"].reconnects == 1
    await t7.start()  # same port, settings back to power-up values …
    await async_wait_until(
        lambda: src.connects == 2 and bench.status["labjack"].state is InstrumentState.CONNECTED, 15
    )
    st = t7.device.ains[2]
    assert (st.range_v, st.settling_us) == (1.0, 10.0)  # … and re-applied at the connect
    n = len(got.samples)
    await async_wait_until(lambda: len(got.samples) > n + 6, 10)


async def test_missing_ljm_library_is_reported_and_nothing_else_breaks(world: SimWorld) -> None:
    try:
        load_ljm()
    except LjmUnavailable:
        pass
    else:  # pragma: no cover - only on a machine with LabJack's library installed
        pytest.skip("the LJM library is installed here")
    src = LabJackSource(LabJackSection(backend="ljm"))
    load = SimLoadSource(world, interval_s=0.05)
    bench = Bench(ScaledClock(1.0), [src, load])
    await bench.start()
    try:
        await async_wait_until(lambda: bench.status["labjack"].state is InstrumentState.ERROR, 10)
        text = bench.status["labjack"].text
        assert "LJM" in text
        assert "not installed" in text
        assert "https://labjack.com/support/software/installers/ljm" in text
        await async_wait_until(lambda: bench.sample_count > 10, 10, what="the load still publishes")
    finally:
        with contextlib.suppress(asyncio.TimeoutError):
            await bench.stop()


async def test_a_swallowed_cancellation_still_stops_the_source() -> None:
    async def body() -> None:
        asyncio.current_task().cancel()  # type: ignore[union-attr]
        with contextlib.suppress(asyncio.CancelledError):  # as Python 3.11's wait_for may do
            await asyncio.sleep(0)
        raise_if_cancelled()

    task = asyncio.create_task(body())
    with pytest.raises(asyncio.CancelledError):
        await task
