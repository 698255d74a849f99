"""How the assembly gets an EA load: on hardware, or as the wire-level simulator on a real pty.

``simulated`` starts :class:`~.sim.EaSimulator` in-process and returns the same
:class:`~.source.LoadSource` that runs on hardware, connected to the pty through a real
:class:`~benchgui.instruments.transport.SerialTransport` — so the demo, the soak and the safety
tests exercise the real driver and codec, against a device that needs real time: answers are
paced at the configured baud rate with the simulator's default turnaround, unless the world says
otherwise (``[simulation] pacing = false``, for tests where timing is irrelevant).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from benchgui.config.schema import EaSection
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.simdevice import SimIdentity
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.transport import SerialSettings, Transport, transport_for
from benchgui.simbench.world import SimWorld


def serial_settings(section: EaSection) -> SerialSettings:
    return SerialSettings(baud=section.baud, bytesize=8, parity=section.parity, stopbits=1)


def source_for(section: EaSection, transport: Transport) -> LoadSource:
    return LoadSource(
        transport,
        load_profile(section.profile),
        node=section.node,
        poll_interval_s=section.poll_interval_s,
        timeout_s=section.timeout_s,
        retries=section.retries,
        pipeline_depth=section.pipeline_depth,
        auto_remote=section.auto_remote,
    )


async def simulated(
    world: SimWorld, section: EaSection | None, closers: list[Callable[[], Awaitable[None]]]
) -> LoadSource:
    section = section or EaSection()
    profile = load_profile(section.profile)
    noms = profile.default_nominals
    identity = SimIdentity(
        nominal_voltage=noms.get("voltage", 160.0),
        nominal_current=noms.get("current", 60.0),
        nominal_power=noms.get("power", 400.0),
    )
    # a link in a private directory: the path stays the same when the simulated device is
    # unplugged and plugged back (fault injection, the soak), as a udev symlink would on the bench
    tmp = Path(tempfile.mkdtemp(prefix="benchgui-ea-"))
    options = SimOptions(baud=section.baud, pacing=world.params.pacing)
    sim = EaSimulator(world, profile, identity, options, tmp / "ea.pty")
    path = await sim.start()

    async def close() -> None:
        await sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    closers.append(close)
    source = source_for(section, transport_for(path, serial_settings(section)))
    source.simulator = sim  # for tests and fault injection
    return source


def hardware(section: EaSection, secrets: Mapping[str, str]) -> LoadSource:
    return source_for(section, transport_for(section.port, serial_settings(section)))
