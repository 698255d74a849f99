"""Test kit for the safety supervisor and the program runner: a simulated bench to steer.

Faults are injected the way they happen on a bench: through the sensor models of the simulated
instruments (an offset makes a sensor lie, a muted source stops publishing) or through the
shared simulated battery. ``wire`` chooses how the instruments are reached:

* ``False`` — everything in-process (fastest);
* ``"load"`` — the EA load on a real pty (its wire-level simulator and the real driver: the
  switching off goes over the wire), the LabJack and MPPT in-process so their sensors can be
  steered;
* ``True`` — every instrument on its wire (for faults that need no steering).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from benchgui.assembly import Assembly, assemble
from benchgui.clock import NS_PER_S
from benchgui.config import LoadedConfig
from benchgui.config.loader import parse_config
from benchgui.core.programs.runner import ProgramRunner
from benchgui.core.safety import Supervisor, Trip
from benchgui.instruments.simulated import SimLabJackSource, SimMpptSource
from benchgui.model import Channel, Sample
from benchgui.simbench.sensors import SensorModel
from tests.helpers import async_wait_until

NS = NS_PER_S  # the tests' arithmetic on sample times

#: Real seconds a busy machine may take to get a sample through the bench and act on it (CI may
#: run 10x slower than a workstation). The simulated bench runs ``speed`` times faster than real
#: time, so that is ``speed`` times as many bench seconds: see :func:`slack_s`.
REAL_SLACK_S = 0.5


#: the load on a real pty, reference sensors steerable
WIRE_PARAMS = [pytest.param(False, id="inproc"), pytest.param("load", id="pty")]
#: every instrument on its wire
FULL_WIRE_PARAMS = [pytest.param(False, id="inproc"), pytest.param(True, id="wire")]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def loaded_config(config: dict[str, Any] | None = None) -> LoadedConfig:
    base = {"simulation": {"sun": False, "initial_soc_pct": 80.0}}
    return LoadedConfig(parse_config(_merge(base, config or {})), None, {})


class MpptWithTemperatures(SimMpptSource):
    """The in-process MPPT plus the temperatures the real one publishes (Bat_degC, internal)."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.bat_t_sensor = SensorModel(noise=0.05, lsb=0.1, seed=5)
        self.int_t_sensor = SensorModel(offset=10.0, noise=0.05, lsb=0.1, seed=6)

    def channels(self) -> list[Channel]:
        r = 1 / self.interval_s
        return [
            *super().channels(),
            Channel.of("battery.temperature", "mppt", "°C", "Battery temperature (MPPT)", r),
            Channel.of("internal.temperature", "mppt", "°C", "MPPT internal temperature", r),
        ]

    def poll(self, t_ns: int) -> list[Sample]:
        t = self.world.temperature_c()
        return [
            *super().poll(t_ns),
            Sample("battery.temperature.mppt", t_ns, self.bat_t_sensor.measure(t)),
            Sample("internal.temperature.mppt", t_ns, self.int_t_sensor.measure(t)),
        ]


@contextlib.asynccontextmanager
async def sim_bench(
    *,
    speed: float = 10.0,
    wire: bool | str = False,
    config: dict[str, Any] | None = None,
    record: bool = False,
    temperatures: bool = False,
) -> AsyncIterator[Assembly]:
    """A started simulated bench with the supervisor and the runner; closed afterwards."""
    config = dict(config or {})
    if wire == "load":  # the references join in-process below, where their sensors can be steered
        off = {"labjack": {"enabled": False}, "mppt": {"enabled": False}}
        config = _merge(config, {"instruments": off})
    asm = await assemble(loaded_config(config), demo=True, speed=speed, record=record, wire=bool(wire))
    bench, world = asm.bench, asm.world
    assert world is not None
    if wire == "load":
        for src in (SimLabJackSource(world), SimMpptSource(world)):
            bench.sources[src.id] = src
            bench.add_channels(src.channels())
    if temperatures and isinstance(bench.sources.get("mppt"), SimMpptSource):
        bench.sources["mppt"] = MpptWithTemperatures(world)
        bench.add_channels(bench.sources["mppt"].channels())
    try:
        await bench.start()
        yield asm
    finally:
        await asyncio.wait_for(asm.aclose(), 30)


def supervisor(asm: Assembly) -> Supervisor:
    sup = asm.bench.services.supervisor
    assert isinstance(sup, Supervisor)
    return sup


def runner(asm: Assembly) -> ProgramRunner:
    r = asm.bench.services.programs
    assert isinstance(r, ProgramRunner)
    return r


def source(asm: Assembly, sid: str) -> Any:
    src = asm.bench.sources.get(sid)
    if src is None:
        pytest.fail(f"no {sid} on this bench")
    return src


def sensor(asm: Assembly, sid: str, which: str = "v_sensor") -> SensorModel:
    """The sensor model of an in-process instrument (wire-level ones are steered elsewhere)."""
    model = getattr(source(asm, sid), which, None)
    if not isinstance(model, SensorModel):
        pytest.fail(f"{sid} is not an in-process simulated instrument (the test must use wire=False for it)")
    return model


def mute(asm: Assembly, sid: str) -> Callable[[], None]:
    """Make an in-process instrument stop publishing (as if its cable were pulled)."""
    src = source(asm, sid)
    if not hasattr(src, "poll"):
        pytest.fail(f"{sid} is not an in-process simulated instrument (the test must use wire=False for it)")
    original = src.poll
    src.poll = lambda t_ns: []
    return lambda: setattr(src, "poll", original)


def slack_s(asm: Assembly) -> float:
    """Bench seconds to allow on top of a nominal reaction time for processing latency: 1 s, or
    :data:`REAL_SLACK_S` of real time when that is more at this ``speed``."""
    return max(1.0, REAL_SLACK_S * asm.bench.clock.speed)


async def wait_samples(asm: Assembly, channel: str, n: int = 3, timeout: float = 30.0) -> None:
    """Wait until ``channel`` has ``n`` samples in the display buffers."""

    def enough() -> bool:
        buf = asm.bench.display.get(channel)
        return buf is not None and len(buf) >= n

    await async_wait_until(enough, timeout, what=f"{n} samples of {channel}")


async def load_on(asm: Assembly, amps: float = 5.0) -> None:
    load = asm.bench.load
    assert load is not None
    await async_wait_until(lambda: load.input_on is not None, 30, what="load connected")
    await load.set_remote(True)
    await load.set_current(amps)
    await load.set_input(True)
    sup = supervisor(asm)
    await async_wait_until(lambda: sup.armed, 30, what="supervisor armed")


async def wait_trip_off(asm: Assembly, timeout: float = 30.0) -> tuple[Trip, float]:
    """Wait for a trip whose load-off was acknowledged; returns it and the real time it took."""
    sup = supervisor(asm)
    t0 = time.monotonic()
    await async_wait_until(
        lambda: sup.trip_state is not None and sup.trip_state.load_off, timeout, what="trip + load off"
    )
    trip = sup.trip_state
    assert trip is not None
    return trip, time.monotonic() - t0


def assert_load_off(asm: Assembly, trip: Trip, *, within_real_s: float = 1.0) -> None:
    """The load input is off, the battery sees no load current, and it went off in time: within
    1 s of *real* time, the requirement (at ``--speed N`` that is N bench seconds)."""
    load = asm.bench.load
    assert load is not None
    assert load.input_on is False
    assert trip.off_t_ns is not None
    off_after = (trip.off_t_ns - trip.t_ns) / NS
    real_s = off_after / asm.bench.clock.speed
    assert real_s <= within_real_s, f"load off {real_s:.3f} s (real) after the trip"
    if asm.world is not None:
        assert asm.world.battery._s.currents.get("load", 0.0) == 0.0
