"""The verification statistics as JSON: keyed by quantity and device, the same numbers as the report.

``to_json(result, meta)["battery.current"]["mppt"]`` holds ``gain``, ``offset``, ``rms``,
``max_abs``, ``n`` and the rest of the statistics; NaN becomes ``null`` so the file is strict JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from benchgui import __version__
from benchgui.verify.analysis import ComparisonResult, VerifyResult
from benchgui.verify.report import ReportMeta, iso
from benchgui.verify.stats import ErrorStats, Estimate


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _ci(e: Estimate) -> list[float | None]:
    return [_num(e.lo), _num(e.hi)]


def stats_dict(st: ErrorStats, unit: str, with_offset: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n": st.n,
        "gain": _num(st.gain.value),
        "gain_ci": _ci(st.gain),
        "gain_error_pct": _num(st.gain_error_pct),
        "offset": _num(st.offset.value),
        "offset_ci": _ci(st.offset),
        "offset_method": st.offset_method or None,
        "rms": _num(st.rms),
        "max_abs": _num(st.max_abs),
        "noise": _num(st.noise),
        "mean_error": _num(st.mean),
        "mean_reference": _num(st.mean_ref),
        "mean_device": _num(st.mean_dev),
        "unit": unit,
    }
    if math.isfinite(st.point_gain):
        out["point_gain"] = st.point_gain
        out["point_gain_error_pct"] = st.point_gain_error_pct
    if math.isfinite(st.series_r_ohm.value):
        out["series_r_ohm"] = st.series_r_ohm.value
        out["series_r_ohm_ci"] = _ci(st.series_r_ohm)
    return out


def comparison_dict(c: ComparisonResult) -> dict[str, Any]:
    d = stats_dict(c.summary, c.unit)
    d.update(
        {
            "device": c.device,
            "reference": c.reference,
            "device_channel": c.device_channel,
            "reference_channel": c.reference_channel,
            "verdict": c.verdict,
            "checks": {
                k.metric: {
                    "value": k.value,
                    "limit": k.limit,
                    "ok": k.ok,
                    "ci_half_width": _num(k.half_width),
                }
                for k in c.checks
            },
            "excluded_steps": c.excluded_steps,
            "excluded_invalid": c.excluded_invalid,
            "excluded_flagged": c.excluded_flagged,
            "unpaired": c.unpaired,
            "interpolated": c.aligned.interpolated,
            "region_channel": c.region_channel,
            "regions": {k: stats_dict(v, c.unit) for k, v in c.by_region.items()},
            "bins": {k: stats_dict(v, c.unit) for k, v in c.by_bin.items()},
        }
    )
    return d


def to_json(result: VerifyResult, meta: ReportMeta) -> dict[str, Any]:
    """The statistics keyed by quantity and device (``out["battery.current"]["mppt"]["gain"]``),
    plus the session, the settings, the tolerances and the verdict."""
    s = result.settings
    out: dict[str, Any] = {
        "benchgui": __version__,
        "session": {
            "id": meta.session_id,
            "start": iso(meta.started_ns),
            "end": iso(meta.ended_ns),
            "kind": meta.kind,
            "operator": meta.operator,
            "battery_id": meta.battery_id,
            "notes": meta.notes,
            "samples": meta.samples,
            "live": meta.live,
        },
        "instruments": meta.info.get("instruments", {}),
        "verdict": result.verdict,
        "settings": {
            "comparisons": list(s.comparisons),
            "max_gap_s": s.max_gap_s,
            "latency_s": dict(s.latency_s),
            "region_current": s.region_current,
            "zero_current_a": s.zero_current_a,
            "rest_min_s": s.rest_min_s,
            "current_bins_a": list(s.current_bins_a),
            "transient_window_s": s.transient_window_s,
            "transient_threshold_a": s.transient_threshold_a,
            "min_voltage_v": s.min_voltage_v,
            "confidence": s.confidence,
        },
        "tolerances": asdict(s.tolerance),
        "missing": list(result.missing),
    }
    for c in result.comparisons:
        out.setdefault(c.quantity, {})[c.key] = comparison_dict(c)
    return out
