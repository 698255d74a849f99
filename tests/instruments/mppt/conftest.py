"""Fixtures for the MPPT tests: a hand-driven clock so the simulated physics is deterministic."""

from __future__ import annotations

import asyncio
import time

import pytest

from benchgui.simbench.world import SimWorld, WorldParams


class ManualClock:
    """Bench time that moves only when the test says so (``advance``); ``sleep`` yields."""

    speed = 1.0

    def __init__(self) -> None:
        self.t = 0.0
        self._start_ns = time.time_ns()

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def now_ns(self) -> int:
        return self._start_ns + int(self.t * 1e9)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


def make_world(clock: ManualClock, **params: object) -> SimWorld:
    return SimWorld(WorldParams(**params), clock)  # type: ignore[arg-type]
