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
from types import ModuleType

from benchgui.config import load_config
from benchgui.errors import BenchError
from benchgui.simbench.world import SimWorld, WorldParams

log = logging.getLogger(__name__)

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
        sp.set_defaults(func=run, sim_names=[name])
    bp = ss.add_parser("bench", parents=[common], help="all three simulators on one simulated battery")
    for name in INSTRUMENTS:
        mod = _module(name)
        if mod is not None:
            grp = bp.add_argument_group(name)
            mod.add_arguments(grp)
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
    world = world_from_config(args)
    return asyncio.run(_serve_all(args, world, mods))


async def _serve_all(args: argparse.Namespace, world: SimWorld, mods: dict[str, ModuleType]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def ready(name: str):  # type: ignore[no-untyped-def]
        def _ready(where: str) -> None:
            print(f"{name}: {where}", flush=True)

        return _ready

    tasks = [asyncio.create_task(m.serve(args, world, ready(n)), name=f"sim-{n}") for n, m in mods.items()]
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
