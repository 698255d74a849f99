"""``benchgui sim ea|mppt|labjack|bench``: wire-level simulators as separate processes.

Each instrument's ``sim.py`` provides ``add_arguments(parser)`` and
``async serve(args, world, ready)`` which serves until cancelled and calls ``ready(where)``
once it listens. ``sim bench`` serves all three on one shared simulated battery.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import Callable
from types import ModuleType

from benchgui.cli._common import add_trace_option, check_trace
from benchgui.config import load_config
from benchgui.errors import BenchError
from benchgui.instruments.trace import Trace, TraceWriter, read_trace
from benchgui.simbench.pty import PTY_TRACE
from benchgui.simbench.world import SimWorld, WorldParams

log = logging.getLogger(__name__)

#: replaying simulators (``--replay TRACE``) by instrument
REPLAY = {"ea": "benchgui.instruments.ea.replay_sim", "mppt": "benchgui.instruments.mppt.replay_sim"}
SIM_TRACE_HELP = "record the simulator's side of its link into FILE (a wire trace)"
#: the device name a simulator's traffic is recorded under (the bench's names, so a sim trace replays)
TRACE_NAMES = {"ea": "load", "mppt": "mppt"}

INSTRUMENTS = {
    "ea": ("benchgui.instruments.ea.sim", "EA EL 3160-60 electronic load on a pseudo-terminal"),
    "mppt": ("benchgui.instruments.mppt.sim", "MPPT 1210 HUS (ThingSet) on a pseudo-terminal"),
    "labjack": ("benchgui.instruments.labjack.sim", "LabJack T7 as a Modbus TCP server"),
}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(INSTRUMENTS[name][0])
    except ModuleNotFoundError:
        return None


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sim", parents=[common], help="run instrument simulators (real wire protocols)")
    ss = p.add_subparsers(dest="sim_instrument", metavar="INSTRUMENT", required=True)
    for name, (_, help_text) in INSTRUMENTS.items():
        sp = ss.add_parser(name, parents=[common], help=help_text)
        mod = _module(name)
        if mod is not None:
            mod.add_arguments(sp)
        if name in REPLAY:
            sp.add_argument(
                "--replay",
                metavar="TRACE",
                help="answer like the device recorded in this wire trace (benchgui ... --trace); "
                "of the other options only --link applies",
            )
            sp.add_argument(
                "--replay-device", metavar="NAME", help="which device of the trace (default: load/ea, mppt)"
            )
        add_trace_option(sp, SIM_TRACE_HELP)
        sp.set_defaults(func=run, sim_names=[name])
    bp = ss.add_parser("bench", parents=[common], help="all three simulators on one simulated battery")
    for name in INSTRUMENTS:
        mod = _module(name)
        if mod is not None:
            grp = bp.add_argument_group(name)
            mod.add_arguments(grp)
    add_trace_option(bp, SIM_TRACE_HELP)
    bp.set_defaults(func=run, sim_names=list(INSTRUMENTS))


def world_from_config(args: argparse.Namespace) -> SimWorld:
    sim = load_config(args.config).config.simulation
    return SimWorld(
        WorldParams(
            speed=args.speed or sim.speed,
            seed=sim.seed,
            chemistry=sim.chemistry,
            capacity_ah=sim.capacity_ah,
            initial_soc=sim.initial_soc_pct / 100,
            sun=sim.sun,
            ambient_c=sim.ambient_c,
        )
    )


def run(args: argparse.Namespace) -> int:
    mods = {}
    for name in args.sim_names:
        mod = _module(name)
        if mod is None:
            raise BenchError(f"the {name} simulator is not available in this build")
        mods[name] = mod
    trace = getattr(args, "trace", None)
    replay = getattr(args, "replay", None)
    check_trace(args, None, [("the replayed trace", replay)])
    if replay:
        return asyncio.run(_serve_replay(args, args.sim_names[0], read_trace(replay), trace))
    world = world_from_config(args)
    return asyncio.run(_serve_all(args, world, mods, trace))


def _link(args: argparse.Namespace, name: str) -> str | None:
    link = getattr(args, f"{name}_link", None)
    return str(link) if link else None


async def _serve_replay(args: argparse.Namespace, name: str, trace: Trace, trace_out: str | None) -> int:
    mod = importlib.import_module(REPLAY[name])
    writer = TraceWriter(trace_out) if trace_out else None
    if writer is not None:
        PTY_TRACE.set(writer.device(TRACE_NAMES[name], {"port": f"replay-{name}", "kind": "sim"}))
    try:
        task = asyncio.create_task(
            mod.serve_replay(trace, _link(args, name), _printer(name), getattr(args, "replay_device", None))
        )
        return await _until_signal([task])
    finally:
        if writer is not None:
            writer.close()


def _printer(name: str) -> Callable[[str], None]:
    def _ready(where: str) -> None:
        print(f"{name}: {where}", flush=True)

    return _ready


async def _serve_all(
    args: argparse.Namespace, world: SimWorld, mods: dict[str, ModuleType], trace: str | None = None
) -> int:
    writer = TraceWriter(trace) if trace else None
    tasks = []
    try:
        for n, m in mods.items():
            # each simulator's tasks record under its own name (PTY_TRACE); the LabJack
            # simulator serves Modbus TCP from its own thread, not a pty: not traced
            hook = (
                writer.device(TRACE_NAMES[n], {"port": f"sim-{n}", "kind": "sim"})
                if writer and n in REPLAY
                else None
            )
            PTY_TRACE.set(hook)
            tasks.append(asyncio.create_task(m.serve(args, world, _printer(n)), name=f"sim-{n}"))
        PTY_TRACE.set(None)
        return await _until_signal(tasks)
    finally:
        if writer is not None:
            writer.close()


async def _until_signal(tasks: list[asyncio.Task[None]]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for t in [*tasks, stopper]:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for t in done:
        if t is not stopper and not t.cancelled() and t.exception() is not None:
            print(f"benchgui sim: {t.exception()}", file=sys.stderr)
            return 1
    return 0
