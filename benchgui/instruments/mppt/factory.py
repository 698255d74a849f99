"""How the assembly gets an MPPT source: a real serial port, or the simulator on a real pty.

``simulated`` starts :class:`~benchgui.instruments.mppt.sim.MpptSimServer` in-process on a
pseudo-terminal and returns the *real* :class:`MpptSource` connected to it through a
:class:`SerialTransport`, so the demo bench exercises the same codec, driver and reconnect
code as the hardware. The simulator also runs the charger that charges the shared battery.
It writes at the configured baud rate with the device's turnaround (see
:mod:`benchgui.instruments.mppt.sim`), as the real line would, unless the world says otherwise
(``[simulation] pacing = false``, for tests where timing is irrelevant).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchgui.config.schema import MpptSection
from benchgui.instruments.mppt.sim import MpptSimServer
from benchgui.instruments.mppt.sim_tree import SimOptions
from benchgui.instruments.mppt.source import MpptSource
from benchgui.instruments.transport import SerialSettings, SerialTransport, transport_for
from benchgui.simbench.world import SimWorld


def _source(section: MpptSection, port: str) -> MpptSource:
    transport = transport_for(port, SerialSettings(baud=section.baud))
    return MpptSource(
        transport,
        period_s=section.publication_period_s,
        timeout_s=section.timeout_s,
        extra_items=section.extra_items,
    )


async def simulated(
    world: SimWorld, section: MpptSection | None, closers: list[Callable[[], Awaitable[None]]]
) -> MpptSource:
    section = section or MpptSection()
    # a link in a private directory: the path stays the same when the simulated device is
    # unplugged and plugged back (fault injection), as a udev symlink would on the bench
    tmp = Path(tempfile.mkdtemp(prefix="benchgui-mppt-"))
    server = MpptSimServer(
        world,
        tmp / "mppt.pty",
        SimOptions(period_s=section.publication_period_s),
        pace_baud=float(section.baud) if world.params.pacing else None,
    )
    path = await server.start()

    async def close() -> None:
        await server.aclose()
        shutil.rmtree(tmp, ignore_errors=True)

    closers.append(close)
    source = MpptSource(
        SerialTransport(path, SerialSettings(baud=section.baud)),
        period_s=section.publication_period_s,
        timeout_s=section.timeout_s,
        extra_items=section.extra_items,
    )
    source.simulator = server  # for tests and fault injection
    return source


def hardware(section: MpptSection, secrets: dict[str, str]) -> MpptSource:
    return _source(section, section.port)
