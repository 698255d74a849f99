"""Parse Grafana "series to columns" CSV exports into samples: pure, total, fuzzable.

:func:`parse_grafana_csv` takes bytes and returns a :class:`ParsedCsv`, or raises
:class:`ImportFormatError` when the file as a whole cannot be read (no header, no data column…).
Nothing else comes out of it, whatever the bytes. Everything it skips is counted and reported
with its line number (physical line in the file, 1-based, counting a ``sep=`` line):

* text: UTF-8 with or without BOM (UTF-16 with BOM too); other bytes are read as Latin-1;
* an Excel ``sep=X`` first line sets the delimiter; CRLF or LF line ends; blank lines counted;
* the first column is the time: epoch numbers (unit from magnitude of the first one: s, ms, µs
  or ns) or date-time text. Text without an offset is *local time* in ``tz`` (the exporting
  browser's zone; default: this computer's zone); ``Z`` or ``+02:00`` in the text wins.
  At the autumn DST change the first of two equal local times is taken;
* empty cells (and ``null``/``NaN``, Grafana's spellings of nothing) are no sample;
* a row with a bad time or the wrong number of cells is a *bad row*, skipped whole; a cell that
  is not a finite number is a *bad cell*, the rest of its row is kept;
* rows may come in any order (two series appended): samples are sorted by time; rows whose
  timestamp went backwards are listed; exact duplicate samples (same channel, time, value) are
  dropped and counted; same channel and time with another value are kept and counted;
* exact zeros that mean "no reading" are *missing values*, stored as gaps (no sample) and
  counted per column (``ColumnReport.missing``), so that an export and its spreadsheet re-save
  (every empty cell written as ``0``) import to the same samples:

  - a battery voltage of exactly 0 while another battery voltage in the same row, or within
    :data:`NEARBY_NS` of it, is not 0 (the EA load's voltmeter reads 0 while its input is off;
    a connected battery never reads 0 V);
  - a battery current of exactly 0 in a row where every other column of that instrument is
    empty or missing (the instrument had no reading in that row at all);
  - a battery current of exactly 0 between two readings of the same column that are both at
    least :data:`STEADY_A` on the same side of zero (a lone zero inside a steady current);

  a zero battery voltage with no battery seen anywhere near is kept but flagged ``SUSPECT``
  (the battery may really be disconnected);
* every column's unit is its channel's own (see :mod:`~benchgui.recording.import_mapping`):
  a known unit is converted, any other refuses the file naming the column.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from benchgui.clock import NS_PER_S
from benchgui.errors import BenchError
from benchgui.model import Channel, Sample, SampleFlag
from benchgui.recording.import_mapping import (
    ColumnSpec,
    HeaderColumn,
    UnitError,
    conform,
    parse_header,
    spec_for,
)

MAX_NS = 2**63 - 1
EMPTY_WORDS = {"", "null", "nan", "none", "undefined"}
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_EPOCH = re.compile(r"^\d+(?:\.\d+)?$")
NEARBY_NS = 60 * NS_PER_S  # a zero voltage this close to another sensor's battery voltage is missing
STEADY_A = 0.05  # a lone zero current between two readings this far from 0 (same sign) is missing
_UNITS = ((1e11, NS_PER_S, "s"), (1e14, 10**6, "ms"), (1e17, 10**3, "us"), (math.inf, 1, "ns"))


class ImportFormatError(BenchError, ValueError):
    """The file cannot be imported at all; ``line`` says where (0: the file as a whole)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Problem:
    line: int
    text: str


@dataclass
class ColumnReport:
    column: HeaderColumn
    channel: str | None
    values: int = 0
    empty: int = 0
    bad: int = 0
    suspect: int = 0
    missing: int = 0  # exact zeros read as "no reading": stored as gaps


@dataclass
class ParsedCsv:
    channels: list[Channel]
    samples: list[Sample]  # sorted by time (stable)
    columns: list[ColumnReport]
    rows_read: int = 0  # data rows (not header, not sep=, not blank)
    blank_lines: int = 0
    bad_rows: list[Problem] = field(default_factory=list)
    bad_cells: list[Problem] = field(default_factory=list)
    backwards: list[int] = field(default_factory=list)  # lines whose time is before the previous row's
    duplicates_dropped: int = 0
    same_time_conflicts: int = 0
    empty_cells: int = 0
    time_format: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    devices: dict[str, str] = field(default_factory=dict)  # channel source → device tag

    @property
    def unmapped(self) -> list[ColumnReport]:
        return [c for c in self.columns if c.channel is None]

    @property
    def span_ns(self) -> tuple[int, int] | None:
        return (self.samples[0].t_ns, self.samples[-1].t_ns) if self.samples else None


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name): BOM-aware, never fails."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


class _TimeParser:
    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz
        self.factor: int | None = None
        self.kind = ""

    def __call__(self, text: str) -> int:
        """UTC ns of a time cell; ValueError with a reason if it is not one."""
        s = text.strip()
        if _EPOCH.match(s):
            if len(s) > 40:
                raise ValueError(f"time out of range: {text[:40]!r}…")
            if self.factor is None:
                mag = float(s)
                self.factor, unit = next((f, u) for lim, f, u in _UNITS if mag < lim)
                self.kind = self.kind or f"epoch {unit}"
            try:
                ns = int(Decimal(s) * self.factor)
            except InvalidOperation:
                raise ValueError(f"bad time {text!r}") from None
        else:
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                raise ValueError(f"not a time: {text[:40]!r}") from None
            self.kind = self.kind or "date-time"
            try:
                if dt.tzinfo is None:
                    dt = dt.replace(tzinfo=self.tz) if self.tz is not None else dt.astimezone()
                delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
            except (OverflowError, ValueError, OSError):
                raise ValueError(f"time out of range: {text[:40]!r}") from None
            ns = (delta.days * 86400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000
        if not 0 <= ns <= MAX_NS:
            raise ValueError(f"time out of range: {text[:40]!r}")
        return ns


def _split_sep_line(text: str) -> tuple[str, str | None, int]:
    """Remove an Excel ``sep=X`` first line: (rest, delimiter or None, lines removed)."""
    first, _, rest = text.partition("\n")
    line = first.rstrip("\r")
    if line.lower().startswith("sep=") and len(line) == 5:
        return rest, line[4], 1
    return text, None, 0


def _guess_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def parse_grafana_csv(
    data: bytes,
    *,
    tz: tzinfo | None = None,
    mapping: Mapping[str, ColumnSpec | None] | None = None,
) -> ParsedCsv:
    """Read a whole export; see the module docstring for every rule."""
    text, encoding = decode(data)
    text, delimiter, offset = _split_sep_line(text)
    if delimiter is None or delimiter in '\r\n"':
        delimiter = _guess_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[tuple[int, list[str]]] = []
    prev_end = 0
    try:
        for row in reader:
            rows.append((offset + prev_end + 1, row))
            prev_end = reader.line_num
    except csv.Error as exc:
        raise ImportFormatError(f"cannot read CSV: {exc}", offset + prev_end + 1) from None
    blank = sum(1 for _, r in rows if not any(c.strip() for c in r))
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ImportFormatError("no header row: the file has no CSV content")
    header_line, header = rows[0]
    if len(header) < 2:
        raise ImportFormatError("the header needs a time column and at least one data column", header_line)
    parse_time = _TimeParser(tz)
    try:
        parse_time(header[0])
    except ValueError:
        pass
    else:
        raise ImportFormatError(
            f"no header row: the first row starts with a time ({header[0][:40]!r})", header_line
        )
    columns = [parse_header(i, h) for i, h in enumerate(header) if i > 0]
    overrides = mapping or {}
    specs = [_conformed(c, spec_for(c, overrides), header_line) for c in columns]
    owners: dict[str, HeaderColumn] = {}
    for col, spec in zip(columns, specs, strict=True):
        if spec is not None:
            if spec.channel in owners:
                first = owners[spec.channel].index + 1
                raise ImportFormatError(
                    f"columns {first} and {col.index + 1} both map to {spec.channel}", header_line
                )
            owners[spec.channel] = col
    reports = [ColumnReport(c, s.channel if s else None) for c, s in zip(columns, specs, strict=True)]
    out = ParsedCsv([s.to_channel() for s in specs if s is not None], [], reports)
    out.encoding, out.delimiter, out.blank_lines = encoding, delimiter, blank
    for c, s in zip(columns, specs, strict=True):
        if s is not None and c.device:
            out.devices.setdefault(s.to_channel().source, c.device)
    _read_rows(rows[1:], len(header), specs, reports, parse_time, out)
    out.time_format = parse_time.kind
    return out


def _conformed(col: HeaderColumn, spec: ColumnSpec | None, line: int) -> ColumnSpec | None:
    if spec is None:
        return None
    try:
        return conform(spec)
    except UnitError as exc:
        raise ImportFormatError(f"column {col.index + 1} {col.text[:60]!r}: {exc}", line) from None


def _read_rows(
    rows: list[tuple[int, list[str]]],
    width: int,
    specs: list[ColumnSpec | None],
    reports: list[ColumnReport],
    parse_time: _TimeParser,
    out: ParsedCsv,
) -> None:
    parsed: list[tuple[int, list[float | None]]] = []  # (t_ns, value per column; None: no value)
    prev_t: int | None = None
    for line, row in rows:
        out.rows_read += 1
        if len(row) != width:
            out.bad_rows.append(Problem(line, f"expected {width} cells, found {len(row)}"))
            continue
        try:
            t_ns = parse_time(row[0])
        except ValueError as exc:
            out.bad_rows.append(Problem(line, str(exc)))
            continue
        if prev_t is not None and t_ns < prev_t:
            out.backwards.append(line)
        prev_t = t_ns
        cells: list[float | None] = []
        for cell, spec, rep in zip(row[1:], specs, reports, strict=True):
            s = cell.strip()
            if s.lower() in EMPTY_WORDS:
                rep.empty += 1
                out.empty_cells += 1
                cells.append(None)
                continue
            if spec is None:
                rep.values += 1
                cells.append(None)
                continue
            value = float(s) * spec.scale + spec.offset if _NUMBER.match(s) else math.nan
            if not math.isfinite(value):
                rep.bad += 1
                out.bad_cells.append(
                    Problem(line, f"column {rep.column.index + 1}: not a finite number: {s[:40]!r}")
                )
                cells.append(None)
                continue
            cells.append(value)
        parsed.append((t_ns, cells))
    parsed.sort(key=lambda r: r[0])
    _drop_missing_zeros(parsed, specs, reports)
    samples: list[Sample] = []
    for t_ns, cells in parsed:
        for got, spec, rep in zip(cells, specs, reports, strict=True):
            if got is None or spec is None:
                continue
            value, flags = got, 0
            if value == 0.0 and spec.channel.startswith("battery.voltage."):
                flags = SampleFlag.SUSPECT
                rep.suspect += 1
            rep.values += 1
            samples.append(Sample(spec.channel, t_ns, value, int(flags)))
    samples.sort(key=lambda x: x.t_ns)
    seen: dict[tuple[str, int], float] = {}
    kept: list[Sample] = []
    for smp in samples:
        key = (smp.channel, smp.t_ns)
        if key in seen:
            if seen[key] == smp.value:
                out.duplicates_dropped += 1
                continue
            out.same_time_conflicts += 1
        seen[key] = smp.value
        kept.append(smp)
    out.samples = kept


def _drop_missing_zeros(
    rows: list[tuple[int, list[float | None]]], specs: list[ColumnSpec | None], reports: list[ColumnReport]
) -> None:
    """Turn the zeros that mean "no reading" into None, counting them (rules: module docstring).

    ``rows`` are sorted by time; the rules run in order, each on what the previous left."""
    names = [s.channel if s else "" for s in specs]
    volts = [j for j, n in enumerate(names) if n.startswith("battery.voltage.")]
    amps = [j for j, n in enumerate(names) if n.startswith("battery.current.")]
    source = [n.rpartition(".")[2] for n in names]

    def drop(cells: list[float | None], j: int) -> None:
        cells[j] = None
        reports[j].missing += 1

    seen = [t for t, cells in rows if any(cells[j] for j in volts)]  # battery seen (sorted)
    for t, cells in rows:
        for j in volts:
            if cells[j] == 0.0 and _near(seen, t, NEARBY_NS):
                drop(cells, j)
    for j in amps:
        siblings = [k for k in range(len(specs)) if k != j and names[k] and source[k] == source[j]]
        if not siblings:
            continue
        for _, cells in rows:
            if cells[j] == 0.0 and all(cells[k] is None for k in siblings):
                drop(cells, j)
    for j in amps:
        readings = [cells for _, cells in rows if cells[j] is not None]
        for before, cells, after in zip(readings, readings[1:], readings[2:], strict=False):
            a, b = before[j], after[j]
            steady = a is not None and b is not None and a * b > 0 and min(abs(a), abs(b)) >= STEADY_A
            if cells[j] == 0.0 and steady:
                drop(cells, j)


def _near(times: list[int], t: int, within: int) -> bool:
    """Whether sorted ``times`` holds one within ``within`` of ``t``."""
    k = bisect.bisect_left(times, t - within)
    return k < len(times) and times[k] <= t + within
