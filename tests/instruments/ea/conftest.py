"""A simulator on a real pty and the real driver on a real SerialTransport, unpaced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchgui.instruments.ea.driver import DEFAULT_SERIAL, EaDriver
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.objects import Profile
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.simdevice import SimIdentity
from benchgui.instruments.transport import SerialTransport
from benchgui.simbench.world import SimWorld, WorldParams

SETTINGS = DEFAULT_SERIAL  # 57600 8O1 as on the real device


@pytest.fixture
def profile() -> Profile:
    return load_profile("el3000")


@pytest.fixture
def world() -> SimWorld:
    return SimWorld(WorldParams(sun=False, initial_soc=0.8))


@pytest.fixture
async def sim(world: SimWorld, profile: Profile, tmp_path: Path) -> AsyncIterator[EaSimulator]:
    s = EaSimulator(
        world, profile, SimIdentity(serial="2649810226"), SimOptions(pacing=False), link=tmp_path / "ea.pty"
    )
    await s.start()
    yield s
    await s.stop()


class Trace(list[tuple[str, bytes]]):
    """Collects the driver's telegram trace: ``driver.trace = Trace().record``."""

    def record(self, direction: str, data: bytes) -> None:
        self.append((direction, data))

    def sent(self) -> list[bytes]:
        return [b for d, b in self if d == "tx"]


@pytest.fixture
async def driver(sim: EaSimulator, profile: Profile) -> AsyncIterator[EaDriver]:
    d = EaDriver(SerialTransport(sim.path, SETTINGS), profile, timeout_s=1.0, retries=2)
    d.trace = Trace().record
    await d.open()
    yield d
    await d.close()


def trace_of(driver: EaDriver) -> Trace:
    return driver.trace.__self__  # type: ignore[union-attr, return-value]
