"""Unplug and replug every simulated instrument 20 times in a row (real ptys, real sockets).

Each cycle: the device vanishes (the pty closes and its link disappears; the T7's Modbus server
shuts down and drops its clients), the source notices and tries at least once to open it again
(and fails: the outage is real), then the device returns — the EA and MPPT under the same link
name on a new pty, the T7 on the same TCP port — and the next sample must reach the bench with
at most one more failed attempt (one that was already under way as the device came back): the
back-off is capped at 1 s, so that bounds the time from "device is back" to "data flows" without
this test timing anything (how long it takes is measured, and printed, by ``benchmarks/``). The
status must have said ``reconnecting (n)`` with n counting up, and no traceback may reach the log.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchgui.clock import ScaledClock
from benchgui.config.schema import LabJackSection
from benchgui.core.bench import Bench
from benchgui.instruments.base import Source
from benchgui.instruments.ea.driver import DEFAULT_SERIAL
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.sim import EaSimulator
from benchgui.instruments.ea.sim import SimOptions as EaSimOptions
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.labjack.sim import ThreadedT7Server
from benchgui.instruments.labjack.simdevice import Wiring
from benchgui.instruments.labjack.source import RECONNECT_MAX_S, LabJackSource
from benchgui.instruments.mppt.sim import MpptSimServer
from benchgui.instruments.mppt.sim_model import SimOptions as MpptSimOptions
from benchgui.instruments.mppt.source import MpptSource
from benchgui.instruments.transport import Backoff, SerialSettings, SerialTransport
from benchgui.model import InstrumentState, InstrumentStatus, Sample
from benchgui.simbench.world import SimWorld, WorldParams
from tests.helpers import async_wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # mostly back-off waits: ~15 s here

CYCLES = 20
#: the longest wait between reconnect attempts, for every source: it bounds "back → data flows"
BACKOFF_CAP_S = 1.0
#: failed attempts after the device is back: at most the one already under way when it returned
MAX_FAILED_AFTER_REPLUG = 1
#: status reports in the last, long outage: the loss, then failed attempts 0.1 + 0.2 + 0.4 +
#: 0.8 + 1 + 1 s apart, the cap reached
LONG_OUTAGE_ATTEMPTS = 7


@dataclass
class Rig:
    """A simulated instrument, the real source connected to it, and how to unplug/replug it."""

    source: Source
    unplug: Callable[[], Awaitable[object]]
    replug: Callable[[], Awaitable[object]]
    close: Callable[[], Awaitable[object]]


@dataclass
class Watch:
    """What the bench saw: when samples arrived (monotonic), every status, log records."""

    arrivals: list[float] = field(default_factory=list)
    statuses: list[InstrumentStatus] = field(default_factory=list)

    def on_samples(self, samples: Sequence[Sample]) -> None:
        self.arrivals.append(time.monotonic())

    def reconnecting_since(self, index: int) -> int:
        """Status reports saying "reconnecting" since ``index``: the loss, then each failed attempt."""
        return sum(s.state is InstrumentState.RECONNECTING for s in self.statuses[index:])

    def arrived_since(self, t: float) -> bool:
        return bool(self.arrivals) and self.arrivals[-1] >= t


async def ea_rig(world: SimWorld, tmp: Path) -> Rig:
    profile = load_profile("el3000")
    sim = EaSimulator(world, profile, options=EaSimOptions(pacing=False), link=tmp / "ea.pty")
    await sim.start()
    # a vanished device is an error at once (hang-up); the answer timeout only has to be long
    # enough that a busy machine never looks like a lost connection
    source = LoadSource(
        SerialTransport(str(tmp / "ea.pty"), DEFAULT_SERIAL), profile, poll_interval_s=0.05, timeout_s=2.0
    )
    return Rig(source, sim.vanish, sim.reappear, sim.stop)


async def mppt_rig(world: SimWorld, tmp: Path) -> Rig:
    server = MpptSimServer(world, tmp / "mppt.pty", MpptSimOptions(period_s=0.1))
    await server.start()
    source = MpptSource(SerialTransport(str(tmp / "mppt.pty"), SerialSettings(115200)), period_s=0.1)
    return Rig(source, server.vanish, server.reappear, server.aclose)


async def labjack_rig(world: SimWorld, tmp: Path) -> Rig:
    section = LabJackSection(address="127.0.0.1", poll_interval_s=0.05)
    server = ThreadedT7Server(world, Wiring.from_channels(section.channels), "127.0.0.1", 0)
    port = await server.start()
    source = LabJackSource(LabJackSection(address="127.0.0.1", port=port, poll_interval_s=0.05))
    return Rig(source, server.stop, server.start, server.stop)


RIGS = {"ea": ea_rig, "mppt": mppt_rig, "labjack": labjack_rig}


@pytest.fixture
def quiet_pymodbus() -> None:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # its own "connection lost" noise


@pytest.fixture
async def bench_rig(
    request: pytest.FixtureRequest, tmp_path: Path, quiet_pymodbus: None
) -> AsyncIterator[tuple[Rig, Bench, Watch]]:
    clock = ScaledClock(1.0)
    world = SimWorld(WorldParams(sun=False), clock)
    rig = await RIGS[request.param](world, tmp_path)
    bench = Bench(clock, [rig.source])
    watch = Watch()
    bench.samples_published.connect(watch.on_samples)
    bench.status_changed.connect(watch.statuses.append)
    await bench.start()
    try:
        yield rig, bench, watch
    finally:
        await bench.stop()
        await rig.close()


async def unplug_replug(rig: Rig, watch: Watch, attempts: int) -> tuple[int, float]:
    """One cycle; returns the failed attempts after the device's return and the seconds until
    the next sample (for the printout only: wall time depends on the machine)."""
    src = rig.source
    await async_wait_until(lambda: src.status.state is InstrumentState.CONNECTED, 30, what="connected")
    seen = len(watch.statuses)
    await rig.unplug()
    await async_wait_until(
        lambda: watch.reconnecting_since(seen) >= attempts, 30, what=f"{attempts} failed attempts"
    )
    assert src.status.describe().startswith(f"reconnecting ({src.status.reconnects})")
    await rig.replug()
    back, returned = time.monotonic(), len(watch.statuses)
    await async_wait_until(lambda: watch.arrived_since(back), 30, what="data back")
    return watch.reconnecting_since(returned), watch.arrivals[-1] - back


def test_every_source_retries_at_least_once_a_second() -> None:
    """The cap is what bounds the time from "device is back" to "data flows"."""
    b = Backoff()
    delays = [b.next_delay() for _ in range(8)]
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    b.reset()
    assert b.next_delay() == 0.1
    profile = load_profile("el3000")
    ea = LoadSource(SerialTransport("/dev/null"), profile)
    mppt = MpptSource(SerialTransport("/dev/null"))
    assert ea.backoff.max_s == mppt.backoff.max_s == RECONNECT_MAX_S == BACKOFF_CAP_S


@pytest.mark.parametrize("bench_rig", list(RIGS), indirect=True)
async def test_unplug_replug_twenty_times(
    bench_rig: tuple[Rig, Bench, Watch], caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    rig, _bench, watch = bench_rig
    await async_wait_until(lambda: watch.arrivals, 30, what="first data")
    failed: list[int] = []
    times: list[float] = []
    with caplog.at_level(logging.WARNING):
        for cycle in range(CYCLES):
            # short outages (one failed attempt); the last one long enough for the back-off cap
            attempts = LONG_OUTAGE_ATTEMPTS if cycle == CYCLES - 1 else 2
            n, seconds = await unplug_replug(rig, watch, attempts)
            failed.append(n)
            times.append(seconds)
            assert rig.source.status.reconnects == cycle + 1  # n counts the connections lost
    name = request.node.callspec.params["bench_rig"]
    print(
        f"\n{name}: data back after replug: max {max(times) * 1000:.0f} ms, "
        f"median {statistics.median(times) * 1000:.0f} ms over {CYCLES} cycles; "
        f"failed attempts after replug: {failed}"
    )
    assert max(failed) <= MAX_FAILED_AFTER_REPLUG, failed
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not tracebacks
    assert all(s.state is not InstrumentState.ERROR for s in watch.statuses), watch.statuses[-5:]
