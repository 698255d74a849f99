"""The ports service: list ports, save a port choice, reconnect the instrument there (real ptys)."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchgui.clock import ScaledClock
from benchgui.config.writer import ConfigFile
from benchgui.core.bench import Bench
from benchgui.core.ports import PortService, SerialPort
from benchgui.errors import ConfigError
from benchgui.instruments.ea.driver import DEFAULT_SERIAL
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.simdevice import SimIdentity
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.transport import SerialTransport, list_serial_ports
from benchgui.model import InstrumentState
from benchgui.simbench.world import SimWorld, WorldParams
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(120)


@dataclass
class TwoLoads:
    """Two simulated loads on two ptys (serials A and B); the bench's load source on A."""

    a: EaSimulator
    b: EaSimulator
    bench: Bench
    source: LoadSource
    config: Path


def write_config(path: Path, port: str) -> Path:
    path.write_text(f'[instruments.ea]\nport = "{port}"\n\n[instruments.mppt]\nenabled = false\n')
    return path


@pytest.fixture
async def loads(tmp_path: Path) -> AsyncIterator[TwoLoads]:
    clock = ScaledClock(1.0)
    world = SimWorld(WorldParams(sun=False), clock)
    profile = load_profile("el3000")
    sims = []
    for name in ("A", "B"):
        sim = EaSimulator(
            world, profile, SimIdentity(serial=name), SimOptions(pacing=False), link=tmp_path / f"{name}.pty"
        )
        await sim.start()
        sims.append(sim)
    source = LoadSource(SerialTransport(sims[0].path, DEFAULT_SERIAL), profile, poll_interval_s=0.05)
    bench = Bench(clock, [source], load=source)
    await bench.start()
    try:
        yield TwoLoads(sims[0], sims[1], bench, source, write_config(tmp_path / "config.toml", sims[0].path))
    finally:
        await bench.stop()
        for sim in sims:
            await sim.stop()


async def connected_to(source: LoadSource, serial: str) -> None:
    await async_wait_until(
        lambda: (
            source.status.state is InstrumentState.CONNECTED and f"serial {serial} " in source.status.text
        ),
        30,
        what=f"connected to {serial}",
    )


async def test_set_port_saves_and_reconnects_there(loads: TwoLoads) -> None:
    service = PortService(loads.bench, ConfigFile(loads.config))
    await connected_to(loads.source, "A")
    assert [t.key for t in service.targets] == ["ea"]  # the MPPT is not on this bench
    assert service.current_port("ea") == loads.a.path
    await loads.source.set_current(1.0)
    await loads.source.set_input(True)
    assert loads.a.device.input_on
    events = []
    loads.bench.event_recorded.connect(events.append)
    assert await service.set_port("ea", loads.b.path) is True
    assert tomllib.loads(loads.config.read_text())["instruments"]["ea"]["port"] == loads.b.path
    assert not loads.a.device.input_on  # the old load was left safe
    await connected_to(loads.source, "B")
    served = loads.b.device.requests
    await async_wait_until(lambda: loads.b.device.requests > served + 3, 30, what="polling B")
    assert service.current_port("ea") == loads.b.path
    assert any(e.kind == "instrument.port" and loads.b.path in e.text for e in events)


async def test_a_choice_that_cannot_be_saved_changes_nothing(loads: TwoLoads) -> None:
    await connected_to(loads.source, "A")
    service = PortService(loads.bench, ConfigFile(None))  # the built-in defaults: no file
    with pytest.raises(ConfigError, match="no configuration file"):
        await service.set_port("ea", loads.b.path)
    with pytest.raises(ConfigError, match=r"instruments\.ea\.port"):
        await PortService(loads.bench, ConfigFile(loads.config)).set_port("ea", "  ")
    with pytest.raises(ConfigError, match="not a serial instrument"):
        await service.set_port("labjack", loads.b.path)
    assert service.current_port("ea") == loads.a.path
    assert loads.source.status.state is InstrumentState.CONNECTED


async def test_refresh_lists_off_the_loop_and_announces(loads: TwoLoads) -> None:
    found = [(loads.b.path, "FT232R USB UART (serial A10K)")]  # this machine has no USB adapters
    service = PortService(loads.bench, ConfigFile(loads.config), lister=lambda: found)
    seen: list[list[SerialPort]] = []
    service.ports_changed.connect(seen.append)
    ports = await service.refresh()
    assert ports == [SerialPort(loads.b.path, "FT232R USB UART (serial A10K)")]
    assert seen == [ports]
    assert ports[0].label == f"{loads.b.path} — FT232R USB UART (serial A10K)"
    real = await PortService(loads.bench, ConfigFile(loads.config)).refresh()
    assert [p.device for p in real] == [d for d, _ in list_serial_ports()]
