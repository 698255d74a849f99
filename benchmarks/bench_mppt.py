"""MPPT (ThingSet text): codec throughput, request round trip and fast-bench statement delivery.

* codec: time to decode one publication statement, fed in 64-byte chunks as a serial port
  delivers them; baseline: the seed script's way (split lines, ``json.loads`` after ``# ``).
* round trip: ``?info`` over a real pty to the simulator, median, without line pacing and at
  115200 baud.
* delivery at ``--speed 200``: statements received by the source per statement sent (1.0 = none
  lost) — the demo bench at high speed depends on it.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import Result

from benchgui.clock import ScaledClock
from benchgui.instruments.mppt.driver import MpptDriver
from benchgui.instruments.mppt.protocol import ClientCodec
from benchgui.instruments.mppt.sim import MpptSimServer
from benchgui.instruments.mppt.sim_model import MpptModel, SimOptions
from benchgui.instruments.mppt.source import MpptSource
from benchgui.instruments.transport import SerialTransport
from benchgui.simbench.world import SimWorld, WorldParams


def _stream(n: int) -> bytes:
    model = MpptModel(SimWorld(WorldParams()))
    return model.statement() * n


def _codec_rate(data: bytes, n: int) -> float:
    codec = ClientCodec()
    t0 = time.perf_counter()
    got = 0
    for i in range(0, len(data), 64):
        codec.feed(data[i : i + 64])
        got += len(codec.events())
    dt = time.perf_counter() - t0
    assert got == n
    return n / dt


def _naive_rate(data: bytes, n: int) -> float:
    t0 = time.perf_counter()
    got = 0
    buf = b""
    for i in range(0, len(data), 64):
        buf += data[i : i + 64]
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line[0:2] == b"# ":
                json.loads(line[2:])
                got += 1
    dt = time.perf_counter() - t0
    assert got == n
    return n / dt


async def _round_trip(pace: float | None, count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        world = SimWorld(WorldParams())
        async with MpptSimServer(
            world, Path(tmp) / "m.pty", SimOptions(period_s=3600), pace_baud=pace
        ) as sim:
            t = SerialTransport(sim.path)
            await t.open()
            async with MpptDriver(t) as d:
                times = []
                for _ in range(count):
                    t0 = time.perf_counter()
                    await d.get("info")
                    times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


class _Sink:
    def __init__(self) -> None:
        self.n = 0

    def publish(self, samples: object) -> None:
        self.n += 1

    def set_status(self, status: object) -> None:
        pass

    def record_event(self, kind: str, text: str, data: object = None) -> None:
        pass

    def add_channels(self, channels: object) -> None:
        pass

    def update_session_info(self) -> None:
        pass


async def _delivery(speed: float, seconds: float) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        clock = ScaledClock(speed)
        world = SimWorld(WorldParams(speed=speed), clock)
        async with MpptSimServer(world, Path(tmp) / "m.pty", SimOptions(period_s=1.0)) as sim:
            source = MpptSource(SerialTransport(sim.path), period_s=1.0)
            sink = _Sink()
            task = asyncio.create_task(source.run(sink, clock))  # type: ignore[arg-type]
            async with asyncio.timeout(60):  # a source that cannot connect fails the benchmark
                while not source.snapshot.connected:
                    if task.done():
                        task.result()  # raises what stopped the source
                    await asyncio.sleep(0.01)
            sent0, got0 = sim.statements_sent, source.snapshot.statements
            await asyncio.sleep(seconds)
            sent, got = sim.statements_sent - sent0, source.snapshot.statements - got0
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return got / max(sent, 1), sent


def run(quick: bool) -> list[Result]:
    n = 2000 if quick else 20000
    data = _stream(n)
    # best of 3 (the machine is shared): time per statement, ours and the naive baseline's
    us = min(1e6 / _codec_rate(data, n) for _ in range(3))
    naive = min(1e6 / _naive_rate(data, n) for _ in range(3))
    fast = asyncio.run(_round_trip(None, 20 if quick else 200))
    paced = asyncio.run(_round_trip(115200.0, 10 if quick else 50))
    ratio, sent = asyncio.run(_delivery(200.0, 2.0 if quick else 10.0))
    return [
        Result(
            "codec: time to decode one statement (64-byte chunks)",
            us,
            "us",
            "<= 100 us",  # 10 000/s: 10x the demo bench at --speed 1000
            us <= 100,
            baseline=naive,
            note="baseline: the seed script's split + json.loads (no CR, noise or length checks)",
        ),
        Result("request round trip ?info over pty (no pacing), median", fast, "ms", "<= 10 ms", fast <= 10),
        Result("request round trip ?info at 115200 baud, median", paced, "ms", "", None),
        Result(
            f"statements delivered at speed 200 ({sent} sent)",
            ratio,
            "ratio",
            ">= 0.99",
            ratio >= 0.99,
        ),
    ]
