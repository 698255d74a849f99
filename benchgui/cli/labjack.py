"""``benchgui labjack info``: find the configured T7, show what it is and what its channels read.

Uses the configured backend (``--backend`` overrides), writes the channel configuration like the
bench does at connect, reads every channel once and prints volts and scaled values. Without the
LJM library the LJM backend says so, with what to install (exit 1). ``--demo`` talks to an
in-process simulated T7 over Modbus TCP instead. Headless: no Qt.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace

from benchgui.config import load_config
from benchgui.config.schema import LabJackSection


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("labjack", parents=[common], help="LabJack T7: device info and one reading")
    ss = p.add_subparsers(dest="labjack_command", metavar="ACTION", required=True)
    info = ss.add_parser("info", parents=[common], help="connect, show device info, read each channel once")
    info.add_argument("--backend", choices=("modbus", "ljm"), help="override instruments.labjack.backend")
    info.add_argument("--address", help="Modbus TCP host (override instruments.labjack.address)")
    info.add_argument("--port", type=int, help="Modbus TCP port (override instruments.labjack.port)")
    info.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    section = load_config(args.config).config.instruments.labjack or LabJackSection()
    changes: dict[str, object] = {}
    if args.backend:
        changes["backend"] = args.backend
    if args.address:
        changes["address"] = args.address
    if args.port:
        changes["port"] = args.port
    return asyncio.run(_info(replace(section, **changes), bool(getattr(args, "demo", False))))  # type: ignore[arg-type]


async def _info(section: LabJackSection, demo: bool) -> int:
    from benchgui.instruments.labjack.backends import backend_for
    from benchgui.instruments.labjack.plan import AcquisitionPlan

    server = None
    if demo:
        from benchgui.instruments.labjack.sim import T7Server
        from benchgui.instruments.labjack.simdevice import SimT7, Wiring
        from benchgui.simbench.world import SimWorld

        server = T7Server(SimT7(SimWorld(), Wiring.from_channels(section.channels)))
        port = await server.start()
        section = replace(section, backend="modbus", address="127.0.0.1", port=port)
    backend = backend_for(section)
    try:
        info = await backend.open()
        print(f"{info.model}  serial {info.serial}  firmware {info.firmware:.4f}  via {backend.where}")
        plan = AcquisitionPlan.build(section.channels)
        await backend.configure(plan.settings)
        volts = await backend.read_ains(plan.ains)
        values, _, flags = plan.scale(volts)
        for ch, v, x, f in zip(plan.channels, volts, values.tolist(), flags.tolist(), strict=True):
            mode = f"AIN{ch.ain}-AIN{ch.ain + 1}" if ch.differential else f"AIN{ch.ain}"
            warn = "  OVER RANGE" if f else ""
            print(
                f"{ch.quantity + '.labjack':<28} {mode:<11} ±{ch.range_v:g} V  {v:+.6f} V  → {x:+.4f} {ch.unit}{warn}"
            )
    finally:
        await backend.close()
        if server is not None:
            await server.stop()
    return 0
