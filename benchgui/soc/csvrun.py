"""The run CSV format of ``benchgui soc identify`` and ``soc replay``, parsed from text lines.

Input: a header with ``time_s``, ``current_a``, ``voltage_v`` and optionally ``temperature_c``
(any order, other columns ignored; comma, semicolon or tab separated; ``#`` comment lines, a
spreadsheet's ``sep=,`` first line, a byte-order mark and CRLF line ends are accepted).
Current positive = charging. An empty voltage or temperature cell means "not measured in this
row"; time and current must be present. Time must not go backwards.

Every problem raises :class:`RunCsvError` with the line number, so a user can fix the file.
Output (:func:`format_soc_csv`): ``time_s,soc_pct,soc_3sigma_pct`` (3σ is the half-width).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator

import numpy as np

from benchgui.errors import BenchError
from benchgui.soc.replay import ReplayResult, RunData

REQUIRED = ("time_s", "current_a", "voltage_v")
OPTIONAL = ("temperature_c",)


class RunCsvError(BenchError, ValueError):
    """A run CSV is malformed; ``line`` is the 1-based line number (0: the file as a whole)."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        self.source, self.line, self.problem = source, line, problem
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {problem}")


def _content_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for n, raw in enumerate(lines, start=1):
        line = raw.lstrip("\ufeff").rstrip("\r\n")
        if n == 1 and line.strip().lower().startswith("sep="):
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        yield n, line


def _delimiter(header: str) -> str:
    for d in (",", ";", "\t"):
        if d in header:
            return d
    return ","


def _number(text: str, column: str, source: str, line: int, allow_empty: bool) -> float:
    s = text.strip()
    if not s:
        if allow_empty:
            return math.nan
        raise RunCsvError(source, line, f"column {column} is empty")
    try:
        x = float(s)
    except ValueError:
        raise RunCsvError(source, line, f"column {column}: {s!r} is not a number") from None
    if not math.isfinite(x):
        if allow_empty:
            return math.nan
        raise RunCsvError(source, line, f"column {column}: {s!r} is not a finite number")
    return x


def parse_run_csv(lines: Iterable[str], source: str = "input") -> RunData:
    """Parse a run CSV given as lines of text (see the module docstring for the format)."""
    it = _content_lines(lines)
    try:
        head_no, header = next(it)
    except StopIteration:
        raise RunCsvError(
            source, 0, "the file is empty (expected a header time_s,current_a,voltage_v)"
        ) from None
    delim = _delimiter(header)
    names = [h.strip().strip('"').lower() for h in next(csv.reader([header], delimiter=delim))]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise RunCsvError(
            source,
            head_no,
            f"header lacks {', '.join(missing)} (found: {', '.join(names) or 'nothing'}); "
            "expected time_s,current_a,voltage_v[,temperature_c]",
        )
    col = {c: names.index(c) for c in (*REQUIRED, *OPTIONAL) if c in names}
    width = len(names)
    t: list[float] = []
    i: list[float] = []
    v: list[float] = []
    temp: list[float] = []
    has_temp = "temperature_c" in col
    for n, line in it:
        fields = next(csv.reader([line], delimiter=delim))
        if len(fields) < max(col.values()) + 1:
            raise RunCsvError(source, n, f"{len(fields)} fields, the header has {width}")
        tk = _number(fields[col["time_s"]], "time_s", source, n, False)
        if t and tk < t[-1]:
            raise RunCsvError(
                source,
                n,
                f"time_s {tk:g} is earlier than the previous row's {t[-1]:g}; sort the file by time",
            )
        t.append(tk)
        i.append(_number(fields[col["current_a"]], "current_a", source, n, False))
        v.append(_number(fields[col["voltage_v"]], "voltage_v", source, n, True))
        if has_temp:
            temp.append(_number(fields[col["temperature_c"]], "temperature_c", source, n, True))
    if not t:
        raise RunCsvError(source, 0, "no data rows after the header")
    temps = np.array(temp) if has_temp else None
    if temps is not None and not np.isfinite(temps).any():
        temps = None
    return RunData(np.array(t), np.array(i), np.array(v), temps)


def format_soc_csv(result: ReplayResult) -> Iterator[str]:
    """Lines of the replay output CSV: time_s,soc_pct,soc_3sigma_pct."""
    yield "time_s,soc_pct,soc_3sigma_pct\n"
    for tk, z, s in zip(result.t_s.tolist(), result.soc.tolist(), result.soc_sigma.tolist(), strict=True):
        yield f"{tk:.3f},{100 * z:.3f},{300 * s:.3f}\n"
