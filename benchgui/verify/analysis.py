"""One verification run: align every configured comparison, label regions, compute statistics.

Input is plain arrays per channel (``t_ns``, value), whoever loaded them — the live service from
published samples, the CLI and the GUI from the store — so the report and the view always show
the same numbers. Pure numpy/scipy; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from benchgui.config.schema import VerifySection
from benchgui.verify import regions as rg
from benchgui.verify.align import Aligned, FloatArray, Series, align, interpolate_at, prepare
from benchgui.verify.stats import ErrorStats, error_stats

ChannelData = tuple[npt.ArrayLike, npt.ArrayLike]  # (t_ns, values)

PASS, FAIL, NO_DATA = "pass", "fail", "no data"


def split_channel(name: str) -> tuple[str, str]:
    """``battery.voltage.mppt`` → (``battery.voltage``, ``mppt``)."""
    quantity, _, source = name.rpartition(".")
    return quantity, source


@dataclass(frozen=True)
class Check:
    """One statistic against its tolerance.

    ``ok`` is None when the statistic is not determined well enough to judge: its confidence
    interval is wider than the tolerance itself (a gain fitted over a narrow voltage range), so
    a verdict on it would be a verdict on noise.
    """

    metric: str
    value: float
    limit: float
    ok: bool | None
    half_width: float = math.nan


@dataclass(frozen=True)
class ComparisonResult:
    quantity: str
    device: str
    reference: str
    unit: str
    key: str  # how the JSON names it under its quantity: the device, or "<device>-vs-<reference>"
    aligned: Aligned  # the pairs used (steps and unpaired instants removed)
    labels: npt.NDArray[np.str_]  # region of each pair
    current: FloatArray  # battery current at each pair (NaN where unknown)
    summary: ErrorStats
    by_region: dict[str, ErrorStats]
    by_bin: dict[str, ErrorStats]
    checks: list[Check]
    verdict: str
    excluded_steps: int
    excluded_invalid: int  # readings below min_voltage_v (instrument off / not connected)
    unpaired: int
    region_channel: str | None
    excluded_flagged: int = 0  # readings flagged over range or suspect: no measurements, dropped

    @property
    def device_channel(self) -> str:
        return f"{self.quantity}.{self.device}"

    @property
    def reference_channel(self) -> str:
        return f"{self.quantity}.{self.reference}"

    @property
    def title(self) -> str:
        return f"{self.device_channel} vs {self.reference_channel}"

    def fit_line(self) -> tuple[float, float, str] | None:
        """(slope, intercept, label) of the fitted line for a device-vs-reference plot.

        When the battery current is part of the model (voltages), the line is drawn at the mean
        current of the pairs, where it runs through the data.
        """
        fit = self.summary.fit
        if fit is None or not math.isfinite(fit.gain.value):
            return None
        label = f"fit: {fit.gain.value:.4f}·x {fit.intercept.value:+.4f}"
        current = 0.0
        if math.isfinite(fit.r.value):
            known = self.current[np.isfinite(self.current)]
            current = float(np.mean(known)) if len(known) else 0.0
        intercept = float(fit.predict(0.0, current))
        if math.isfinite(fit.r.value):
            label = f"fit at {current:.2f} A: {fit.gain.value:.4f}·x {intercept:+.4f}"
        return fit.gain.value, intercept, label


@dataclass(frozen=True)
class VerifyResult:
    comparisons: list[ComparisonResult]
    settings: VerifySection
    missing: list[str] = field(default_factory=list)  # comparisons without data, and why

    @property
    def verdict(self) -> str:
        verdicts = [c.verdict for c in self.comparisons]
        if FAIL in verdicts:
            return FAIL
        return PASS if PASS in verdicts else NO_DATA

    @property
    def span_s(self) -> tuple[float, float] | None:
        ts = [c.aligned.t for c in self.comparisons if len(c.aligned)]
        if not ts:
            return None
        return min(float(t[0]) for t in ts), max(float(t[-1]) for t in ts)

    def get(self, quantity: str, key: str) -> ComparisonResult | None:
        for c in self.comparisons:
            if c.quantity == quantity and c.key == key:
                return c
        return None


def tolerance_limits(quantity: str, settings: VerifySection) -> dict[str, float]:
    """The configured limits for a quantity: metric → limit (0 = not checked, left out)."""
    if quantity.endswith("voltage"):
        v = settings.tolerance.voltage
        limits = {
            "offset": v.offset_v,
            "gain_error_pct": v.gain_error_pct,
            "rms": v.rms_v,
            "max_abs": v.max_abs_v,
            "noise": v.noise_v,
        }
    elif quantity.endswith("current"):
        c = settings.tolerance.current
        limits = {
            "offset": c.offset_a,
            "gain_error_pct": c.gain_error_pct,
            "rms": c.rms_a,
            "max_abs": c.max_abs_a,
            "noise": c.noise_a,
        }
    else:
        return {}
    return {k: x for k, x in limits.items() if x > 0}


def metric_value(stats: ErrorStats, metric: str) -> float:
    return {
        "offset": stats.offset.value,
        "gain_error_pct": stats.gain_error_pct,
        "rms": stats.rms,
        "max_abs": stats.max_abs,
        "noise": stats.noise,
    }[metric]


def metric_half_width(stats: ErrorStats, metric: str) -> float:
    """Confidence half-width of a statistic, in its own unit (NaN: none)."""
    if metric == "offset":
        return stats.offset.half_width
    if metric == "gain_error_pct":
        return stats.gain.half_width * 100.0
    return math.nan


def check(stats: ErrorStats, limits: Mapping[str, float]) -> list[Check]:
    """Each limited statistic that could be computed, against its limit (absolute value)."""
    out = []
    for metric, limit in limits.items():
        value = metric_value(stats, metric)
        if math.isfinite(value):
            hw = metric_half_width(stats, metric)
            ok = None if math.isfinite(hw) and hw > limit else abs(value) <= limit
            out.append(Check(metric, value, limit, ok, hw))
    return out


def _region_current(data: Mapping[str, Series], candidates: list[str]) -> tuple[str | None, Series]:
    for name in candidates:
        s = data.get(name)
        if s is not None and len(s) >= 2:
            return name, s
    return None, Series(np.empty(0), np.empty(0))


def analyse(
    channels: Mapping[str, ChannelData],
    settings: VerifySection,
    units: Mapping[str, str] | None = None,
    flagged: Mapping[str, int] | None = None,
) -> VerifyResult:
    """Run every comparison of ``settings`` on ``channels`` (name → (t_ns, values)).

    ``flagged`` counts, per channel, the readings the caller dropped as over range or suspect
    (they are no measurements); each comparison reports those of its two channels."""
    units = units or {}
    flagged = flagged or {}
    prepared: dict[str, Series] = {}
    invalid: dict[str, int] = {}
    for name, (t, v) in channels.items():
        quantity, source = split_channel(name)
        valid_min = settings.min_voltage_v if quantity.endswith("voltage") else None
        raw = np.asarray(v, dtype=np.float64)
        prepared[name] = prepare(t, raw, latency_s=settings.latency_s.get(source, 0.0), valid_min=valid_min)
        invalid[name] = (
            int(np.count_nonzero(np.isfinite(raw) & (raw < valid_min))) if valid_min is not None else 0
        )
    pairs = settings.parsed_comparisons()
    primary_ref = split_channel(pairs[0][1])[1] if pairs else ""
    results: list[ComparisonResult] = []
    missing: list[str] = []
    for dev_name, ref_name in pairs:
        absent = [n for n in (dev_name, ref_name) if len(prepared.get(n, ())) == 0]
        if absent:
            missing.append(f"{dev_name} vs {ref_name}: no readings of {', '.join(absent)}")
            continue
        quantity, dev_src = split_channel(dev_name)
        _, ref_src = split_channel(ref_name)
        others = sorted(n for n in prepared if n.startswith("battery.current."))
        candidates = [
            settings.region_current,
            f"battery.current.{ref_src}",
            f"battery.current.{dev_src}",
            *others,
        ]
        region_name, region_series = _region_current(prepared, candidates)
        results.append(
            _compare(
                prepared[dev_name],
                prepared[ref_name],
                quantity,
                dev_src,
                ref_src,
                units.get(dev_name) or units.get(ref_name) or _default_unit(quantity),
                dev_src if ref_src == primary_ref else f"{dev_src}-vs-{ref_src}",
                region_name,
                region_series,
                invalid.get(dev_name, 0) + invalid.get(ref_name, 0),
                settings,
                flagged.get(dev_name, 0) + flagged.get(ref_name, 0),
            )
        )
    return VerifyResult(results, settings, missing)


def _default_unit(quantity: str) -> str:
    return "V" if quantity.endswith("voltage") else "A" if quantity.endswith("current") else ""


def _compare(
    dev: Series,
    ref: Series,
    quantity: str,
    dev_src: str,
    ref_src: str,
    unit: str,
    key: str,
    region_name: str | None,
    region: Series,
    excluded_invalid: int,
    s: VerifySection,
    excluded_flagged: int = 0,
) -> ComparisonResult:
    pairs = align(ref, dev, s.max_gap_s)
    steps = rg.step_mask(region, pairs.t, s.transient_window_s, s.transient_threshold_a)
    used = pairs.select(~steps)
    current, _ = interpolate_at(region, used.t, s.max_gap_s)
    labels = rg.label(
        used.t, region, zero_current_a=s.zero_current_a, rest_min_s=s.rest_min_s, max_gap_s=s.max_gap_s
    )
    is_current = quantity.endswith("current")
    is_voltage = quantity.endswith("voltage")
    rest = labels == rg.REST

    known_offset: float | None = None

    def stats_of(
        mask: npt.NDArray[np.bool_], *, at_rest: bool = False, whole: bool = False, fit: bool = True
    ) -> ErrorStats:
        sub = used.select(mask)
        return error_stats(
            sub.ref,
            sub.dev,
            confidence=s.confidence,
            rest=np.ones(len(sub), dtype=bool) if at_rest else rest[mask],
            min_pairs=s.min_pairs,
            offset_from_fit=is_current,
            current=current[mask] if is_voltage and not at_rest else None,
            fit_gain=fit and not at_rest,
            known_offset=known_offset,
            min_point=math.inf if whole else 2 * s.zero_current_a if is_current else 0.0,
            measure_offset=whole or at_rest,
        )

    summary = stats_of(np.ones(len(used), dtype=bool), whole=True)
    known_offset = summary.offset.value
    by_region = {}
    for name in rg.REGIONS:
        m = labels == name
        if np.any(m):
            by_region[name] = stats_of(m, at_rest=(name == rg.REST))
    by_bin = {}
    if region_name is not None:
        idx = rg.bin_index(current, s.current_bins_a)
        for i, bname in enumerate(rg.bin_names(s.current_bins_a)):
            m = idx == i
            if np.any(m):
                # no slope within a bin: a constant-current step spans a few mA, where the
                # reference's own noise flattens any fitted slope; "point_gain" describes the bin
                by_bin[bname] = stats_of(m, fit=False)
    checks = check(summary, tolerance_limits(quantity, s))
    verdict = NO_DATA if summary.n < s.min_pairs else FAIL if any(c.ok is False for c in checks) else PASS
    return ComparisonResult(
        quantity=quantity,
        device=dev_src,
        reference=ref_src,
        unit=unit,
        key=key,
        aligned=used,
        labels=labels,
        current=current,
        summary=summary,
        by_region=by_region,
        by_bin=by_bin,
        checks=checks,
        verdict=verdict,
        excluded_steps=int(np.count_nonzero(steps)),
        excluded_invalid=excluded_invalid,
        unpaired=pairs.unpaired,
        region_channel=region_name,
        excluded_flagged=excluded_flagged,
    )
