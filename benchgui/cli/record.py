"""``benchgui record --headless``: record a session without any display (no Qt imported).

The recorder service on a bench without a screen runs this. SIGINT and SIGTERM end it cleanly:
load off, session closed, store flushed. The session id is the last line on standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from benchgui.assembly import assemble
from benchgui.cli._common import add_trace_option, check_trace
from benchgui.config import LoadedConfig, load_config
from benchgui.model import SessionMeta
from benchgui.signals import Signal

log = logging.getLogger(__name__)


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser("record", parents=[common], help="record a session without a display")
    p.add_argument("--headless", action="store_true", help="no display (implied; accepted for clarity)")
    p.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds of bench time (simulated time with --speed); default: until SIGINT/SIGTERM",
    )
    p.add_argument("--operator", default=None)
    p.add_argument("--battery-id", default=None)
    p.add_argument("--notes", default="")
    add_trace_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    check_trace(args, loaded)
    return asyncio.run(record(args, loaded))


async def wait_for_stop(
    duration_s: float | None,
    clock_sleep: Callable[[float], Coroutine[Any, Any, None]],
    exit_requested: Signal[[str]] | None = None,
) -> str:
    """Wait for the duration or SIGINT/SIGTERM; return why we stopped.

    With ``exit_requested`` (the safety supervisor's), the supervisor keeps the signals: it
    records them as a ``signal`` trip and switches the load off first, then asks us to stop.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reason = {"why": "duration"}

    def on_signal(name: str) -> None:
        reason["why"] = name
        stop.set()

    own = exit_requested is None
    if exit_requested is not None:
        exit_requested.connect(on_signal)
    else:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        waiters: list[asyncio.Task[object]] = [asyncio.create_task(stop.wait())]
        if duration_s is not None:
            waiters.append(asyncio.create_task(clock_sleep(duration_s)))
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for t in pending:
            t.cancel()
    finally:
        if own:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        else:
            assert exit_requested is not None
            exit_requested.disconnect(on_signal)
    return reason["why"]


async def record(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    cfg = loaded.config
    asm = await assemble(
        loaded, demo=args.demo, speed=args.speed, store_path=args.store, trace=getattr(args, "trace", None)
    )
    bench = asm.bench
    meta = SessionMeta(
        operator=args.operator if args.operator is not None else cfg.bench.operator,
        battery_id=args.battery_id if args.battery_id is not None else cfg.bench.battery_id,
        notes=args.notes,
        kind="demo" if bench.simulated else "live",
    )
    sup = bench.services.supervisor
    try:
        await bench.start()
        session = bench.start_session(meta)
        log.info(
            "recording session %s to %s", session.id, bench.recorder.store_path if bench.recorder else "-"
        )
        why = await wait_for_stop(args.duration, bench.clock.sleep, sup.exit_requested if sup else None)
        log.info("stopping (%s) after %d samples", why, bench.sample_count)
    finally:
        await asm.aclose()
    print(session.id, flush=True)
    if sup is not None and sup.escalations:  # see Supervisor: the load kept its input on
        print("benchgui: the load kept reporting its input on after the safety off", file=sys.stderr)
        return 1
    return 0
