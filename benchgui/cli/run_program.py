"""``benchgui run-program PROGRAM.toml --headless``: run a discharge program without a display.

The same core as the GUI: the program runner under the safety supervisor (no Qt imported).
Progress goes to standard output as one line per step; whatever ends the run — the program
completing, a safety trip, SIGINT/SIGTERM, an error — the load input is switched off and the
*last line* is one JSON object::

    {"end_reason": "completed", "ah": 0.62, "wh": 7.1, "duration_s": 455.2, "load_input_on": false, …}

Exit code 0 when the program completed or a trip did its job (the load is off), 1 when the run
failed (``error``) or the load could not be confirmed off, 2 for a bad program or configuration
(including a step the bench cannot do, e.g. a current above ``[safety] max_current_a``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
from collections.abc import Callable
from typing import Any

from benchgui.assembly import Assembly, assemble
from benchgui.cli._common import add_trace_option, check_trace
from benchgui.config import LoadedConfig, load_config
from benchgui.core.limits import ERROR, SIGNAL
from benchgui.core.programs.loader import load_program
from benchgui.core.programs.model import Program, ProgramResult
from benchgui.core.programs.runner import ProgramRunner
from benchgui.errors import BenchError, ConfigError
from benchgui.model import SessionMeta

log = logging.getLogger(__name__)


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "run-program",
        parents=[common],
        help="run a discharge program without a display, under the safety supervisor",
        description="Run a discharge program (TOML) headless; the last output line is a JSON summary.",
    )
    p.add_argument("program", metavar="PROGRAM.toml", help="the program file (see resources/programs/)")
    p.add_argument("--headless", action="store_true", help="no display (implied; accepted for clarity)")
    p.add_argument("--operator", default=None)
    p.add_argument("--battery-id", default=None)
    add_trace_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    program = load_program(args.program)  # a bad program is a usage error (exit 2), before any I/O
    check_trace(args, loaded, [("the program", args.program)])
    return asyncio.run(run_program(args, loaded, program))


def _clean(x: Any) -> Any:
    """JSON without NaN/inf (not valid JSON) — they become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def summary(result: ProgramResult | None, **extra: Any) -> dict[str, Any]:
    """The JSON the last line carries (also used when the program could not even start)."""
    if result is None:
        base: dict[str, Any] = {"end_reason": ERROR, "ah": 0.0, "wh": 0.0, "duration_s": 0.0}
    else:
        base = {
            "end_reason": result.end_reason,
            "ah": round(result.ah, 6),
            "wh": round(result.wh, 5),
            "duration_s": round(result.duration_s, 3),
            "capacity_ah": None if result.capacity_ah is None else round(result.capacity_ah, 6),
            "program": result.name,
            "trip": result.trip,
            "error": result.error,
            "voltage_channel": result.voltage_channel,
            "current_channel": result.current_channel,
            "charger": result.charger,
            "charger_off": result.charger_off,
            "charger_note": result.charger_note,
            "steps": [
                {
                    "path": s.path,
                    "kind": s.kind,
                    "label": s.label,
                    "end": s.end,
                    "duration_s": round(s.duration_s, 3),
                    "ah": round(s.ah, 6),
                    "wh": round(s.wh, 5),
                    "v_end": s.v_end,
                    "dcir_ohm": s.dcir_ohm,
                    "pulses": len(s.pulses),
                }
                for s in result.steps
            ],
        }
    base.update(extra)
    cleaned: dict[str, Any] = _clean(base)
    return cleaned


async def run_program(args: argparse.Namespace, loaded: LoadedConfig, program: Program) -> int:
    cfg = loaded.config
    asm: Assembly = await assemble(
        loaded, demo=args.demo, speed=args.speed, store_path=args.store, trace=getattr(args, "trace", None)
    )
    bench = asm.bench
    runner, supervisor = bench.services.programs, bench.services.supervisor
    assert runner is not None, "the assembly always attaches a program runner"
    assert supervisor is not None, "the assembly always attaches a supervisor"
    result: ProgramResult | None = None
    input_on: bool | None = None
    error = ""
    usage = False
    session_id = ""

    signalled: list[str] = []

    def on_exit_request(signame: str) -> None:
        # a trip aborts a program that has the load on; a program resting with it off ends too
        signalled.append(signame)
        runner.abort(SIGNAL)

    supervisor.exit_requested.connect(on_exit_request)
    runner.changed.connect(_step_printer(runner))
    try:
        await bench.start()
        meta = SessionMeta(
            operator=args.operator if args.operator is not None else cfg.bench.operator,
            battery_id=args.battery_id if args.battery_id is not None else cfg.bench.battery_id,
            notes=f"program: {program.name}",
            kind="demo" if bench.simulated else "live",
        )
        session_id = bench.start_session(meta).id
        await runner.wait_load_ready()  # so that its state is known whatever happens next
        if not signalled:
            await runner.start(program)
            if signalled:  # the signal came while the program was starting
                runner.abort(SIGNAL)
            print(f"program {program.name!r}: {program.leaf_count()} steps", flush=True)
            result = await runner.wait()
    except BenchError as exc:  # the program could not start (checks, no load, a trip latched)
        error = str(exc)
        usage = isinstance(exc, ConfigError)
        print(f"benchgui: {'configuration error: ' if usage else ''}{exc}", file=sys.stderr)
    finally:
        load = bench.load
        input_on = load.input_on if load is not None else False
        await asm.aclose()
    # a driver may forget the state once its port is closed; the load switches its input off on
    # close anyway, so what it reported last (after the program and the supervisor) stands
    if load is not None and load.input_on is not None:
        input_on = load.input_on
    out = summary(result, load_input_on=input_on, session=session_id)
    if result is None and signalled:
        out["end_reason"] = SIGNAL
    if error:
        out["error"] = error
    print(json.dumps(out, sort_keys=False), flush=True)
    if usage:
        return 2
    if supervisor.escalations:
        print("benchgui: the load kept reporting its input on after the safety off", file=sys.stderr)
    ok = out["end_reason"] != ERROR and input_on is False and not supervisor.escalations
    return 0 if ok else 1


def _step_printer(runner: ProgramRunner) -> Callable[[], None]:
    """One progress line per finished step (stdout; the JSON stays the last line)."""
    printed: set[str] = set()

    def on_changed() -> None:
        res = runner.result
        if res is None:
            return
        for s in res.steps:
            key = s.path
            if s.end and key not in printed:
                printed.add(key)
                dcir = f", DCIR {s.dcir_ohm * 1000:.1f} mΩ" if s.dcir_ohm is not None else ""
                print(
                    f"step {s.path} {s.label}: {s.end} after {s.duration_s:.1f} s, "
                    f"{s.ah:.4f} Ah, {s.wh:.3f} Wh{dcir}",
                    flush=True,
                )

    return on_changed
