"""The EA line under faults, on a paced simulator: stray answers are dropped (never a refusal,
never a reconnect), and an urgent (safety) exchange preempts a poll stuck in its retries.

What went out "next" is judged by the order of the telegrams the simulated device received,
never by time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchgui.clock import WallClock
from benchgui.instruments.ea.driver import EaDriver
from benchgui.instruments.ea.objects import Profile
from benchgui.instruments.ea.protocol import Kind, Telegram
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.simdevice import SimIdentity
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.ea.transactions import LinkPreempted
from benchgui.instruments.transport import SerialTransport
from benchgui.simbench.world import SimWorld
from tests.helpers import async_wait_until
from tests.instruments.ea.conftest import SETTINGS
from tests.instruments.ea.test_source import Sink

pytestmark = pytest.mark.timeout(60)

PACED = SimOptions(pacing=True, turnaround_s=0.010)  # 57600 8O1 and a 10 ms device turnaround


@pytest.fixture
async def paced(world: SimWorld, profile: Profile, tmp_path: Path) -> AsyncIterator[EaSimulator]:
    s = EaSimulator(world, profile, SimIdentity(), PACED, link=tmp_path / "ea.pty")
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def driver(paced: EaSimulator, profile: Profile) -> AsyncIterator[EaDriver]:
    d = EaDriver(SerialTransport(paced.path, SETTINGS), profile, timeout_s=0.3, retries=2)
    await d.open()
    await d.identify()
    yield d
    await d.close()


def is_input_off(t: Telegram | None, profile: Profile) -> bool:
    ctl = profile.control
    assert ctl is not None
    mask, value = ctl.action("input_off")
    return (
        t is not None
        and t.kind is Kind.SEND
        and t.obj == profile.obj(ctl.object).number
        and t.data == bytes([mask, value])
    )


async def test_late_acks_and_duplicated_answers_are_dropped_not_refusals(
    driver: EaDriver, paced: EaSimulator
) -> None:
    faults = paced.device.faults
    faults.late_acks = faults.duplicate_answers = 4
    for _ in range(3):
        await driver.read_actual()  # old code: the late ACK before the answer was "refused 0x00"
    await driver.remote(True)
    await driver.set_current(1.5)
    await driver.input(True)
    for _ in range(3):
        actual = await driver.read_actual()
    assert faults.late_acks == faults.duplicate_answers == 0
    assert driver.stats.stray_answers == 8  # each injected telegram counted once, as stray
    assert driver.stats.refusals == 0
    assert paced.device.input_on
    assert paced.device.setpoint("current") == pytest.approx(1.5, abs=0.01)
    assert actual.status is not None
    assert actual.status.input_on is True


async def test_stray_answers_cause_no_reconnect_and_commands_keep_working(
    paced: EaSimulator, profile: Profile
) -> None:
    src = LoadSource(SerialTransport(paced.path, SETTINGS), profile, poll_interval_s=0.02, timeout_s=0.5)
    sink = Sink()
    task = asyncio.create_task(src.run(sink, WallClock()))
    try:
        await async_wait_until(lambda: src.state.connected and sink.latest("battery.voltage.load"), 10)
        faults = paced.device.faults
        faults.late_acks = faults.duplicate_answers = 6
        await src.set_remote(True)
        await src.set_current(2.0)
        await src.set_input(True)
        await async_wait_until(lambda: faults.late_acks == faults.duplicate_answers == 0, 10)
        await src.set_input(False)  # a command after all the faults: still works
        await async_wait_until(lambda: src.status.detail.get("stray_answers", 0) == 12, 10)
        assert src.status.reconnects == 0
        assert src.connects == 1
        assert "12 stray answers dropped" in src.status.text
        assert not paced.device.input_on
        assert src.state.last_error == ""
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


async def test_urgent_off_preempts_a_poll_stuck_in_retries(
    driver: EaDriver, paced: EaSimulator, profile: Profile
) -> None:
    await driver.remote(True)
    await driver.input(True)
    paced.device.faults.drop_query_answers = True
    poll = asyncio.create_task(driver.read_actual())
    await async_wait_until(lambda: driver.stats.retries >= 1, 10, what="the poll retrying")
    seen = len(paced.device.received)
    await driver.input(False, urgent=True)  # answered: the line drops answers to queries only
    assert is_input_off(paced.device.received[seen], profile), "the off was not the next telegram"
    with pytest.raises(LinkPreempted):
        await poll
    assert driver.stats.preempted == 1
    assert not paced.device.input_on
    paced.device.faults.drop_query_answers = False
    status = await driver.read_status()  # the link is fine after a preemption
    assert status.input_on is False


async def test_urgent_exchanges_go_before_waiting_ordinary_ones(
    driver: EaDriver, paced: EaSimulator, profile: Profile
) -> None:
    await driver.remote(True)
    await driver.input(True)
    paced.device.faults.drop_query_answers = True
    poll = asyncio.create_task(driver.read_actual())
    await async_wait_until(lambda: driver.stats.timeouts >= 1, 10, what="the poll timing out")
    queued = asyncio.create_task(driver.set_current(1.0))  # an ordinary command waiting its turn
    await async_wait_until(lambda: driver.link.waiting == 1, 10, what="the command queued")
    seen = len(paced.device.received)
    await driver.input(False, urgent=True)
    assert is_input_off(paced.device.received[seen], profile)
    await queued  # then the waiting command runs
    with pytest.raises(LinkPreempted):
        await poll


async def test_a_noisy_line_corrupts_a_share_of_answers_and_reads_still_succeed(
    driver: EaDriver, paced: EaSimulator
) -> None:
    paced.device.faults.corrupt_ratio = 0.3
    for _ in range(20):
        await driver.read_status()
    assert driver.stats.corrupt_answers > 0  # 30 % of 20+: the seeded line did corrupt
    assert driver.stats.retries == driver.stats.corrupt_answers  # each one retried, none fatal


async def test_a_waiter_cancelled_before_its_turn_leaves_the_line_usable(
    driver: EaDriver, paced: EaSimulator
) -> None:
    await driver.remote(True)
    paced.device.faults.drop_query_answers = True
    poll = asyncio.create_task(driver.read_actual())
    await async_wait_until(lambda: driver.stats.timeouts >= 1, 10, what="the poll timing out")
    queued = asyncio.create_task(driver.set_current(1.0))
    await async_wait_until(lambda: driver.link.waiting == 1, 10, what="the command queued")
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert driver.link.waiting == 0
    paced.device.faults.drop_query_answers = False
    await driver.input(False, urgent=True)
    with pytest.raises(LinkPreempted):
        await poll
    await driver.set_current(2.0)  # the line is free again: nothing holds it
    assert paced.device.setpoint("current") == pytest.approx(2.0, abs=0.01)
    assert not driver.link.ordinary_exchange
