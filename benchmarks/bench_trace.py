"""Wire traces: what recording every byte costs.

1. The writer alone: records/s for 16-byte reads/writes (a status query and its answer), each
   line formatted, written and flushed — the trace keeps everything up to a crash.
2. The EA driver's ``read_actual()`` transactions/s over a real pty against the *unpaced*
   simulator (no wire time, so only CPU shows), with and without ``--trace``, in the same run:
   the baseline column is the run without a trace, the ratio < 1 is the cost.

The paced 57600 baud line of ``bench_ea`` allows ~327 transactions/s; the trace must leave far
more than that to spare (target: ≥ 5 × the wire limit with the trace on).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from common import Result

WIRE_LIMIT = 57600 / (16 * 11)


def writer_rate(n: int, tmp: Path) -> float:
    from benchgui.instruments.trace import TraceWriter

    w = TraceWriter(tmp / "w.trace")
    hook = w.device("load", {"kind": "serial"})
    data = bytes(range(16))
    t0 = time.perf_counter()
    for i in range(n):
        hook(bool(i & 1), data)
    dt = time.perf_counter() - t0
    w.close()
    return n / dt


async def driver_rate(seconds: float, trace: Path | None) -> float:
    from benchgui.core.wire_trace import transport_settings
    from benchgui.instruments.ea.driver import EaDriver
    from benchgui.instruments.ea.loader import load_profile
    from benchgui.instruments.ea.sim import EaSimulator, SimOptions
    from benchgui.instruments.trace import TraceWriter
    from benchgui.instruments.transport import SerialSettings, SerialTransport
    from benchgui.simbench.world import SimWorld, WorldParams

    profile = load_profile("el3000")
    sim = EaSimulator(SimWorld(WorldParams(sun=False)), profile, options=SimOptions(pacing=False))
    path = await sim.start()
    transport = SerialTransport(path, SerialSettings(57600, 8, "O", 1))
    writer = TraceWriter(trace) if trace is not None else None
    if writer is not None:
        transport.trace = writer.device("load", transport_settings(transport))
    driver = EaDriver(transport, profile, timeout_s=0.5)
    await driver.open()
    try:
        await driver.identify()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            await driver.read_actual(with_status=False)
            n += 1
        return n / (time.perf_counter() - t0)
    finally:
        await driver.close()
        await sim.stop()
        if writer is not None:
            writer.close()


def run(quick: bool) -> list[Result]:
    seconds = 1.0 if quick else 3.0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rec = writer_rate(20_000 if quick else 100_000, tmp)
        plain = asyncio.run(driver_rate(seconds, None))
        traced = asyncio.run(driver_rate(seconds, tmp / "d.trace"))
    return [
        Result("trace writer, 16-byte records written and flushed", rec, "1/s", ">= 20,000", rec >= 20_000),
        Result(
            "EA read_actual() transactions/s unpaced, --trace on (baseline: off)",
            traced,
            "1/s",
            f">= {5 * WIRE_LIMIT:.0f}",
            traced >= 5 * WIRE_LIMIT,
            baseline=plain,
            note=f"wire limit at 57600 8O1: {WIRE_LIMIT:.0f}/s",
        ),
    ]
