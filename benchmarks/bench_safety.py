"""Safety supervisor: what it costs on the publish path, and how fast a trip switches the load off.

* cost per published batch (3 samples, as the LabJack publishes) of the supervisor's listener
  while armed, against the bench publishing to the display buffers alone (the baseline);
* real time from an emergency stop to the load confirming input off, headless, in-process load.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time

from common import Result

from benchgui.clock import ScaledClock
from benchgui.config.schema import Config
from benchgui.core.bench import Bench
from benchgui.core.safety import Supervisor
from benchgui.instruments.simulated import SimLoadSource, battery_channels
from benchgui.model import Sample
from benchgui.simbench.world import SimWorld


def _batches(n: int, t0: int) -> list[list[Sample]]:
    return [
        [
            Sample("battery.voltage.labjack", t0 + k * 100_000_000, 12.3),
            Sample("battery.current.labjack", t0 + k * 100_000_000, -5.0),
            Sample("battery.power.labjack", t0 + k * 100_000_000, -61.5),
        ]
        for k in range(n)
    ]


async def _publish_cost(n: int) -> tuple[float, float]:
    clock = ScaledClock(1.0)
    world = SimWorld(clock=clock)
    load = SimLoadSource(world)
    bench = Bench(clock, [load], load=load)
    bench.add_channels(battery_channels("labjack", 10))
    batches = _batches(n, clock.now_ns())
    t = time.perf_counter()
    for b in batches:
        bench.publish(b)
    base = (time.perf_counter() - t) / n
    sup = Supervisor.attach(bench, Config(), handle_signals=False)
    await load.set_input(True)
    sup._update_armed()
    assert sup.armed
    bench2 = bench  # same buffers, now with the supervisor listening
    t = time.perf_counter()
    for b in _batches(n, clock.now_ns()):
        bench2.publish(b)
    with_sup = (time.perf_counter() - t) / n
    await load.set_input(False)
    await sup.aclose()
    return with_sup - base, base


async def _trip_latency(trips: int) -> list[float]:
    clock = ScaledClock(1.0)
    world = SimWorld(clock=clock)
    load = SimLoadSource(world)
    bench = Bench(clock, [load], load=load)
    sup = Supervisor.attach(bench, Config(), handle_signals=False)
    out = await _stops(load, sup, trips, poll_s=0)
    await sup.aclose()
    return out


async def _stops(load, sup, trips: int, poll_s: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Switch the input on, press the emergency stop, time until the load confirms it off."""
    out = []
    for _ in range(trips):
        await load.set_current(2.0)
        await load.set_input(True)
        t = time.perf_counter()
        sup.emergency_stop("benchmark")
        while not (sup.trip_state and sup.trip_state.load_off):
            await asyncio.sleep(poll_s)
        out.append(time.perf_counter() - t)
        sup.acknowledge()
    return out


async def _trip_latency_pty(trips: int) -> list[float]:
    """The same over the EA load's wire: real driver, real pty, the simulator answering."""
    from benchgui.assembly import assemble
    from benchgui.config import LoadedConfig
    from benchgui.config.loader import parse_config

    off = {"enabled": False}
    cfg = parse_config({"instruments": {"labjack": off, "mppt": off}, "simulation": {"sun": False}})
    asm = await assemble(LoadedConfig(cfg, None, {}), demo=True, record=False, wire=True)
    bench = asm.bench
    load, sup = bench.load, bench.services.supervisor
    assert load is not None
    try:
        await bench.start()
        deadline = time.monotonic() + 15
        while load.input_on is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        out = await _stops(load, sup, trips, poll_s=0.0005)
    finally:
        await asm.aclose()
    return out


def run(quick: bool) -> list[Result]:
    n = 5_000 if quick else 50_000
    logging.getLogger("benchgui").setLevel(logging.CRITICAL)  # 200 trips would flood the log
    try:
        extra, base = asyncio.run(_publish_cost(n))
        lat = asyncio.run(_trip_latency(20 if quick else 200))
        lat_pty = asyncio.run(_trip_latency_pty(5 if quick else 30))
    finally:
        logging.getLogger("benchgui").setLevel(logging.NOTSET)
    return [
        Result(
            "supervisor listener per 3-sample batch (armed)",
            extra * 1e6,
            "µs",
            "<= 50 µs",
            extra * 1e6 <= 50,
            baseline=base * 1e6,
            note="baseline: publish to the display buffers alone; 50 µs = 5 % CPU at 1000 batches/s",
        ),
        Result(
            "emergency stop → load input off (median, headless)",
            statistics.median(lat) * 1e3,
            "ms",
            "<= 10 ms",
            statistics.median(lat) * 1e3 <= 10,
        ),
        Result("emergency stop → load input off (max)", max(lat) * 1e3, "ms", "<= 1000 ms", max(lat) <= 1.0),
        Result(
            "emergency stop → input off over the EA pty (median)",
            statistics.median(lat_pty) * 1e3,
            "ms",
            "<= 100 ms",
            statistics.median(lat_pty) <= 0.1,
            note="real driver and codec, simulator unpaced; one write + acknowledgement",
        ),
        Result(
            "emergency stop → input off over the EA pty (max)",
            max(lat_pty) * 1e3,
            "ms",
            "<= 1000 ms",
            max(lat_pty) <= 1.0,
        ),
    ]
