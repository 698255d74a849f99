"""A simulated T7 on a loopback port, on a simulated battery, for backend and source tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from benchgui.clock import ScaledClock
from benchgui.instruments.labjack.sim import T7Server
from benchgui.instruments.labjack.simdevice import SimT7, Wiring
from benchgui.simbench.world import SimWorld, WorldParams

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # lost connections are the point here


@pytest.fixture
def world() -> SimWorld:
    return SimWorld(WorldParams(sun=False, initial_soc=0.8), ScaledClock(1.0))


@pytest.fixture
async def t7(world: SimWorld) -> AsyncIterator[T7Server]:
    server = T7Server(SimT7(world, Wiring.bench(divider_ratio=5.0, r_m_ohm=100.0)), "127.0.0.1", 0)
    await server.start()
    yield server
    await server.stop()
