"""Current profiles from CSV (time, current), resampled to what an electronic load can follow.

A drive cycle sampled at 10 Hz, or with irregular time steps, cannot be replayed setpoint by
setpoint: every setpoint is a transaction on a serial line and the load's regulation needs time.
So the profile is resampled onto a regular grid of ``interval_s``, each new setpoint being the
*mean* current over its interval (the charge drawn is preserved exactly, peaks shorter than an
interval are averaged). A load cannot push current into the battery: negative (regenerative)
currents become 0 A and are counted, so the operator sees how much of the profile was lost.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchgui.config.loader import read_text_capped
from benchgui.errors import ConfigError

MAX_PROFILE_BYTES = 16 << 20  # a whole day of a 10 Hz drive cycle is about 10 MB


@dataclass(frozen=True)
class Profile:
    t_s: np.ndarray  # strictly increasing, starts at 0
    current_a: np.ndarray  # load current, positive = discharge


def _quote(row: list[str]) -> str:
    """A row for an error message, at most 60 characters (the message stays one short line)."""
    text = repr(row)
    return text if len(text) <= 60 else text[:59] + "…"


def _header_index(header: list[str], name: str, default: int, key: str, where: str) -> int:
    if not name:
        return default
    cleaned = [h.strip().lstrip("\ufeff") for h in header]
    if name not in cleaned:
        columns = ", ".join(cleaned)
        columns = columns if len(columns) <= 60 else columns[:59] + "…"
        raise ConfigError(key, f"column {name!r} not in {where} (columns: {columns})")
    return cleaned.index(name)


def parse_profile_csv(
    text: str,
    *,
    where: str = "profile CSV",
    time_column: str = "",
    current_column: str = "",
    current_sign: str = "load",
    key: str = "csv",
) -> Profile:
    """Parse ``time,current`` rows (a header line, ``#`` comments, blank lines allowed).

    ``current_sign = "load"``: positive = discharge (what the load sinks); ``"battery"``: the
    bench convention, negative = discharge.
    """
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise ConfigError(key, f"{where} has no rows")
    header: list[str] | None = None
    try:
        float(rows[0][0])
    except (ValueError, IndexError):
        header, rows = rows[0], rows[1:]
    ti = _header_index(header or [], time_column, 0, key, where) if header else 0
    ci = _header_index(header or [], current_column, 1, key, where) if header else 1
    if (time_column or current_column) and header is None:
        raise ConfigError(key, f"{where} has no header line, so columns cannot be chosen by name")
    ts: list[float] = []
    cs: list[float] = []
    first_line = 2 if header else 1
    for n, row in enumerate(rows):
        line = n + first_line
        try:
            t, c = float(row[ti]), float(row[ci])
        except (ValueError, IndexError):
            raise ConfigError(key, f"{where} line {line}: expected two numbers, got {_quote(row)}") from None
        if not (math.isfinite(t) and math.isfinite(c)):
            raise ConfigError(key, f"{where} line {line}: not a finite number: {_quote(row)}")
        if ts and t <= ts[-1]:
            raise ConfigError(key, f"{where} line {line}: time {t:g} s is not after {ts[-1]:g} s")
        ts.append(t)
        cs.append(c)
    if len(ts) < 2:
        raise ConfigError(key, f"{where} needs at least two rows (time, current)")
    t_arr = np.asarray(ts) - ts[0]
    c_arr = np.asarray(cs) * (-1.0 if current_sign == "battery" else 1.0)
    return Profile(t_arr, c_arr)


def read_profile_csv(path: Path, **kw: str) -> Profile:
    """Read at most :data:`MAX_PROFILE_BYTES` of UTF-8 (a FIFO or ``/dev/zero`` cannot fill memory)."""
    try:
        text = read_text_capped(path, MAX_PROFILE_BYTES, "a current profile").removeprefix("\ufeff")
    except ConfigError as exc:
        raise ConfigError(kw.get("key", "csv"), f"cannot read {path}: {exc.problem}") from None
    return parse_profile_csv(text, where=str(path), **kw)


def resample(
    profile: Profile, interval_s: float, scale: float = 1.0
) -> tuple[list[tuple[float, float]], int]:
    """Mean current over each ``interval_s`` (last one shorter), scaled; negatives → 0.

    Returns (segments as (duration_s, current_a), number of segments that were negative).
    The profile is taken as piecewise linear between its points.
    """
    t, c = profile.t_s, profile.current_a * scale
    # cumulative charge at every point (trapezoids), then at the grid edges by interpolation
    q = np.concatenate(([0.0], np.cumsum(0.5 * (c[1:] + c[:-1]) * np.diff(t))))
    end = float(t[-1])
    n = max(1, math.ceil(end / interval_s - 1e-9))
    edges = np.minimum(np.arange(n + 1) * interval_s, end)
    # charge up to an edge inside a segment: integrate the linear piece exactly
    idx = np.clip(np.searchsorted(t, edges, side="right") - 1, 0, len(t) - 2)
    dt = edges - t[idx]
    slope = (c[idx + 1] - c[idx]) / (t[idx + 1] - t[idx])
    q_edges = q[idx] + c[idx] * dt + 0.5 * slope * dt * dt
    durations = np.diff(edges)
    means = np.diff(q_edges) / np.where(durations > 0, durations, 1.0)
    segments: list[tuple[float, float]] = []
    clipped = 0
    for d, m in zip(durations, means, strict=True):
        if d <= 0:
            continue
        if m < 0:
            clipped += 1
            m = 0.0
        segments.append((float(d), round(float(m), 6)))
    return segments, clipped
