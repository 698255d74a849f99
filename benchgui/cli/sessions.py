"""``benchgui sessions list [--json]``: what the local store holds.

The table escapes control characters in stored text (:func:`~benchgui.cli._common.printable`);
``--json`` escapes them as JSON does."""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchgui.assembly import store_path_for
from benchgui.cli._common import printable
from benchgui.clock import ns_to_s
from benchgui.config import LoadedConfig, load_config
from benchgui.errors import ConfigError, StoreError
from benchgui.model import SessionInfo
from benchgui.recording.influx_config import influx_target
from benchgui.recording.store import Store


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("sessions", parents=[common], help="list stored sessions")
    ss = p.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)
    lp = ss.add_parser("list", parents=[common], help="list sessions (id, start, duration, samples)")
    lp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lp.set_defaults(func=run_list)


def _iso(t_ns: int | None) -> str | None:
    if t_ns is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns_to_s(t_ns)))


def _duration(s: SessionInfo) -> str:
    d = s.duration_s
    if d is None:
        return "running"
    h, rem = divmod(round(d), 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}"


def session_dict(s: SessionInfo) -> dict[str, object]:
    return {
        "id": s.id,
        "start": _iso(s.started_ns),
        "end": _iso(s.ended_ns),
        "duration_s": s.duration_s,
        "samples": s.samples,
        "forwarded": s.forwarded,
        "operator": s.meta.operator,
        "battery_id": s.meta.battery_id,
        "kind": s.meta.kind,
        "notes": s.meta.notes,
        "bench": s.meta.bench,
    }


def _forward_sink(loaded: LoadedConfig) -> str | None:
    """The configured InfluxDB target's ledger name: ``forwarded`` counts are for it."""
    try:
        target = influx_target(loaded.config.recording.influx, loaded.secrets)
    except ConfigError:
        return None
    return target.sink_id if target is not None else None


def run_list(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    path = store_path_for(loaded, args.store)
    sink = _forward_sink(loaded)
    if not path.exists():
        sessions: list[SessionInfo] = []
    else:
        try:
            with Store(path, readonly=True) as store:
                sessions = store.sessions(sink)
        except StoreError:
            with Store(path) as store:  # needs a schema upgrade: open writable once
                sessions = store.sessions(sink)
    if args.json:
        json.dump([session_dict(s) for s in sessions], sys.stdout, indent=1)
        print()
        return 0
    if not sessions:
        print(f"no sessions in {path}")
        return 0
    fwd = sink is not None
    print(
        f"{'id':<22} {'start (UTC)':<21} {'duration':>9} {'samples':>9}"
        + (f" {'forwarded':>9}" if fwd else "")
        + f"  {'bench':<14} kind   battery"
    )
    for s in sessions:
        print(
            f"{printable(s.id):<22} {_iso(s.started_ns):<21} {_duration(s):>9} {s.samples:>9}"
            + (f" {s.forwarded:>9}" if fwd else "")
            + f"  {printable(s.meta.bench) or '-':<14} {printable(s.meta.kind):<6} {printable(s.meta.battery_id)}"
        )
    return 0
