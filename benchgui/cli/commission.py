"""``benchgui commission``: check a bench instrument by instrument, write a report and a trace.

Walks each configured instrument (identify; read; remote on/off; one small setpoint with the
load input **off**, read back; MPPT publication items and period; LabJack ranges and one scan of
4 AINs) and, only with ``--live-load`` and a confirmation (``--yes`` for scripts), 1 A for 5 s
with the safety supervisor armed. Writes ``REPORT`` (HTML), ``REPORT`` with ``.json`` and the
wire trace (``--trace``, default ``REPORT`` with ``.trace``). Exit 0 when every step passed,
1 when one failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from benchgui.assembly import assemble
from benchgui.cli._common import check_outputs, protected_files
from benchgui.commission import checks
from benchgui.commission.report import report_dict, write_reports
from benchgui.commission.steps import Walk
from benchgui.config import LoadedConfig, load_config
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.labjack.source import LabJackSource
from benchgui.instruments.mppt.source import MpptSource


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "commission",
        parents=[common],
        help="check each configured instrument once; write an HTML/JSON report and a wire trace",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("-o", "--output", metavar="REPORT", help="HTML report (default commission-<time>.html)")
    p.add_argument(
        "--trace", metavar="FILE", default=argparse.SUPPRESS, help="wire trace (default: REPORT with .trace)"
    )
    p.add_argument(
        "--live-load",
        action="store_true",
        help=f"also draw {checks.LIVE_LOAD_A:g} A for {checks.LIVE_LOAD_S:g} s (asks first)",
    )
    p.add_argument("--yes", action="store_true", help="do not ask before --live-load (for scripts)")
    p.add_argument("--step-timeout", type=float, default=30.0, metavar="S", help="limit per step")
    p.set_defaults(func=run)


def _paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    html_path = Path(args.output or f"commission-{stamp}.html")
    return (
        html_path,
        html_path.with_suffix(".json"),
        Path(getattr(args, "trace", None) or html_path.with_suffix(".trace")),
    )


def confirmed(args: argparse.Namespace) -> bool:
    """``--yes``, or an operator at a terminal answering y; never a guess from a pipe."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        return False
    answer = input(
        f"Switch the load input ON at {checks.LIVE_LOAD_A:g} A for {checks.LIVE_LOAD_S:g} s "
        "(the battery is connected, the supervisor armed)? [y/N] "
    )
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    html_path, json_path, trace_path = _paths(args)
    check_outputs(
        protected_files(args, loaded),
        [("-o", html_path), ("the JSON report", json_path), ("--trace", trace_path)],
    )
    live = args.live_load and confirmed(args)
    if args.live_load and not live:
        print("commission: --live-load not confirmed (give --yes in scripts): skipped", file=sys.stderr)
    return asyncio.run(commission(args, loaded, html_path, json_path, trace_path, live))


async def commission(
    args: argparse.Namespace,
    loaded: LoadedConfig,
    html_path: Path,
    json_path: Path,
    trace_path: Path,
    live: bool,
) -> int:
    started = dt.datetime.now(dt.UTC)
    asm = await assemble(loaded, demo=args.demo, speed=args.speed, record=False, trace=trace_path)
    bench = asm.bench
    assert asm.trace is not None
    walk = Walk(asm.trace, args.step_timeout, echo=lambda line: print(line, flush=True))
    try:
        await bench.start()
        for src in bench.sources.values():
            if isinstance(src, LabJackSource):
                await checks.labjack(walk, bench, src)
            elif isinstance(src, MpptSource):
                await checks.mppt(walk, bench, src)
            elif isinstance(src, LoadSource):
                await checks.ea(walk, bench, src)
                if live:
                    await checks.live_load(walk, bench, src)
                elif args.live_load:
                    walk.skip("load", "live load", "not confirmed")
    finally:
        await asm.aclose()
    report = report_dict(
        walk.results, bench=bench.name, simulated=bench.simulated, trace=trace_path, started=started
    )
    write_reports(report, html_path, json_path)
    c = report["counts"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    print(
        f"commission: {verdict} ({c['pass']} passed, {c['fail']} failed, {c['skip']} skipped); "
        f"report {html_path}, {json_path}; trace {trace_path}",
        flush=True,
    )
    return 0 if report["passed"] else 1
