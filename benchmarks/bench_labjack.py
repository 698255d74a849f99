"""LabJack T7: Modbus TCP polls per second against the simulator, and the cost of scaling.

* Polls/s for 4 AINs read in one transaction (one multi-register read), the Modbus backend
  against the simulated T7 on a loopback port, both in this process; the baseline reads the same
  four AINs one transaction each. Target ≥ 500/s (a real T7 on Ethernet adds ~1 ms per
  command-response, so the simulator must not be what limits a 100 Hz bench).
* Scaling cost per sample (volts → value + over-range flag), vectorised over a block of polls,
  against a naive per-sample Python loop with the same precomputed coefficients. Target ≤ 1 µs.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
from common import Result

from benchgui.config.schema import LabJackChannelSection, TransferSection
from benchgui.instruments.labjack.backends.modbus import ModbusBackend
from benchgui.instruments.labjack.plan import AcquisitionPlan
from benchgui.instruments.labjack.scaling import Scaler, channel_affine
from benchgui.instruments.labjack.sim import T7Server
from benchgui.instruments.labjack.simdevice import SimT7, Wiring
from benchgui.model import SampleFlag
from benchgui.simbench.world import SimWorld, WorldParams

AINS = [0, 1, 2, 3]


def _channels() -> list[LabJackChannelSection]:
    return [
        LabJackChannelSection(
            quantity="battery.voltage", ain=2, transfer=TransferSection(kind="divider", ratio=5.0)
        ),
        LabJackChannelSection(
            quantity="battery.current",
            ain=1,
            range_v=1.0,
            transfer=TransferSection(kind="la55p", r_m_ohm=100.0),
        ),
        LabJackChannelSection(
            quantity="aux.a", ain=0, transfer=TransferSection(kind="linear", gain=2.0, offset=0.1)
        ),
        LabJackChannelSection(quantity="aux.b", ain=3, range_v=0.1),
    ]


async def _polls(seconds: float) -> tuple[float, float]:
    world = SimWorld(WorldParams(sun=False))
    device = SimT7(world, Wiring.bench())
    # the software's throughput (backend + simulator), so without the device's own
    # command-response time (~5.8 ms for 4 AINs at index 8), which would be all this measured
    device.timing = False
    server = T7Server(device, "127.0.0.1", 0)
    await server.start()
    b = ModbusBackend("127.0.0.1", server.port)
    await b.open()
    try:
        for _ in range(50):  # warm up
            await b.read_ains(AINS)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            await b.read_ains(AINS)
            n += 1
        one = n / (time.perf_counter() - t0)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for a in AINS:
                await b.read_ains([a])
            n += 1
        separate = n / (time.perf_counter() - t0)
    finally:
        await b.close()
        await server.stop()
    return one, separate


def _scaling(n_polls: int) -> tuple[float, float, float]:
    chans = _channels()
    scaler = Scaler.for_channels(chans)
    volts = np.random.default_rng(1).uniform(-1.2, 3.0, size=(n_polls, len(chans)))
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        values = scaler.values(volts)
        flags = scaler.flags(volts)
    vec_ns = (time.perf_counter() - t0) / (reps * volts.size) * 1e9
    coeffs = [channel_affine(c) for c in chans]
    limits = [0.98 * c.range_v for c in chans]
    over = int(SampleFlag.OVER_RANGE)
    rows = volts.tolist()
    t0 = time.perf_counter()
    out = []
    for row in rows:  # the naive way: one Python expression per sample
        for j, v in enumerate(row):
            a, b = coeffs[j]
            out.append((a * v + b, over if abs(v) >= limits[j] else 0))
    naive_ns = (time.perf_counter() - t0) / volts.size * 1e9
    assert np.allclose(values.ravel(), [x for x, _ in out])
    assert flags.ravel().tolist() == [f for _, f in out]
    # what the source does once per poll: scale 1×4 and build the Sample tuples
    plan = AcquisitionPlan.build(chans)
    one = volts[0].tolist()
    t0 = time.perf_counter()
    for _ in range(2000):
        v, _, f = plan.scale(one)
        plan.samples(v, f, 0)
    per_poll_us = (time.perf_counter() - t0) / 2000 * 1e6
    return vec_ns, naive_ns, per_poll_us


def run(quick: bool) -> list[Result]:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    one, separate = asyncio.run(_polls(1.0 if quick else 3.0))
    vec_ns, naive_ns, per_poll_us = _scaling(20_000 if quick else 200_000)
    return [
        Result(
            "Modbus TCP polls/s, 4 AINs in one transaction (simulator)",
            one,
            "polls/s",
            ">= 500",
            one >= 500,
        ),
        Result(
            "  same 4 AINs one transaction each (baseline)",
            separate,
            "polls/s",
            "",
            None,
            note=f"one transaction per poll is {one / separate:.1f}x the polls of one per AIN",
        ),
        Result(
            "scaling per sample, vectorised (value + over-range flag)",
            vec_ns / 1000,
            "µs",
            "<= 1 µs",
            vec_ns <= 1000,
            baseline=naive_ns / 1000,
            note="baseline: naive per-sample Python loop with the same precomputed coefficients",
        ),
        Result("per poll: scale 4 channels + build Samples (source path)", per_poll_us, "µs", "", None),
    ]
