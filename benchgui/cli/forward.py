"""``benchgui forward``: send the session store's backlog to the configured InfluxDB.

``--once`` drains whatever is pending and exits: 0 when the backlog is empty, 1 with the reason
when the server cannot take it (unreachable, auth, missing database…; the backlog stays on
disk), 2 when no InfluxDB is configured. Without ``--once`` it keeps forwarding until SIGINT or
SIGTERM, like the GUI's forwarder. ``--quarantined`` lists the points the server refused.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from benchgui.assembly import store_path_for
from benchgui.cli._common import printable
from benchgui.clock import ns_to_s
from benchgui.config import load_config
from benchgui.core.forwarder import ForwarderService, ForwarderState
from benchgui.errors import ConfigError
from benchgui.recording.forward import Forwarder, ForwardLock
from benchgui.recording.influx_config import InfluxTarget, influx_target
from benchgui.recording.ledger import ForwardLedger
from benchgui.recording.sinks import SinkUnavailable, make_sink
from benchgui.recording.store import Store


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("forward", parents=[common], help="send recorded sessions to InfluxDB")
    p.add_argument(
        "--once", action="store_true", help="drain the backlog and exit (0: empty, 1: server unavailable)"
    )
    p.add_argument("--quarantined", action="store_true", help="list points the server refused as bad data")
    p.set_defaults(func=run)


def _target(args: argparse.Namespace) -> tuple[InfluxTarget, Path]:
    loaded = load_config(args.config)
    target = influx_target(loaded.config.recording.influx, loaded.secrets)
    if target is None:
        raise ConfigError(
            "recording.influx.url",
            "no InfluxDB configured (set it in the config file or BENCHGUI_INFLUX_URL)",
        )
    return target, store_path_for(loaded, args.store)


def run(args: argparse.Namespace) -> int:
    target, path = _target(args)
    if args.quarantined:
        return list_quarantined(target, path)
    if args.once:
        return once(target, path)
    return asyncio.run(forever(target, path))


def once(target: InfluxTarget, path: Path) -> int:
    if not path.exists():
        print(f"nothing to forward: no session store at {path}")
        return 0
    lock = ForwardLock(path)
    lock.acquire()
    try:
        with Store(path) as store:
            sink = make_sink(target)
            fwd = Forwarder(store, sink, target.batch_size)
            t0 = time.monotonic()
            try:
                total = fwd.drain()
                if not total.points:
                    sink.check()  # nothing to send: still say whether the server is there
            except SinkUnavailable as exc:
                samples, events = fwd.backlog()
                print(
                    f"benchgui: {target.describe()} unavailable: {exc.reason}; "
                    f"backlog of {samples} samples and {events} events kept in {path}",
                    file=sys.stderr,
                )
                return 1
            finally:
                fwd.close()
                sink.close()
            samples, events = fwd.backlog()
    finally:
        lock.release()
    dt = time.monotonic() - t0
    print(
        f"forwarded {total.samples_sent} samples, {total.events_sent} events and {total.sessions_sent} "
        f"session points to {target.describe()} in {dt:.1f} s"
    )
    if total.samples_skipped:
        print(f"samples without a value (NaN, nothing to send): {total.samples_skipped}")
    if total.quarantined:
        print(
            f"refused by the server and quarantined: {total.quarantined} (benchgui forward --quarantined lists them)"
        )
    print(f"backlog: {samples} samples, {events} events")
    return 0


async def forever(target: InfluxTarget, path: Path) -> int:
    from benchgui.cli.record import wait_for_stop

    service = ForwarderService(path, target)
    shown: list[object] = [None]

    def show(st: ForwarderState) -> None:
        """One line whenever the connection or the error changes (not on every write)."""
        key = (st.connected, st.last_error)
        if key == shown[0] or st.connected is None:
            return
        shown[0] = key
        state = "connected" if st.connected else f"not connected ({st.last_error})"
        print(f"{time.strftime('%H:%M:%S')} {target.describe()}: {state}; backlog {st.backlog}", flush=True)

    service.state_changed.connect(show)
    service.start()
    try:
        await wait_for_stop(None, asyncio.sleep)
    finally:
        await service.aclose(drain_s=3.0)
    return 0


def list_quarantined(target: InfluxTarget, path: Path) -> int:
    if not path.exists():
        print("no quarantined points")
        return 0
    with Store(path) as store:
        ledger = ForwardLedger(store, target.sink_id)
        total = ledger.quarantined_count()
        for q in ledger.quarantined(limit=1000):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns_to_s(q.at_ns)))
            where = printable(f"{q.kind} {q.ref} session {q.session_id}")
            print(f"{stamp} {where}: {printable(q.error)}\n    {printable(q.line)}")
    print(f"quarantined points for {target.describe()}: {total}")
    return 0
