"""Driver + simulator over a faulty link (hypothesis stateful): every value a driver returns is a
value the simulator really sent, whatever the link drops, duplicates, delays or corrupts.

The link is :class:`tests.support.faulty_link.FaultyLink` — real ptys, a relay that damages
whole frames as planned by hypothesis. Ground truth is what the simulator wrote before any
damage. A driver may fail a call (a timeout, a corrupted answer after its retries): that is
what the link did to it; it must never turn damage into a value. When the faults stop the
driver must work again at once (no reconnect needed).

EA: drops, duplicates, delays and corruption both ways; the telegrams' 16-bit sum catches any
single flipped bit, and answers are matched to queries by object number. MPPT: drops,
duplicates and delays; ThingSet text has no checksum, so a corrupted digit would be a
plausible wrong value — not a driver's fault, and not tested as one here (the codec fuzz tests
show corrupted lines come out as events, never exceptions).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from benchgui.clock import ScaledClock
from benchgui.errors import BenchError
from benchgui.instruments.ea import protocol as ea
from benchgui.instruments.ea.driver import DEFAULT_SERIAL, EaDriver
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.values import decode
from benchgui.instruments.mppt import protocol as ts
from benchgui.instruments.mppt.driver import MpptDriver
from benchgui.instruments.mppt.sim import MpptSimServer
from benchgui.instruments.mppt.sim_model import SimOptions as MpptOptions
from benchgui.instruments.transport import SerialTransport
from benchgui.simbench.world import SimWorld, WorldParams
from tests.helpers import async_wait_until
from tests.support.faulty_link import EaFramer, Fault, FaultyLink, LineFramer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # ~15 s here; mostly timeouts and waits

#: the drivers' answer timeout while the link does damage: short, so that lost frames cost
#: little and a DELAYed frame (FaultyLink.delay_s) arrives after the driver gave up on it
FAULT_TIMEOUT_S = 0.15
#: the timeout when nothing is being damaged (setting up, recovering): an answer that is merely
#: slow — a busy machine — must not count as a failure there
CLEAN_TIMEOUT_S = 10.0

#: what happens to the next frames in one direction (PASS included: damage among good frames)
FAULTS = st.lists(st.sampled_from(list(Fault)), max_size=4)
LINE_FAULTS = st.lists(st.sampled_from([Fault.PASS, Fault.DROP, Fault.DUPLICATE, Fault.DELAY]), max_size=4)
STATEFUL = settings(
    max_examples=10,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class LinkMachine(RuleBasedStateMachine):
    """Owns an event loop for one example (hypothesis' rules are plain functions)."""

    #: see FaultyLink.settle: 0 for a device that publishes on its own (it is never quiet)
    QUIET_S = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.link: FaultyLink | None = None
        self.calls = self.failures = 0

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def teardown(self) -> None:
        try:
            if self.link is not None:
                self.link.clear_faults()
                self.run(self.link.settle(quiet_s=self.QUIET_S))
                self.recovers()
        finally:
            self.run(self.close())
            self.loop.close()
            self.tmp.cleanup()

    def plan(self, down: list[Fault], up: list[Fault]) -> None:
        """Damage the next frames; then a call follows."""
        assert self.link is not None
        self.link.down.plan.extend(down)
        self.link.up.plan.extend(up)
        self.calls += 1

    def recovers(self) -> None:
        """Faults over: the next call works (after at most one that still meets old damage)."""

    async def close(self) -> None:
        if self.link is not None:
            await self.link.stop()


class EaOverFaultyLink(LinkMachine):
    #: the load only answers; its answers to the last damaged queries must be through before
    #: recovering (an error answer to one looks like an answer to the next query of that object)
    QUIET_S = 0.5

    def __init__(self) -> None:
        super().__init__()
        self.profile = load_profile("el3000")
        self.run(self.setup())

    async def setup(self) -> None:
        world = SimWorld(WorldParams(sun=False), ScaledClock(1.0))
        self.sim = EaSimulator(
            world, self.profile, options=SimOptions(pacing=False), link=Path(self.tmp.name) / "ea"
        )
        await self.sim.start()
        self.link = FaultyLink(
            self.sim.path, EaFramer(ea.Direction.FROM_DEVICE), EaFramer(ea.Direction.TO_DEVICE), delay_s=0.25
        )
        path = await self.link.start()
        self.driver = EaDriver(
            SerialTransport(path, DEFAULT_SERIAL), self.profile, timeout_s=CLEAN_TIMEOUT_S, retries=2
        )
        await self.driver.open()
        ident = await self.driver.identify()
        self.scaling = self.profile.scaling(ident.nominals)
        await self.driver.remote(True)
        self.driver.timeout_s = FAULT_TIMEOUT_S

    async def close(self) -> None:
        await self.driver.close()
        await super().close()
        await self.sim.stop()

    def sent(self, role: str) -> list[Any]:
        """Values of object ``role`` in every answer the simulator sent."""
        assert self.link is not None
        spec = self.profile.obj(role)
        out = []
        for raw in self.link.from_device:
            reader = ea.TelegramReader(ea.Direction.FROM_DEVICE)
            reader.feed(raw)
            t = reader.next_event()
            if isinstance(t, ea.Telegram) and t.obj == spec.number and not t.is_status:
                out.append(decode(spec, t.data, self.scaling))
        return out

    @rule(down=FAULTS, up=FAULTS)
    def read_actual(self, down: list[Fault], up: list[Fault]) -> None:
        self.plan(down, up)
        try:
            actual = self.run(self.driver.read_actual(with_status=False))
        except BenchError:
            self.failures += 1
            return
        got = {"voltage": actual.voltage_v, "current": actual.current_a, "power": actual.power_w}
        assert got in self.sent("actual"), f"{got} was never sent"

    @rule(down=FAULTS, up=FAULTS)
    def read_ah(self, down: list[Fault], up: list[Fault]) -> None:
        self.plan(down, up)
        try:
            ah = self.run(self.driver.read_ah())
        except BenchError:
            self.failures += 1
            return
        assert ah in self.sent("ah_counter"), f"{ah} Ah was never sent"

    @rule(amps=st.floats(0.0, 5.0), down=FAULTS, up=FAULTS)
    def set_current(self, amps: float, down: list[Fault], up: list[Fault]) -> None:
        self.plan(down, up)
        try:
            self.run(self.driver.set_current(amps))
        except BenchError:
            self.failures += 1

    def recovers(self) -> None:
        self.driver.timeout_s = CLEAN_TIMEOUT_S
        for attempt in range(2):
            try:
                actual = self.run(self.driver.read_actual(with_status=False), 4 * CLEAN_TIMEOUT_S)
            except BenchError:
                if attempt:
                    raise
                continue
            got = {"voltage": actual.voltage_v, "current": actual.current_a, "power": actual.power_w}
            assert got in self.sent("actual")
            return


class MpptOverFaultyLink(LinkMachine):
    def __init__(self) -> None:
        super().__init__()
        self.statements: list[ts.Statement] = []
        self.run(self.setup())

    async def setup(self) -> None:
        world = SimWorld(WorldParams(sun_start_hour=11.0), ScaledClock(1.0))
        self.server = MpptSimServer(world, Path(self.tmp.name) / "mppt", MpptOptions(period_s=0.05))
        await self.server.start()
        self.link = FaultyLink(self.server.path, LineFramer(), LineFramer(), delay_s=0.25)
        path = await self.link.start()
        transport = SerialTransport(path)
        await transport.open()
        self.driver = MpptDriver(transport, timeout_s=CLEAN_TIMEOUT_S)
        self.driver.statement_listeners.append(lambda st_, _t: self.statements.append(st_))
        self.driver.start()
        await self.driver.enable_publication(True)
        self.driver.timeout_s = FAULT_TIMEOUT_S

    async def close(self) -> None:
        await self.driver.close()
        await super().close()
        await self.server.aclose()

    def sent(self) -> list[ts.Statement | ts.Response]:
        assert self.link is not None
        codec = ts.ClientCodec()
        for raw in self.link.from_device:
            codec.feed(raw)
        return [e for e in codec.events() if isinstance(e, ts.Statement | ts.Response)]

    @rule(path=st.sampled_from(["info", "input", "conf", "pub/serial"]), down=LINE_FAULTS, up=LINE_FAULTS)
    def get(self, path: str, down: list[Fault], up: list[Fault]) -> None:
        self.plan(down, up)
        try:
            payload = self.run(self.driver.get(path))
        except BenchError:
            self.failures += 1
            return
        answers = [e.payload for e in self.sent() if isinstance(e, ts.Response)]
        assert payload in answers, f"{payload!r} was never sent"

    @rule()
    def statements_are_real(self) -> None:
        n = len(self.statements)
        # publications go on (every 0.05 s) whatever was planned: faults only take whole frames
        self.run(async_wait_until(lambda: len(self.statements) > n, 20, what="a publication"), 30)
        sent = [e for e in self.sent() if isinstance(e, ts.Statement)]
        for s in self.statements:
            assert s in sent, f"{s} was never sent"

    def recovers(self) -> None:
        self.driver.timeout_s = CLEAN_TIMEOUT_S
        for attempt in range(2):
            try:
                payload = self.run(self.driver.get("info"), 2 * CLEAN_TIMEOUT_S)
            except BenchError:
                if attempt:
                    raise
                continue
            assert payload in [e.payload for e in self.sent() if isinstance(e, ts.Response)]
            return


TestEaOverFaultyLink = EaOverFaultyLink.TestCase
TestEaOverFaultyLink.settings = STATEFUL
TestMpptOverFaultyLink = MpptOverFaultyLink.TestCase
TestMpptOverFaultyLink.settings = STATEFUL
