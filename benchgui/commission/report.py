"""The commissioning report: JSON for scripts, HTML for people; both through benchgui.outputs."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

from benchgui.commission.steps import FAIL, PASS, SKIP, StepResult
from benchgui.outputs import write_text


def report_dict(
    results: list[StepResult], *, bench: str, simulated: bool, trace: Path, started: dt.datetime
) -> dict[str, Any]:
    counts = {k: sum(1 for r in results if r.outcome == k) for k in (PASS, FAIL, SKIP)}
    return {
        "passed": bool(results) and counts[FAIL] == 0,
        "bench": bench,
        "simulated": simulated,
        "started_utc": started.isoformat(),
        "trace": str(trace),
        "counts": counts,
        "steps": [r.as_dict() for r in results],
    }


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    verdict = "PASSED" if report["passed"] else "FAILED"
    rows = []
    for s in report["steps"]:
        exchange = "<br>".join(e(x) for x in s["exchange"])
        rows.append(
            f'<tr class="{e(s["outcome"])}"><td>{e(s["instrument"])}</td><td>{e(s["name"])}</td>'
            f"<td>{e(s['outcome'])}</td><td>{e(s['detail'])}</td><td><code>{exchange}</code></td></tr>"
        )
    c = report["counts"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Commissioning {verdict}: {e(report["bench"])}</title>
<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px;vertical-align:top}}
tr.fail{{background:#fdd}}tr.skip{{background:#eee}}tr.pass{{background:#dfd}}</style></head>
<body><h1>Commissioning {verdict}</h1>
<p>{e(report["bench"])}{" (simulated)" if report["simulated"] else ""}, started {e(report["started_utc"])};
{c[PASS]} passed, {c[FAIL]} failed, {c[SKIP]} skipped. Wire trace: <code>{e(report["trace"])}</code></p>
<table><tr><th>instrument</th><th>step</th><th>result</th><th>what it found</th>
<th>sent / got (failing steps)</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""


def write_reports(report: dict[str, Any], html_path: Path, json_path: Path) -> None:
    write_text(json_path, json.dumps(report, indent=2) + "\n")
    write_text(html_path, render_html(report))
