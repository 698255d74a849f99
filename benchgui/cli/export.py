"""``benchgui export SESSION --format csv|lineprotocol [--output PATH]``.

``csv``: one row per sample — ``time_ns,time_utc,channel,unit,value,flags`` — in time order
(empty value: the sample was NaN; text cells that a spreadsheet would run as a formula get a
leading ``'``, see :mod:`benchgui.recording.csv_export`). ``lineprotocol``: exactly the lines the forwarder sends to
InfluxDB for the session (its ``sessions`` point, its events, its samples), one point per line.
Standard output unless ``--output`` is given: written to a temporary file beside it and renamed
into place when complete; the store, its WAL/SHM, the config and the secrets file are refused as
outputs. SESSION is an id, a unique prefix, or ``latest`` (never empty).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from pathlib import Path
from typing import IO

from benchgui.assembly import store_path_for
from benchgui.cli._common import check_outputs, protected_files, session_ref
from benchgui.config import load_config
from benchgui.errors import StoreError
from benchgui.outputs import open_output
from benchgui.recording.csv_export import csv_rows
from benchgui.recording.points import session_lines
from benchgui.recording.store import Store


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("export", parents=[common], help="export a session as CSV or InfluxDB line protocol")
    p.add_argument("session", metavar="SESSION", help="session id, unique prefix, or 'latest'")
    p.add_argument("--format", choices=("csv", "lineprotocol"), default="csv")
    p.add_argument("--output", "-o", metavar="PATH", type=Path, help="write here instead of standard output")
    p.set_defaults(func=run)


def _write(out: IO[str], store: Store, session_id: str, fmt: str) -> int:
    n = 0
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        for row in csv_rows(store, session_id):
            w.writerow(row)
            n += 1
        return n - 1
    for line in session_lines(store, session_id):
        out.write(line)
        out.write("\n")
        n += 1
    return n


def run(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    ref = session_ref(args.session)
    path = store_path_for(loaded, args.store)
    if args.output is not None:  # before the store is even opened: -o S must not touch S
        check_outputs(protected_files(args, loaded), [("--output", args.output)])
    if not path.exists():
        raise StoreError(f"no session store at {path}")
    try:
        Store(path, readonly=True).close()
    except StoreError:
        Store(path).close()  # an older schema: upgrade it once
    with Store(path, readonly=True) as store:
        info = store.session(ref)
        if args.output is not None:
            with open_output(args.output, newline="") as out:  # temp file, renamed when complete
                n = _write(out, store, info.id, args.format)
        else:
            try:
                n = _write(sys.stdout, store, info.id, args.format)
            except BrokenPipeError:  # `| head`: the reader has all it wants
                with contextlib.suppress(OSError):
                    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
                return 0
    if args.output is not None:
        what = "samples" if args.format == "csv" else "lines"
        print(f"exported {n} {what} of session {info.id} to {args.output}", file=sys.stderr)
    return 0
