"""Parse Grafana "series to columns" CSV exports into samples: total, streaming, fuzzable.

:func:`read_grafana_csv` reads a binary file as a stream (the command's way: its samples come
from a scratch database inside the ``with``); :func:`parse_grafana_csv` takes bytes and returns
a :class:`ParsedCsv` with the samples in a list (tests, fuzzing). Both raise
:class:`ImportFormatError` when the file as a whole cannot be read (no header, no data column…).
Nothing else comes out, whatever the bytes. Everything skipped is counted and reported
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

Limits (issue 22: a 27 MB export took 1.2 GB, a 10⁶-column header printed a 10 MB error line):
the file is read as a stream and its cells kept in a scratch database
(:mod:`~benchgui.recording.csv_scratch`), so memory does not grow with the file; at most
:data:`MAX_COLUMNS` data columns and
:data:`~benchgui.recording.csv_text.MAX_LINE_CHARS` characters per line are read (more
refuses the file in one short line); the first :data:`MAX_LISTED` bad rows, bad cells and
backward steps are kept with their line numbers, the rest only counted.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from benchgui.clock import NS_PER_S
from benchgui.errors import BenchError
from benchgui.model import Channel, Sample
from benchgui.recording.csv_scratch import Scratch
from benchgui.recording.csv_text import Lines, LineTooLong, sniff
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
MAX_COLUMNS = 1000  # data columns (a Grafana export of the bench has 5)
MAX_LISTED = 100  # bad rows / bad cells / backward steps kept with their line numbers
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


@dataclass
class Listed:
    """Problems of one kind: the first :data:`MAX_LISTED` with their lines, and how many in all."""

    items: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, line: int, text: str) -> None:
        self.total += 1
        if len(self.items) < MAX_LISTED:
            self.items.append(Problem(line, text))


@dataclass
class ParsedCsv:
    channels: list[Channel]
    columns: list[ColumnReport]
    rows_read: int = 0  # data rows (not header, not sep=, not blank)
    blank_lines: int = 0
    bad: Listed = field(default_factory=Listed)  # bad rows (skipped whole)
    bad_cell: Listed = field(default_factory=Listed)
    backward: Listed = field(default_factory=Listed)  # lines whose time is before the previous row's
    duplicates_dropped: int = 0
    same_time_conflicts: int = 0
    empty_cells: int = 0
    time_format: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    devices: dict[str, str] = field(default_factory=dict)  # channel source → device tag
    sha256: str = ""  # of the file's bytes
    sample_count: int = 0
    span_ns: tuple[int, int] | None = None  # first and last sample time
    samples: list[Sample] = field(default_factory=list)  # filled by parse_grafana_csv only
    specs: list[ColumnSpec | None] = field(default_factory=list, repr=False)  # per data column
    scratch: Scratch | None = field(default=None, repr=False, compare=False)

    @property
    def bad_rows(self) -> list[Problem]:
        return self.bad.items

    @property
    def bad_cells(self) -> list[Problem]:
        return self.bad_cell.items

    @property
    def backwards(self) -> list[int]:
        return [p.line for p in self.backward.items]

    @property
    def unmapped(self) -> list[ColumnReport]:
        return [c for c in self.columns if c.channel is None]

    def iter_samples(self) -> Iterator[Sample]:
        """The samples sorted by time, streamed from the scratch database (inside the ``with``)."""
        if self.scratch is None:
            raise RuntimeError("the import's scratch database is closed")
        names = [c.channel for c in self.columns]
        volts = [j for j, n in enumerate(names) if n and n.startswith("battery.voltage.")]
        return self.scratch.samples(names, volts)


def parse_grafana_csv(
    data: bytes,
    *,
    tz: tzinfo | None = None,
    mapping: Mapping[str, ColumnSpec | None] | None = None,
) -> ParsedCsv:
    """Read a whole export held in memory (tests, fuzzing): ``samples`` holds the samples."""
    with read_grafana_csv(io.BytesIO(data), tz=tz, mapping=mapping) as parsed:
        parsed.samples = list(parsed.iter_samples())
    return parsed


@contextlib.contextmanager
def read_grafana_csv(
    f: BinaryIO,
    *,
    tz: tzinfo | None = None,
    mapping: Mapping[str, ColumnSpec | None] | None = None,
    scratch_dir: Path | None = None,
) -> Iterator[ParsedCsv]:
    """Read an export from a seekable binary file; see the module docstring for every rule.

    The cells go to a scratch database in ``scratch_dir`` (None: in memory), removed when the
    ``with`` block ends: take the samples with :meth:`ParsedCsv.iter_samples` inside it."""
    codec, offset, encoding, sha256 = sniff(f)
    f.seek(offset)
    text = io.TextIOWrapper(f, encoding=codec, errors="replace", newline="")
    scratch = Scratch(scratch_dir)
    try:
        try:
            parsed = _parse(text, scratch, tz, mapping or {})
        except LineTooLong as exc:
            raise ImportFormatError(f"{exc}: not a Grafana CSV export", exc.line) from None
        parsed.encoding, parsed.sha256 = encoding, sha256
        yield parsed
    finally:
        scratch.close()
        text.detach()


def _parse(
    text: io.TextIOWrapper, scratch: Scratch, tz: tzinfo | None, overrides: Mapping[str, ColumnSpec | None]
) -> ParsedCsv:
    lines = Lines(text)
    first = lines.next_line()
    line = first.rstrip("\r\n")
    delimiter: str | None = None
    offset = 0
    if line.lower().startswith("sep=") and len(line) == 5:
        delimiter, offset, first = line[4], 1, lines.next_line()
    if delimiter is None or delimiter in '\r\n"':
        counts = {d: first.split("\n", 1)[0].count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    source = itertools.chain([first], lines) if first else iter(())
    reader = csv.reader(source, delimiter=delimiter, strict=False)
    parse_time = _TimeParser(tz)
    out: ParsedCsv | None = None
    rows = _Rows(scratch, parse_time)
    prev_end = 0
    blank = 0
    try:
        for row in reader:
            line_no = offset + prev_end + 1
            prev_end = reader.line_num
            if not any(c.strip() for c in row):
                blank += 1
            elif out is None:
                out = _header(row, line_no, parse_time, overrides)
                rows.start(out)
            else:
                rows.read(line_no, row)
    except csv.Error as exc:
        raise ImportFormatError(f"cannot read CSV: {exc}", offset + prev_end + 1) from None
    if out is None:
        raise ImportFormatError("no header row: the file has no CSV content")
    out.delimiter, out.blank_lines = delimiter, blank
    scratch.finish_reading()
    names = [c.channel or "" for c in out.columns]
    for j, n in scratch.drop_missing_zeros(names, NEARBY_NS, STEADY_A).items():
        out.columns[j].missing = n
    out.duplicates_dropped, out.same_time_conflicts, values = scratch.drop_duplicates()
    suspect = scratch.suspect_by_column([j for j, n in enumerate(names) if n.startswith("battery.voltage.")])
    for j, rep in enumerate(out.columns):
        rep.values += values.get(j, 0)
        rep.suspect = suspect.get(j, 0)
    out.sample_count, out.span_ns = scratch.summary()
    out.time_format = parse_time.kind
    out.scratch = scratch
    return out


def _header(
    header: list[str], line: int, parse_time: _TimeParser, overrides: Mapping[str, ColumnSpec | None]
) -> ParsedCsv:
    if len(header) < 2:
        raise ImportFormatError("the header needs a time column and at least one data column", line)
    if len(header) - 1 > MAX_COLUMNS:
        raise ImportFormatError(f"{len(header) - 1} data columns: at most {MAX_COLUMNS} are read", line)
    try:
        parse_time(header[0])
    except ValueError:
        pass
    else:
        raise ImportFormatError(f"no header row: the first row starts with a time ({header[0][:40]!r})", line)
    columns = [parse_header(i, h) for i, h in enumerate(header) if i > 0]
    specs = [_conformed(c, spec_for(c, overrides), line) for c in columns]
    owners: dict[str, HeaderColumn] = {}
    for col, spec in zip(columns, specs, strict=True):
        if spec is not None:
            if spec.channel in owners:
                first = owners[spec.channel].index + 1
                raise ImportFormatError(
                    f"columns {first} and {col.index + 1} both map to {spec.channel}", line
                )
            owners[spec.channel] = col
    reports = [ColumnReport(c, s.channel if s else None) for c, s in zip(columns, specs, strict=True)]
    out = ParsedCsv([s.to_channel() for s in specs if s is not None], reports)
    out.specs = specs
    for c, s in zip(columns, specs, strict=True):
        if s is not None and c.device:
            out.devices.setdefault(s.to_channel().source, c.device)
    return out


def _conformed(col: HeaderColumn, spec: ColumnSpec | None, line: int) -> ColumnSpec | None:
    if spec is None:
        return None
    try:
        return conform(spec)
    except UnitError as exc:
        raise ImportFormatError(f"column {col.index + 1} {col.text[:60]!r}: {exc}", line) from None


class _Rows:
    """Checks each data row and puts its number cells into the scratch database."""

    def __init__(self, scratch: Scratch, parse_time: _TimeParser) -> None:
        self.scratch, self.parse_time = scratch, parse_time
        self.prev_t: int | None = None
        self.seq = 0

    def start(self, out: ParsedCsv) -> None:
        self.out = out
        self.width = len(out.columns) + 1
        self.specs = out.specs

    def read(self, line: int, row: list[str]) -> None:
        out = self.out
        out.rows_read += 1
        if len(row) != self.width:
            out.bad.add(line, f"expected {self.width} cells, found {len(row)}")
            return
        try:
            t_ns = self.parse_time(row[0])
        except ValueError as exc:
            out.bad.add(line, str(exc))
            return
        if self.prev_t is not None and t_ns < self.prev_t:
            out.backward.add(line, "time goes backwards")
        self.prev_t = t_ns
        self.seq += 1
        for j, (cell, spec, rep) in enumerate(zip(row[1:], self.specs, out.columns, strict=True)):
            s = cell.strip()
            if s.lower() in EMPTY_WORDS:
                rep.empty += 1
                out.empty_cells += 1
                continue
            if spec is None:
                rep.values += 1
                continue
            value = float(s) * spec.scale + spec.offset if _NUMBER.match(s) else math.nan
            if not math.isfinite(value):
                rep.bad += 1
                out.bad_cell.add(line, f"column {rep.column.index + 1}: not a finite number: {s[:40]!r}")
                continue
            self.scratch.add(self.seq, t_ns, j, value)
