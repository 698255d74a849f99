"""The LabJack's contract with :mod:`benchgui.assembly`: a simulated or a real T7 as a Source.

``simulated`` starts the Modbus TCP simulator in-process (on its own thread, as a separate device
would be) on a free loopback port and returns the
real :class:`LabJackSource` with the Modbus TCP backend connected to it — the same code path as
a T7 on Ethernet. ``hardware`` picks the backend the configuration names (``ljm`` or
``modbus``); a missing LJM library shows up as the source's status, never as a failed start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from benchgui.config.schema import LabJackSection
from benchgui.instruments.base import Source
from benchgui.instruments.labjack.sim import ThreadedT7Server
from benchgui.instruments.labjack.simdevice import Wiring
from benchgui.instruments.labjack.source import LabJackSource
from benchgui.simbench.world import SimWorld


async def simulated(
    world: SimWorld,
    section: LabJackSection | None,
    closers: list[Callable[[], Awaitable[None]]],
) -> Source:
    section = section or LabJackSection()
    server = ThreadedT7Server(world, Wiring.from_channels(section.channels), "127.0.0.1", 0)
    server.device.timing = world.params.pacing  # a T7's command-response time (simdevice.py)
    port = await server.start()
    closers.append(server.stop)
    source = LabJackSource(replace(section, backend="modbus", address="127.0.0.1", port=port, unit_id=1))
    source.simulator = server  # for tests and fault injection
    return source


def hardware(section: LabJackSection, secrets: dict[str, str]) -> Source:
    del secrets  # a T7 has no credentials
    return LabJackSource(section)
