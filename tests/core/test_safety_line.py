"""The supervisor over the EA load's real wire (paced simulator, real driver, real pty): the
trip's off is the next telegram even while a poll is stuck in its retries, "load off" is
confirmed by the device's status, and a device that keeps its input on is escalated.

"Next" is judged by the order of telegrams the simulated device received, never by time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from benchgui.clock import WallClock
from benchgui.config.schema import Config
from benchgui.core.bench import Bench
from benchgui.core.safety import Supervisor
from benchgui.core.safety_off import ESCALATE_AFTER
from benchgui.instruments.base import SafeOffLoad
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.protocol import Kind, Telegram
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.simdevice import SimIdentity
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.transport import SerialTransport
from benchgui.model import Event
from benchgui.simbench.world import SimWorld, WorldParams
from tests.conftest import Cli
from tests.helpers import async_wait_until
from tests.instruments.ea.conftest import SETTINGS

pytestmark = pytest.mark.timeout(60)

PROFILE = load_profile("el3000")


def is_input_off(t: Telegram | None) -> bool:
    ctl = PROFILE.control
    assert ctl is not None
    mask, value = ctl.action("input_off")
    return (
        t is not None
        and t.kind is Kind.SEND
        and t.obj == PROFILE.obj(ctl.object).number
        and t.data == bytes([mask, value])
    )


class Rig:
    def __init__(self, sim: EaSimulator, load: LoadSource, bench: Bench, sup: Supervisor) -> None:
        self.sim, self.load, self.bench, self.sup = sim, load, bench, sup
        self.events: list[Event] = []
        bench.event_recorded.connect(self.events.append)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def offs_since(self, n: int) -> int:
        return sum(1 for t in list(self.sim.device.received)[n:] if is_input_off(t))


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    world = SimWorld(WorldParams(sun=False, initial_soc=0.8))
    opts = SimOptions(pacing=True, turnaround_s=0.010)
    sim = EaSimulator(world, PROFILE, SimIdentity(), opts, link=tmp_path / "ea.pty")
    await sim.start()
    load = LoadSource(SerialTransport(sim.path, SETTINGS), PROFILE, poll_interval_s=0.05, timeout_s=0.3)
    bench = Bench(WallClock(), [load], load=load)
    sup = Supervisor.attach(bench, Config(), handle_signals=False)
    await bench.start()
    try:
        await async_wait_until(lambda: load.state.connected, 10, what="load connected")
        await load.set_current(1.0)
        await load.set_input(True)
        await async_wait_until(lambda: sup.armed, 10, what="supervisor armed")
        yield Rig(sim, load, bench, sup)
    finally:
        sim.device.faults.ignore_input_off = sim.device.faults.drop_query_answers = False
        with contextlib.suppress(Exception):
            await sup.aclose()
        await bench.stop()
        await sim.stop()


async def test_trip_off_is_next_on_the_wire_while_a_poll_retries(rig: Rig) -> None:
    assert isinstance(rig.load, SafeOffLoad)
    stats = rig.load.driver.stats
    timeouts = stats.timeouts
    rig.sim.device.faults.drop_query_answers = True  # the poll's answers are lost: it retries
    await async_wait_until(lambda: stats.timeouts > timeouts, 10, what="a poll in its retries")
    seen = len(rig.sim.device.received)
    rig.sup.emergency_stop("test")
    await async_wait_until(lambda: len(rig.sim.device.received) > seen, 10, what="the next telegram")
    assert is_input_off(rig.sim.device.received[seen]), "the off was not the next telegram"
    assert not rig.sim.device.input_on
    # confirming needs a status answer: while queries are lost the trip is not "load off"
    await async_wait_until(lambda: stats.timeouts > timeouts + 2, 10, what="the confirming read lost")
    assert rig.sup.trip_state is not None
    assert not rig.sup.trip_state.load_off
    rig.sim.device.faults.drop_query_answers = False
    await async_wait_until(lambda: rig.sup.trip_state and rig.sup.trip_state.load_off, 10)
    assert rig.sup.trip_state.confirmed
    assert "safety.escalate" not in rig.kinds()
    assert rig.load.status.reconnects == 0  # a preempted poll is not a lost connection
    assert stats.preempted >= 1
    (off,) = [e for e in rig.events if e.kind == "safety.load_off"]
    assert off.data["confirmed"] is True
    assert "reported off by the device" in off.text


async def test_load_off_means_the_device_reports_it_off(rig: Rig) -> None:
    rig.sup.emergency_stop("test")
    await async_wait_until(lambda: rig.sup.trip_state and rig.sup.trip_state.load_off, 10)
    trip = rig.sup.trip_state
    assert trip is not None
    assert trip.confirmed
    assert not rig.sim.device.input_on
    status_obj = PROFILE.obj(PROFILE.status.object).number if PROFILE.status else -1
    after_off = list(rig.sim.device.received)
    last_off = max(i for i, t in enumerate(after_off) if is_input_off(t))
    assert any(t is not None and t.obj == status_obj for t in after_off[last_off + 1 :])


async def test_a_load_that_keeps_its_input_on_is_escalated(rig: Rig) -> None:
    rig.sim.device.faults.ignore_input_off = True  # acknowledges the off, keeps sinking current
    seen = len(rig.sim.device.received)
    rig.sup.emergency_stop("test")
    await async_wait_until(lambda: "safety.escalate" in rig.kinds(), 20, what="escalation")
    trip = rig.sup.trip_state
    assert trip is not None
    assert trip.escalated
    assert not trip.load_off  # acknowledged is not off
    assert rig.sup.escalations == 1
    assert rig.sup.state.trip is not None
    assert rig.sup.state.trip.escalated  # what the banner shows
    assert rig.offs_since(seen) >= ESCALATE_AFTER
    offs = rig.offs_since(seen)
    await async_wait_until(lambda: rig.offs_since(seen) > offs, 20, what="the off repeated")
    rig.sim.device.faults.ignore_input_off = False  # someone fixed it: the next off takes
    await async_wait_until(lambda: rig.sup.trip_state and rig.sup.trip_state.load_off, 20)
    assert rig.sup.trip_state.confirmed
    assert rig.sup.escalations == 1  # remembered: a headless run exits non-zero


async def _escalate_then_exit(asm: Any) -> None:
    """Drive a headless run: load on, a device that ignores the off, emergency stop; once the
    supervisor has escalated, the device is fixed and the run is asked to end."""
    load, sup = asm.bench.load, asm.bench.services.supervisor
    await async_wait_until(lambda: load.state.connected, 30, what="load connected")
    await load.set_current(1.0)
    await load.set_input(True)
    load.simulator.device.faults.ignore_input_off = True
    sup.emergency_stop("test")
    await async_wait_until(lambda: sup.escalations == 1, 30, what="escalation")
    load.simulator.device.faults.ignore_input_off = False
    await async_wait_until(lambda: sup.trip_state.load_off, 30, what="load off")
    sup.exit_requested.emit("SIGTERM")


def test_headless_record_exits_non_zero_after_an_escalation(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchgui.cli.record as record_cli

    real_assemble = record_cli.assemble
    driving: list[asyncio.Task[None]] = []

    async def assemble(*a: Any, **kw: Any) -> Any:
        asm = await real_assemble(*a, **kw)
        driving.append(asyncio.get_running_loop().create_task(_escalate_then_exit(asm)))
        return asm

    monkeypatch.setattr(record_cli, "assemble", assemble)
    r = cli(["record", "--demo"])
    assert driving[0].done()
    assert driving[0].exception() is None
    assert r.returncode == 1, r.stderr
    assert "kept reporting its input on" in r.stderr


async def _program_escalates(asm: Any) -> None:
    """A running program's load ignores the safety off until the supervisor has escalated."""
    load, sup = asm.bench.load, asm.bench.services.supervisor
    await async_wait_until(lambda: load.input_on is True, 30, what="the program's load on")
    load.simulator.device.faults.ignore_input_off = True
    sup.emergency_stop("test")
    await async_wait_until(lambda: sup.escalations == 1, 30, what="escalation")
    load.simulator.device.faults.ignore_input_off = False


def test_headless_run_program_exits_non_zero_after_an_escalation(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import benchgui.cli.run_program as run_program_cli

    real_assemble = run_program_cli.assemble
    driving: list[asyncio.Task[None]] = []

    async def assemble(*a: Any, **kw: Any) -> Any:
        asm = await real_assemble(*a, **kw)
        driving.append(asyncio.get_running_loop().create_task(_program_escalates(asm)))
        return asm

    monkeypatch.setattr(run_program_cli, "assemble", assemble)
    prog = tmp_path / "long.toml"
    prog.write_text("[[step]]\nkind = 'cc'\ncurrent_a = 3\nduration_s = 3600\n")
    r = cli(["run-program", str(prog), "--headless", "--demo"])
    assert driving[0].done()
    assert driving[0].exception() is None
    assert r.returncode == 1, r.stderr
    assert "kept reporting its input on" in r.stderr
    assert '"load_input_on": false' in r.stdout
