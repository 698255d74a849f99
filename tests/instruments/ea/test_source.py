"""The bench's load source: samples with the battery sign, setpoint events, reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from benchgui.clock import WallClock
from benchgui.errors import TransportError, ValueOutOfRange
from benchgui.instruments.base import LoadControl
from benchgui.instruments.ea.objects import Profile
from benchgui.instruments.ea.sim import EaSimulator
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.ea.state import LoadState
from benchgui.instruments.transport import SerialTransport
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample
from tests.helpers import async_wait_until
from tests.instruments.ea.conftest import SETTINGS

pytestmark = pytest.mark.timeout(60)


class Sink:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.statuses: list[InstrumentStatus] = []
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.info_updates = 0

    def publish(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)

    def set_status(self, status: InstrumentStatus) -> None:
        self.statuses.append(status)

    def record_event(self, kind: str, text: str, data: dict[str, Any] | None = None) -> object:
        self.events.append((kind, text, dict(data or {})))
        return None

    def add_channels(self, channels: Sequence[Channel]) -> None:
        pass

    def update_session_info(self) -> None:
        self.info_updates += 1

    def latest(self, channel: str) -> Sample | None:
        return next((s for s in reversed(self.samples) if s.channel == channel), None)


@pytest.fixture
async def running(sim: EaSimulator, profile: Profile) -> AsyncIterator[tuple[LoadSource, Sink]]:
    src = LoadSource(SerialTransport(sim.path, SETTINGS), profile, poll_interval_s=0.02, timeout_s=1.0)
    sink = Sink()
    task = asyncio.create_task(src.run(sink, WallClock()))
    await async_wait_until(lambda: src.state.connected and sink.latest("battery.voltage.load"), 10)
    yield src, sink
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


async def test_is_a_load_control(running: tuple[LoadSource, Sink]) -> None:
    src, sink = running
    assert isinstance(src, LoadControl)
    assert (src.nominal_voltage_v, src.nominal_current_a, src.nominal_power_w) == (160.0, 60.0, 400.0)
    assert src.info()["model"] == "EL 3160-60A"
    assert src.info()["serial"] == "2649810226"
    assert sink.statuses[-1].state is InstrumentState.CONNECTED
    assert {c.name for c in src.channels()} >= {
        "battery.voltage.load",
        "battery.current.load",
        "battery.power.load",
        "load.current.setpoint",
        "load.power.setpoint",
        "load.input.load",
        "load.remote.load",
        "load.ah.load",
    }


async def test_sinking_current_is_negative_on_the_bench(
    running: tuple[LoadSource, Sink], sim: EaSimulator
) -> None:
    src, sink = running
    await src.set_current(2.5)  # remote is switched on by itself
    await src.set_input(True)
    n = len(sink.samples)
    await async_wait_until(lambda: any(s.channel == "battery.current.load" for s in sink.samples[n:]), 20)
    await async_wait_until(lambda: sink.latest("battery.current.load").value < -2.4, 20)  # type: ignore[union-attr]
    i = sink.latest("battery.current.load").value  # type: ignore[union-attr]
    v = sink.latest("battery.voltage.load").value  # type: ignore[union-attr]
    assert i == pytest.approx(-2.5, abs=0.02)
    assert sink.latest("battery.power.load").value == pytest.approx(v * i, rel=0.02)  # type: ignore[union-attr]
    assert sink.latest("load.current.setpoint").value == 2.5  # type: ignore[union-attr]
    assert sink.latest("load.input.load").value == 1.0  # type: ignore[union-attr]
    assert src.state.remote
    assert src.state.input_on
    assert src.state.mode == "CC"
    assert src.input_on is True
    kinds = [(k, d) for k, _, d in sink.events]
    assert ("setpoint", {"remote": True}) in kinds
    assert ("setpoint", {"current_a": 2.5, "mode": "CC"}) in kinds
    assert ("setpoint", {"input": True}) in kinds
    await src.set_power(30.0)
    await async_wait_until(lambda: src.state.mode == "CP", 20)
    assert sink.latest("load.power.setpoint").value == 30.0  # type: ignore[union-attr]
    assert sink.latest("load.current.setpoint").value == 0.0  # type: ignore[union-attr]


async def test_state_notifications(running: tuple[LoadSource, Sink]) -> None:
    src, _ = running
    seen: list[LoadState] = []
    src.state_changed.connect(seen.append)
    await src.set_input(True)
    assert seen
    assert seen[-1].input_on is True
    await async_wait_until(lambda: seen[-1].ah is not None, 20)


async def test_out_of_range_and_refusals_reach_the_caller(
    running: tuple[LoadSource, Sink], sim: EaSimulator
) -> None:
    src, _ = running
    before = sim.device.requests
    with pytest.raises(ValueOutOfRange):
        await src.set_current(75)
    assert sim.device.requests == before  # raised before anything (not even remote on) was sent
    assert not sim.device.remote


async def test_vanishing_and_returning_device(running: tuple[LoadSource, Sink], sim: EaSimulator) -> None:
    src, sink = running
    await src.set_input(True)
    await sim.vanish()
    await async_wait_until(lambda: sink.statuses[-1].state is InstrumentState.RECONNECTING, 20)
    await async_wait_until(lambda: any("(attempt 3)" in s.text for s in sink.statuses), 20)  # it keeps trying
    assert sink.statuses[-1].reconnects == 1  # n of "reconnecting (n)": connections lost so far
    assert sink.statuses[-1].describe().startswith("reconnecting (1): ")
    assert src.state.connected is False
    assert src.input_on is None
    with pytest.raises(TransportError, match="not connected"):
        await src.set_current(1.0)
    sim.device.stage.input_on = False  # a power-cycled device comes back with its input off
    await sim.reappear()
    returned, n = len(sink.statuses), len(sink.samples)
    await async_wait_until(lambda: any(s.channel == "battery.voltage.load" for s in sink.samples[n:]), 20)
    # data resumes at the next attempt (the back-off is capped at 1 s): no further failures,
    # but for one that may already have been under way as the device came back
    failed = [s for s in sink.statuses[returned:] if s.state is InstrumentState.RECONNECTING]
    assert len(failed) <= 1, failed
    assert sink.statuses[-1].state is InstrumentState.CONNECTED
    assert src.state.input_on is False  # re-read from the device, not remembered


async def test_cancel_leaves_the_load_off_and_local(sim: EaSimulator, profile: Profile) -> None:
    src = LoadSource(SerialTransport(sim.path, SETTINGS), profile, poll_interval_s=0.02, timeout_s=1.0)
    sink = Sink()
    task = asyncio.create_task(src.run(sink, WallClock()))
    await async_wait_until(lambda: src.state.connected, 10)
    await src.set_current(1.0)
    await src.set_input(True)
    assert sim.device.input_on
    assert sim.device.remote
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert not sim.device.input_on
    assert not sim.device.remote
    assert sink.statuses[-1].state is InstrumentState.STOPPED


async def test_input_off_in_local_mode_does_not_take_remote(
    running: tuple[LoadSource, Sink], sim: EaSimulator
) -> None:
    src, sink = running
    await async_wait_until(lambda: src.state.input_on is False, 20)
    await src.set_input(False)  # what Bench.stop does on every exit
    assert not sim.device.remote
    assert sink.events == []


async def test_a_status_read_before_a_command_never_undoes_it(running: tuple[LoadSource, Sink]) -> None:
    """A poll that read "input on" just before the operator switched it off must not switch it
    back on in the state everyone reads (the supervisor, programs): it was a real race."""
    src, sink = running
    await src.set_input(True)
    await async_wait_until(lambda: src.state.input_on is True, 30, what="input on")
    held, gate = asyncio.Event(), asyncio.Event()
    real_read_actual = src.driver.read_actual

    async def read_then_hold() -> Any:
        actual = await real_read_actual()  # the device still says: input on
        held.set()
        await gate.wait()
        return actual

    src.driver.read_actual = read_then_hold  # type: ignore[method-assign]
    await asyncio.wait_for(held.wait(), 30)
    src.driver.read_actual = real_read_actual  # type: ignore[method-assign]
    seen: list[bool | None] = []
    src.state_changed.connect(lambda st: seen.append(st.input_on))
    await src.set_input(False)  # completes while the poll holds the old status
    gate.set()
    # the held poll publishes, then fresh polls after it
    n = len(sink.samples)
    await async_wait_until(lambda: len(sink.samples) >= n + 40, 30, what="later polls")
    assert src.state.input_on is False
    assert True not in seen, f"input state went back on: {seen}"
