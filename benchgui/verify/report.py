"""The verification report as one self-contained HTML document (the JSON: :mod:`.report_json`).

Both are built from one :class:`~benchgui.verify.analysis.VerifyResult` and return text (the
caller writes the file), so the CLI, the GUI and the tests get identical numbers. The HTML holds
the session's metadata, the instruments' identities, the settings and tolerances, the verdict,
the tables and the plots as inline SVG (:mod:`benchgui.verify.svg`): one file an engineer can
attach to a test record, opened by any browser, printable to PDF from there.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from benchgui import __version__
from benchgui.clock import ns_to_s, s_to_ns
from benchgui.verify import regions as rg
from benchgui.verify import svg
from benchgui.verify.analysis import FAIL, PASS, ComparisonResult, VerifyResult, tolerance_limits
from benchgui.verify.stats import ErrorStats, Estimate

REGION_COLORS = {
    rg.CHARGE: "#2ca02c",
    rg.REST: "#7f7f7f",
    rg.DISCHARGE: "#d62728",
    rg.ZERO: "#bcbd22",
    rg.UNKNOWN: "#1f77b4",
}


@dataclass(frozen=True)
class ReportMeta:
    """What the report says about the session it verifies (filled in by whoever loaded it)."""

    session_id: str = ""
    started_ns: int | None = None
    ended_ns: int | None = None
    kind: str = ""
    operator: str = ""
    battery_id: str = ""
    notes: str = ""
    samples: int = 0
    info: dict[str, Any] = field(default_factory=dict)  # the session's info: instruments, source file…
    store: str = ""
    live: bool = False


def iso(t_ns: int | None) -> str | None:
    if t_ns is None:
        return None
    return (
        dt.datetime.fromtimestamp(ns_to_s(t_ns), dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


# -- HTML ---------------------------------------------------------------------------------------
CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
h3{font-size:14px;margin-bottom:4px}
table{border-collapse:collapse;margin:6px 0 12px 0;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right} th{background:#f2f2f2}
td.l,th.l{text-align:left}
td.ok{background:#d8f0d8} td.bad{background:#f6d0d0} td.undetermined{background:#eeeeee;color:#666}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:bold;color:white}
.pass{background:#2ca02c} .fail{background:#d62728} .nodata{background:#888}
.plots svg{margin:4px;border:1px solid #ddd} .note{color:#555;font-size:12px}
"""

METRIC_LABELS = {
    "offset": "offset",
    "gain_error_pct": "gain error %",
    "rms": "RMS",
    "max_abs": "max |error|",
    "noise": "noise",
}


def _f(x: float, digits: int = 4) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def pm(e: Estimate, digits: int = 4, scale: float = 1.0, shift: float = 0.0) -> str:
    if not math.isfinite(e.value):
        return "–"
    v = (e.value - shift) * scale
    if not math.isfinite(e.half_width):
        return f"{v:.{digits}f}"
    return f"{v:.{digits}f} ± {e.half_width * abs(scale):.{digits}f}"


def _verdict_html(v: str) -> str:
    cls = {PASS: "pass", FAIL: "fail"}.get(v, "nodata")
    return f'<span class="verdict {cls}">{escape(v.upper())}</span>'


OK, BAD, UNDETERMINED, UNCHECKED = "ok", "bad", "undetermined", ""


def _cell(text: str, state: str) -> str:
    cls = f' class="{state}"' if state else ""
    title = (
        " title='confidence interval wider than the tolerance: not judged'" if state == UNDETERMINED else ""
    )
    return f"<td{cls}{title}>{text}</td>"


def check_state(c: ComparisonResult, metric: str) -> str:
    """How a summary cell is shown: ok, bad, undetermined, or unchecked ('')."""
    for k in c.checks:
        if k.metric == metric:
            return UNDETERMINED if k.ok is None else OK if k.ok else BAD
    return UNCHECKED


def summary_rows(c: ComparisonResult) -> dict[str, tuple[str, str]]:
    """The summary table's cells of one comparison: text and state (see :func:`check_state`)."""
    st = c.summary

    def state(metric: str) -> str:
        return check_state(c, metric)

    return {
        "n": (str(st.n), UNCHECKED),
        "offset": (pm(st.offset) + (f" ({st.offset_method})" if st.offset_method else ""), state("offset")),
        "gain_error_pct": (pm(st.gain, 3, 100.0, 1.0), state("gain_error_pct")),
        "rms": (_f(st.rms), state("rms")),
        "max_abs": (_f(st.max_abs), state("max_abs")),
        "noise": (_f(st.noise), state("noise")),
        "series_r": (
            pm(st.series_r_ohm, 1, 1000.0) if math.isfinite(st.series_r_ohm.value) else "–",
            UNCHECKED,
        ),
    }


def _summary_table(result: VerifyResult) -> str:
    head = (
        "<tr><th class='l'>device</th><th class='l'>reference</th><th>unit</th><th>pairs</th>"
        "<th>offset</th><th>gain error %</th><th>RMS</th><th>max |error|</th><th>noise</th>"
        "<th>R between sense points (mΩ)</th><th>verdict</th></tr>"
    )
    rows = []
    for c in result.comparisons:
        cells = summary_rows(c)
        row = [
            f"<td class='l'>{escape(c.device_channel)}</td><td class='l'>{escape(c.reference_channel)}</td>",
            f"<td>{escape(c.unit)}</td>",
        ]
        row += [
            _cell(*cells[k]) for k in ("n", "offset", "gain_error_pct", "rms", "max_abs", "noise", "series_r")
        ]
        row.append(f"<td>{_verdict_html(c.verdict)}</td>")
        rows.append("<tr>" + "".join(row) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _region_table(c: ComparisonResult, groups: Mapping[str, ErrorStats], what: str) -> str:
    if not groups:
        return ""
    head = (
        f"<tr><th class='l'>{what}</th><th>pairs</th><th>mean ref</th><th>mean device</th>"
        "<th>mean error</th><th>offset</th><th>gain (fit)</th><th>gain here</th><th>RMS</th>"
        "<th>max |error|</th><th>noise</th></tr>"
    )
    rows = []
    for name, st in groups.items():
        rows.append(
            "<tr>"
            f"<td class='l'>{escape(name)}</td><td>{st.n}</td>"
            f"<td>{_f(st.mean_ref)}</td><td>{_f(st.mean_dev)}</td>"
            f"<td>{_f(st.mean)}</td><td>{pm(st.offset)}</td><td>{pm(st.gain)}</td>"
            f"<td>{_f(st.point_gain)}</td><td>{_f(st.rms)}</td><td>{_f(st.max_abs)}</td><td>{_f(st.noise)}</td>"
            "</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def plots(c: ComparisonResult) -> dict[str, str]:
    """The three SVG plots of one comparison: scatter, error over time, error histogram."""
    a = c.aligned
    u = c.unit
    sets = []
    for region in (rg.REST, rg.ZERO, rg.CHARGE, rg.DISCHARGE, rg.UNKNOWN):
        m = c.labels == region
        if np.any(m):
            sets.append(svg.PointSet(a.ref[m], a.dev[m], REGION_COLORS[region], region))
    lines = [svg.Line(1.0, 0.0, "#555", "ideal (device = reference)", dash=True)]
    line = c.fit_line()
    if line is not None:
        lines.append(svg.Line(line[0], line[1], "#ff7f0e", line[2]))
    t0 = float(a.t[0]) if len(a) else 0.0
    err_sets = [
        svg.PointSet((a.t[m] - t0) / 60.0, a.error[m], REGION_COLORS[r], r)
        for r in (rg.REST, rg.ZERO, rg.CHARGE, rg.DISCHARGE, rg.UNKNOWN)
        if np.any(m := c.labels == r)
    ]
    return {
        "scatter": svg.scatter(
            sets,
            lines,
            title=f"{c.device} vs {c.reference}: {c.quantity}",
            xlabel=f"{c.reference_channel} ({u})",
            ylabel=f"{c.device_channel} ({u})",
        ),
        "residual": svg.timeseries(
            err_sets,
            title=f"Error {c.device} − {c.reference} over time",
            xlabel="minutes since the first pair",
            ylabel=f"error ({u})",
        ),
        "histogram": svg.histogram(a.error, title="Error distribution", xlabel=f"error ({u})"),
    }


def _kv_table(rows: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th class='l'>{escape(str(k))}</th><td class='l'>{escape(_plain(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{body}</table>"


def _plain(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_plain(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_plain(x) for x in v)
    return "" if v is None else str(v)


def _instruments_table(info: Mapping[str, Any]) -> str:
    instruments = info.get("instruments") or {}
    if not isinstance(instruments, dict) or not instruments:
        return "<p class='note'>The session does not record the instruments' identities.</p>"
    keys: list[str] = []
    for d in instruments.values():
        for k in d if isinstance(d, dict) else {}:
            if k not in keys:
                keys.append(k)
    head = (
        "<tr><th class='l'>instrument</th>"
        + "".join(f"<th class='l'>{escape(k)}</th>" for k in keys)
        + "</tr>"
    )
    rows = []
    for name, d in instruments.items():
        d = d if isinstance(d, dict) else {"value": d}
        rows.append(
            f"<tr><td class='l'>{escape(name)}</td>"
            + "".join(f"<td class='l'>{escape(_plain(d.get(k)))}</td>" for k in keys)
            + "</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _tolerance_table(result: VerifyResult) -> str:
    quantities = sorted({c.quantity for c in result.comparisons}) or ["battery.voltage", "battery.current"]
    rows = []
    for q in quantities:
        limits = tolerance_limits(q, result.settings)
        unit = "V" if q.endswith("voltage") else "A"
        cells = "".join(
            f"<td>{limits[m]:g}{'' if m == 'gain_error_pct' else ' ' + unit}</td>"
            if m in limits
            else "<td>–</td>"
            for m in METRIC_LABELS
        )
        rows.append(f"<tr><td class='l'>{escape(q)}</td>{cells}</tr>")
    head = (
        "<tr><th class='l'>quantity</th>" + "".join(f"<th>{v}</th>" for v in METRIC_LABELS.values()) + "</tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def render_html(result: VerifyResult, meta: ReportMeta, generated: dt.datetime | None = None) -> str:
    """The whole report as one HTML document (inline CSS and SVG; no external files)."""
    generated = generated or dt.datetime.now(dt.UTC)
    s = result.settings
    span = result.span_s
    session_rows: dict[str, Any] = {
        "session": meta.session_id or "(live, unrecorded)",
        "kind": meta.kind,
        "start (UTC)": iso(meta.started_ns),
        "end (UTC)": iso(meta.ended_ns) or ("running" if meta.live else ""),
        "operator": meta.operator,
        "battery": meta.battery_id,
        "notes": meta.notes,
        "samples stored": meta.samples,
        "compared span (UTC)": (
            f"{iso(s_to_ns(span[0]))} – {iso(s_to_ns(span[1]))}" if span is not None else "no pairs"
        ),
        "store": meta.store,
    }
    extra = {k: v for k, v in meta.info.items() if k != "instruments"}
    settings_rows = {
        "alignment": f"faster source interpolated at the slower one's instants; max gap {s.max_gap_s:g} s",
        "latency (s)": dict(s.latency_s) or "none configured",
        "operating regions from": s.region_current,
        "rest": f"|I| ≤ {s.zero_current_a:g} A for ≥ {s.rest_min_s:g} s",
        "steps excluded": (
            f"mean current over {s.transient_window_s:g} s before vs after "
            f"differs by > {s.transient_threshold_a:g} A"
            if s.transient_threshold_a > 0 and s.transient_window_s > 0
            else "no"
        ),
        "voltage readings ignored below": f"{s.min_voltage_v:g} V",
        "confidence intervals": f"{s.confidence * 100:g} % (t, widened for autocorrelated residuals)",
    }
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Sensor verification {escape(meta.session_id)}</title><style>{CSS}</style></head><body>",
        f"<h1>Sensor verification — {escape(meta.session_id or 'live session')}</h1>",
        f"<p>Verdict: {_verdict_html(result.verdict)} &nbsp; <span class='note'>generated "
        f"{generated.isoformat(timespec='seconds')} by benchgui {escape(__version__)}</span></p>",
        "<h2>Session</h2>",
        _kv_table(session_rows),
    ]
    if extra:
        parts += ["<h3>Session information</h3>", _kv_table(extra)]
    parts += ["<h2>Instruments</h2>", _instruments_table(meta.info)]
    parts += ["<h2>Summary</h2>", _summary_table(result)]
    parts.append(
        "<p class='note'>Error = device − reference. Offset: mean error at rest (rest), the fit's "
        "intercept at zero (fit) or the mean error (mean). Gain: slope of the least-squares line device "
        "vs reference (for voltages with the battery current as second regressor, whose slope is the "
        "resistance between the two sense points). Noise: standard deviation of the residual about the "
        "fit. ± is the half-width of the confidence interval. Green/red: within/outside tolerance; grey: "
        "the confidence interval is wider than the tolerance, so the statistic is not judged.</p>"
    )
    if result.missing:
        parts.append(
            "<h3>Not compared</h3><ul>" + "".join(f"<li>{escape(m)}</li>" for m in result.missing) + "</ul>"
        )
    parts += [
        "<h2>Tolerances</h2>",
        _tolerance_table(result),
        "<h2>Method and settings</h2>",
        _kv_table(settings_rows),
    ]
    for c in result.comparisons:
        parts.append(f"<h2>{escape(c.title)} {_verdict_html(c.verdict)}</h2>")
        parts.append(
            f"<p class='note'>{c.summary.n} pairs ({c.aligned.interpolated} interpolated); "
            f"{c.excluded_steps} pairs at current steps excluded; {c.unpaired} instants without a partner "
            f"within {s.max_gap_s:g} s; {c.excluded_invalid} readings below the voltage floor ignored; "
            f"{c.excluded_flagged} readings flagged over range or suspect dropped; "
            f"regions from {escape(c.region_channel or 'no current channel')}.</p>"
        )
        pl = plots(c)
        parts.append(f"<div class='plots'>{pl['scatter']}{pl['residual']}{pl['histogram']}</div>")
        parts.append("<h3>By operating region</h3>" + _region_table(c, c.by_region, "region"))
        parts.append("<h3>By current bin</h3>" + _region_table(c, c.by_bin, "current"))
    parts.append("</body></html>")
    return "\n".join(parts)
