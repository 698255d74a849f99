"""Build a running bench from the configuration: the composition root below the GUI and CLI.

With ``demo`` (or when no instrument is configured) the simulated bench is used: one
:class:`~benchgui.simbench.SimWorld` shared by every simulated instrument. Everything else —
drivers, simulators, their ports — is created here and torn down by :meth:`Assembly.aclose`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from benchgui.clock import Clock, ScaledClock, WallClock
from benchgui.config import LoadedConfig, paths
from benchgui.config.identity import bench_name
from benchgui.config.writer import ConfigFile
from benchgui.core.ain_settings import AinSettings
from benchgui.core.bench import Bench
from benchgui.core.forwarder import ForwarderService
from benchgui.core.ports import PortService
from benchgui.core.programs.runner import ProgramRunner
from benchgui.core.recorder import Recorder
from benchgui.core.safety import Supervisor
from benchgui.core.safety_settings import SafetySettings
from benchgui.core.soc_service import attach_soc
from benchgui.core.wire_trace import attach_trace
from benchgui.errors import ConfigError
from benchgui.instruments import simulated as inproc
from benchgui.instruments.base import LoadControl, Source
from benchgui.instruments.ea import factory as ea_factory
from benchgui.instruments.labjack import factory as labjack_factory
from benchgui.instruments.mppt import factory as mppt_factory
from benchgui.instruments.trace import TraceWriter
from benchgui.outputs import protected
from benchgui.recording.influx_config import influx_target
from benchgui.simbench.world import SimWorld, WorldParams

log = logging.getLogger(__name__)


@dataclass
class Assembly:
    bench: Bench
    world: SimWorld | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    trace: TraceWriter | None = None  # --trace: every link's bytes (core/wire_trace.py)

    async def aclose(self) -> None:
        """Stop the bench (load off, session ended, store flushed), then the simulators."""
        services = self.bench.services
        for service in (services.programs, services.supervisor):  # end a program, load off, reason recorded
            if service is not None:
                with contextlib.suppress(Exception):
                    await service.aclose()
        await self.bench.stop()
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                await close()
        self.closers.clear()
        if self.trace is not None:  # last: the load-off telegrams of the stop are in it
            self.trace.close()


def store_path_for(loaded: LoadedConfig, override: str | Path | None = None) -> Path:
    if override:
        return Path(override)
    if loaded.config.recording.store_path:
        return Path(loaded.config.recording.store_path).expanduser()
    return paths.default_store_path()


def uses_simulation(loaded: LoadedConfig, demo: bool) -> bool:
    return demo or not loaded.config.instruments.any_enabled()


async def assemble(
    loaded: LoadedConfig,
    *,
    demo: bool = False,
    speed: float | None = None,
    store_path: str | Path | None = None,
    record: bool = True,
    wire: bool = True,
    trace: str | Path | None = None,
) -> Assembly:
    """Create the bench (not started) with its instruments and recorder.

    ``wire=False`` makes the simulated bench use in-process instruments (no ptys, no sockets):
    the fastest path, for core tests and benchmarks. ``trace`` records every link's bytes into
    that file (the caller has checked it is not an input: ``cli/_common.check_outputs``).
    """
    cfg = loaded.config
    writer = TraceWriter(trace) if trace else None  # an unwritable trace fails before anything starts
    simulated = uses_simulation(loaded, demo)
    recorder = None
    if record:
        recorder = Recorder(store_path_for(loaded, store_path), cfg.recording.flush_interval_s)
    if simulated:
        sim = cfg.simulation
        s = speed if speed is not None else sim.speed
        clock: Clock = ScaledClock(s)
        world = SimWorld(
            WorldParams(
                speed=s,
                seed=sim.seed,
                chemistry=sim.chemistry,
                capacity_ah=sim.capacity_ah,
                initial_soc=sim.initial_soc_pct / 100.0,
                sun=sim.sun,
                ambient_c=sim.ambient_c,
                pacing=sim.pacing,
            ),
            clock,
        )
        sources, load, closers = await _simulated_sources(world, loaded, wire)
        bench = Bench(
            clock,
            sources,
            recorder,
            history_s=cfg.display.buffer_s,
            load=load,
            name=f"{bench_name(cfg.bench.name)} (simulated)",
            simulated=True,
            bench_id=bench_name(cfg.bench.name),
        )
        _attach_services(bench, loaded, store_path, closers)
        return Assembly(bench, world, closers, attach_trace(bench, writer) if writer else None)
    if speed not in (None, 1.0):
        raise ConfigError("--speed", "only the simulated bench can run faster than real time (add --demo)")
    sources, load, closers = await _hardware_sources(loaded)
    bench = Bench(
        WallClock(),
        sources,
        recorder,
        history_s=cfg.display.buffer_s,
        load=load,
        name=bench_name(cfg.bench.name),
        bench_id=bench_name(cfg.bench.name),
    )
    _attach_services(bench, loaded, store_path, closers)
    return Assembly(bench, None, closers, attach_trace(bench, writer) if writer else None)


def _attach_services(
    bench: Bench,
    loaded: LoadedConfig,
    store_path: str | Path | None,
    closers: list[Callable[[], Awaitable[None]]],
) -> None:
    """Core services that listen to the bench (looked up by widgets in ``bench.services``)."""
    from benchgui.core.verification import VerificationService  # scipy: only when a bench is built

    config_file = bench.services.config_file = ConfigFile(loaded.path)  # panels persist through it
    bench.services.ports = PortService(bench, config_file)  # the port picker
    bench.services.ain_settings = AinSettings(bench.ain, config_file) if bench.ain is not None else None
    store = store_path_for(loaded, store_path)
    guarded = protected(store, loaded.path, paths.secrets_path())  # no report may replace these
    verify = VerificationService(bench, loaded.config.verify, store, guarded)
    bench.services.verify = verify
    closers.append(verify.aclose)
    # the safety supervisor and the program runner, armed whenever the load input is on
    supervisor = Supervisor.attach(bench, loaded.config)
    bench.services.safety_settings = SafetySettings(supervisor, loaded.config, config_file)
    ProgramRunner.attach(bench, loaded.config, supervisor)
    attach_soc(bench, loaded.config)  # the live SPKF: bench.services.soc
    if bench.recorder is not None:
        add_forwarder(bench, loaded, store_path_for(loaded, store_path), closers)


def add_forwarder(
    bench: Bench, loaded: LoadedConfig, store: Path, closers: list[Callable[[], Awaitable[None]]]
) -> None:
    """Start the InfluxDB forwarder (``bench.services.forwarder``) when a target is configured.

    Its closer runs after the bench has stopped and flushed the store, and gives the last
    samples a few seconds to reach the server; whatever does not stays queued on disk.
    """
    target = influx_target(loaded.config.recording.influx, loaded.secrets)
    if target is None:
        return
    fwd = ForwarderService(store, target)
    bench.services.forwarder = fwd
    fwd.start()
    log.info("forwarding sessions to %s", target.describe())
    closers.append(fwd.aclose)


# Instruments on the bench, in display order: labjack, mppt, ea. Each
# ``benchgui.instruments.<pkg>.factory`` provides ``async simulated(world, section, closers)``
# (start its wire-level simulator, return the real driver's source connected to it) and
# ``hardware(section, secrets)``; ``wire=False`` uses the in-process stand-ins instead.


class _Section(Protocol):
    """What the assembly reads of every instrument's config section."""

    @property
    def enabled(self) -> bool: ...


def _simulating(section: _Section | None) -> bool:
    """An instrument is simulated unless its section switches it off."""
    return section is None or section.enabled


async def _simulated_sources(
    world: SimWorld, loaded: LoadedConfig, wire: bool = True
) -> tuple[list[Source], LoadControl | None, list[Callable[[], Awaitable[None]]]]:
    closers: list[Callable[[], Awaitable[None]]] = []
    sources: list[Source] = []
    ins = loaded.config.instruments
    if _simulating(ins.labjack):
        sources.append(
            await labjack_factory.simulated(world, ins.labjack, closers)
            if wire
            else inproc.SimLabJackSource(world)
        )
    if _simulating(ins.mppt):
        sources.append(
            await mppt_factory.simulated(world, ins.mppt, closers) if wire else inproc.SimMpptSource(world)
        )
    if _simulating(ins.ea):
        sources.append(
            await ea_factory.simulated(world, ins.ea, closers) if wire else inproc.SimLoadSource(world)
        )
    load = next((s for s in sources if isinstance(s, LoadControl)), None)
    return sources, load, closers


async def _hardware_sources(
    loaded: LoadedConfig,
) -> tuple[list[Source], LoadControl | None, list[Callable[[], Awaitable[None]]]]:
    sources: list[Source] = []
    ins, secrets = loaded.config.instruments, loaded.secrets
    if ins.labjack is not None and ins.labjack.enabled:
        sources.append(labjack_factory.hardware(ins.labjack, secrets))
    if ins.mppt is not None and ins.mppt.enabled:
        sources.append(mppt_factory.hardware(ins.mppt, secrets))
    if ins.ea is not None and ins.ea.enabled:
        sources.append(ea_factory.hardware(ins.ea, secrets))
    load = next((s for s in sources if isinstance(s, LoadControl)), None)
    return sources, load, []
