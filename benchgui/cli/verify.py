"""``benchgui verify SESSION --output report.html [--json stats.json]``: the sensor verification report.

Reads a stored or imported session (id, unique prefix, or ``latest``), compares the MPPT's and the
load's readings with the LabJack reference as configured in ``[verify]``, prints the summary and
writes the HTML report (plots inline as SVG, no display needed: no Qt is imported) and the JSON
statistics. Exit 0 when the report was written (whatever the verdict, unless ``--strict``).
Outputs are refused when they are the store (or its WAL/SHM), the config or the secrets file, and
are written to a temporary file that is renamed into place when complete.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchgui.core.verification import Verification


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "verify",
        parents=[common],
        help="sensor verification report of a session (MPPT and load vs the LabJack reference)",
    )
    p.add_argument("session", metavar="SESSION", help="session id, unique prefix of one, or 'latest'")
    p.add_argument("--output", "-o", metavar="HTML", help="write the HTML report here")
    p.add_argument("--json", metavar="PATH", help="write the statistics as JSON here")
    p.add_argument(
        "--strict", action="store_true", help="exit 1 when the verdict is 'fail' (for scripts and CI)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the summary table")
    p.set_defaults(func=run)


def format_summary(v: Verification) -> str:
    """The summary as a plain-text table (what the report's first table shows)."""
    from benchgui.cli._common import printable
    from benchgui.verify.report import summary_rows

    lines = [f"session {v.meta.session_id or '(live)'}: verdict {v.result.verdict.upper()}"]
    head = f"{'device':<24} {'reference':<24} {'pairs':>6}  {'offset':<26} {'gain error %':<18} {'rms':>8} {'max':>8} {'noise':>8}  verdict"
    lines.append(head)
    for c in v.result.comparisons:
        cells = summary_rows(c)
        suffix = {"ok": " ok", "bad": " !!", "undetermined": " ??", "": ""}
        mark = {k: text + suffix[state] for k, (text, state) in cells.items()}
        lines.append(
            f"{c.device_channel:<24} {c.reference_channel:<24} {c.summary.n:>6}  {mark['offset']:<26} "
            f"{mark['gain_error_pct']:<18} {_f(c.summary.rms):>8} {_f(c.summary.max_abs):>8} "
            f"{_f(c.summary.noise):>8}  {c.verdict}"
        )
        r = c.summary.series_r_ohm
        if math.isfinite(r.value):
            lines.append(
                f"{'':<24} resistance between the sense points: {r.value * 1000:.1f} ± {r.half_width * 1000:.1f} mΩ"
            )
    lines.append("ok: within tolerance, !!: outside, ??: confidence interval wider than the tolerance")
    for m in v.result.missing:
        lines.append(f"not compared: {m}")
    return "\n".join(printable(line) for line in lines)  # session id and channels come from the store


def _f(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.4f}"


def run(args: argparse.Namespace) -> int:
    # imported here: every benchgui command builds the parser, only this one needs numpy and scipy
    import json

    from benchgui.assembly import store_path_for
    from benchgui.cli._common import check_outputs, protected_files, session_ref
    from benchgui.config import load_config
    from benchgui.core.verification import verify_session
    from benchgui.outputs import write_text
    from benchgui.verify.analysis import FAIL
    from benchgui.verify.report import render_html
    from benchgui.verify.report_json import to_json

    loaded = load_config(args.config)
    ref = session_ref(args.session)
    check_outputs(protected_files(args, loaded), [("--output", args.output), ("--json", args.json)])
    store = store_path_for(loaded, args.store)
    v = verify_session(store, ref, loaded.config.verify)
    # each written to a temporary file beside it and renamed into place when complete
    if args.output:
        write_text(args.output, render_html(v.result, v.meta))
    if args.json:
        write_text(args.json, json.dumps(to_json(v.result, v.meta), indent=1, allow_nan=False) + "\n")
    if not args.quiet:
        print(format_summary(v))
        for what, path in (("report", args.output), ("statistics", args.json)):
            if path:
                print(f"{what} written to {path}")
    return 1 if args.strict and v.result.verdict == FAIL else 0
