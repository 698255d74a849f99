"""``benchgui soak``: the whole simulated bench for 24 simulated hours with faults, then a report.

Runs :func:`benchgui.soak.soak` at ``--speed`` (default 1000: a simulated day in about a minute
and a half of real time, plus start and stop) and prints its counts and checks; ``--json`` prints
them as one JSON object instead. Exit status 0 when every check passed, 1 otherwise. The store
is temporary unless ``--store PATH`` keeps it. Headless: no Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from benchgui.config import load_config
from benchgui.errors import BenchError


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("soak", parents=[common], help="soak test: the simulated bench for hours, with faults")
    p.add_argument("--hours", type=float, default=24.0, metavar="H", help="simulated hours (default 24)")
    p.add_argument(
        "--fault-every-min",
        type=float,
        nargs=2,
        default=(3.0, 10.0),
        metavar=("MIN", "MAX"),
        help="simulated minutes between faults, drawn at random (default 3 10)",
    )
    p.add_argument(
        "--faults",
        nargs="*",
        metavar="NAME",
        help="only these faults (unplug, garbage, down = InfluxDB stopped); none at all with an empty list",
    )
    p.add_argument(
        "--influxd",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="forward to a private influxd and stop it now and then (default: when influxd is installed)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed of the fault schedule")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the soak harness only here: every other command (the GUI too) builds this parser
    from benchgui.soak import SoakSettings, soak

    loaded = load_config(args.config)
    if args.verbose < 1:  # every reconnect logs a warning: hundreds in a soak; the report counts them
        for name in ("benchgui.instruments", "benchgui.core.bench"):
            logging.getLogger(name).setLevel(logging.ERROR)
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # logs every dropped connection
    min_gap, max_gap = (float(x) for x in args.fault_every_min)
    settings = SoakSettings(
        hours=args.hours,
        speed=args.speed or 1000.0,
        fault_every_min=(min_gap, max_gap),
        seed=args.seed,
        store_path=Path(args.store) if args.store else None,
        faults=args.faults,
        influxd=args.influxd,
    )

    def progress(text: str) -> None:
        if not args.json:
            print(text, file=sys.stderr, flush=True)

    try:
        report = asyncio.run(soak(loaded, settings, progress))
    except BenchError as exc:
        print(f"benchgui soak: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=1)
        print()
    else:
        print(report.to_text())
    return 0 if report.ok else 1
