"""``benchgui ports [--json] [--set INSTRUMENT PORT]``: serial ports present, and which one each
serial instrument is configured to use.

Lists every serial port pyserial finds (USB adapters with their descriptions and serial
numbers), then the configured port of the EA load and the MPPT and whether it is present (a
udev symlink such as ``/dev/ea-load`` counts as present when it resolves). ``--set ea
/dev/ttyUSB1`` saves ``instruments.ea.port`` in the configuration file (what the GUI's port
picker does on a running bench). Headless: no Qt.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from benchgui.config import load_config
from benchgui.config.writer import ConfigFile
from benchgui.core.ports import SERIAL_INSTRUMENTS
from benchgui.errors import ConfigError
from benchgui.instruments.transport import list_serial_ports


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ports", parents=[common], help="list serial ports; set an instrument's port")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--set",
        nargs=2,
        metavar=("INSTRUMENT", "PORT"),
        help=f"save PORT as the port of INSTRUMENT ({', '.join(t.key for t in SERIAL_INSTRUMENTS)})",
    )
    p.set_defaults(func=run)


def _present(port: str, devices: set[str]) -> bool:
    return port in devices or os.path.realpath(port) in devices or os.path.exists(port)


def run(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    if args.set:
        key, port = args.set
        if key not in {t.key for t in SERIAL_INSTRUMENTS}:
            raise ConfigError(f"instruments.{key}", "not a serial instrument (ea, mppt)")
        path = ConfigFile(loaded.path).update_table(f"instruments.{key}", {"port": port})
        print(f"instruments.{key}.port = {port!r} saved in {path}")
        return 0
    ports = list_serial_ports()
    devices = {d for d, _ in ports} | {os.path.realpath(d) for d, _ in ports}
    configured = []
    for t in SERIAL_INSTRUMENTS:
        section = getattr(loaded.config.instruments, t.key)
        if section is not None and section.enabled:
            configured.append((t, section.port, _present(section.port, devices)))
    if args.json:
        out = {
            "ports": [{"device": d, "description": desc} for d, desc in ports],
            "configured": [
                {"instrument": t.key, "port": port, "present": present} for t, port, present in configured
            ],
        }
        json.dump(out, sys.stdout, indent=1)
        print()
        return 0
    if ports:
        width = max(len(d) for d, _ in ports)
        for d, desc in ports:
            print(f"{d:<{width}}  {desc}")
    else:
        print("no serial ports found")
    if configured:
        print()
        for t, port, present in configured:
            print(f"{t.label}: {port} ({'present' if present else 'missing'})")
    elif loaded.path is None:
        print("\nno configuration file: no instrument ports configured (the simulated bench is used)")
    return 0
