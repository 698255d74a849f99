"""Disk-backed working set of a CSV import, so that memory does not grow with the file.

The importer's rules look across rows (samples are sorted by time, a zero voltage is judged by
other voltages up to a minute away, a zero current by its neighbours in time, duplicates by
channel and time), so the cells must be kept somewhere until the file has been read. Keeping them
in Python lists took 1.2 GB for a 27 MB export (issue 22); here they go into a scratch SQLite
database whose page cache is capped (:data:`CACHE_KIB`), on disk next to the store for a real
import or in memory for the in-memory parser (tests, fuzzing). Every pass below is one SQL
statement or one ordered cursor walked with a window of at most three cells; nothing that grows
with the file is held in Python.

Cells are ``(row, t, col, v, gone)``: ``row`` is the data row's number in file order (ties in
time keep file order), ``col`` the 0-based data column, ``gone`` why the cell is not a sample
(0: it is one; 1–3: a zero read as "no reading" by rule 1–3 of :mod:`csv_import`; 4: an exact
duplicate).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchgui.model import Sample, SampleFlag

CACHE_KIB = 2048  # SQLite page cache of the scratch database
BATCH = 5000  # cells buffered before one executemany; also the chunk of sample reads
INDEX_FROM = 2000  # cells from which the time and row indexes are built
GONE_DUPLICATE = 4


class Scratch:
    """The cells of one import; :meth:`close` removes the file."""

    def __init__(self, directory: Path | None) -> None:
        self._path: Path | None = None
        if directory is None:
            target = ":memory:"
        else:
            fd, name = tempfile.mkstemp(prefix=".benchgui-import-", suffix=".sqlite3", dir=directory)
            os.close(fd)
            self._path = Path(name)
            target = name
        self.db = sqlite3.connect(target, isolation_level=None)  # no transactions: a scratch file
        pragmas = ("PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF") if self._path else ()
        for sql in (  # one execute each: executescript costs a commit and a parse per call
            *pragmas,
            f"PRAGMA cache_size=-{CACHE_KIB}",
            "CREATE TABLE cell(row INTEGER, t INTEGER, col INTEGER, v REAL, gone INTEGER DEFAULT 0)",
            "CREATE TABLE mark(id INTEGER)",
        ):
            self.db.execute(sql)
        self._cells = 0
        self._pending: list[tuple[int, int, int, float]] = []

    def add(self, row: int, t_ns: int, col: int, value: float) -> None:
        self._pending.append((row, t_ns, col, value))
        self._cells += 1
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        with self._batch():
            self.db.executemany("INSERT INTO cell(row, t, col, v) VALUES (?, ?, ?, ?)", self._pending)
        self._pending.clear()

    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        """One transaction per batch: in autocommit every row would be one (10x slower)."""
        self.db.execute("BEGIN")
        yield
        self.db.execute("COMMIT")

    def finish_reading(self) -> None:
        """All cells are in: index them for the passes below."""
        self._flush()
        if self._cells >= INDEX_FROM:  # below, a scan is cheaper than building the index
            self.db.execute("CREATE INDEX cell_time ON cell(t, row, col)")
            self.db.execute("CREATE INDEX cell_row ON cell(row, col)")

    # -- the three "missing zero" rules (see csv_import's docstring) -----------------------------

    def drop_missing_zeros(self, names: Sequence[str], nearby_ns: int, steady_a: float) -> dict[int, int]:
        """Turn the zeros that mean "no reading" into gaps; returns how many per column.

        ``names`` are the columns' channels ("" unmapped); the rules run in order, each on what
        the previous left."""
        volts = [j for j, n in enumerate(names) if n.startswith("battery.voltage.")]
        amps = [j for j, n in enumerate(names) if n.startswith("battery.current.")]
        source = [n.rpartition(".")[2] for n in names]
        self.drop_zero_voltages_near_a_battery(volts, nearby_ns)
        for j in amps:
            siblings = [k for k in range(len(names)) if k != j and names[k] and source[k] == source[j]]
            if siblings:
                self.drop_zero_current_alone(j, siblings)
        for j in amps:
            self.drop_zero_current_inside_steady(j, steady_a)
        return self.missing_by_column()

    def drop_zero_voltages_near_a_battery(self, volts: Sequence[int], within_ns: int) -> None:
        """Rule 1: a zero voltage with another, non-zero, battery voltage within ``within_ns``."""
        if not volts:
            return
        cols = ",".join(str(int(j)) for j in volts)
        self.db.execute(
            f"UPDATE cell SET gone = 1 WHERE col IN ({cols}) AND gone = 0 AND v = 0 AND EXISTS "
            f"(SELECT 1 FROM cell AS o WHERE o.t BETWEEN cell.t - ? AND cell.t + ? AND o.col IN ({cols}) "
            "AND o.v != 0)",
            (within_ns, within_ns),
        )

    def drop_zero_current_alone(self, col: int, siblings: Sequence[int]) -> None:
        """Rule 2: a zero current in a row where no other column of its instrument holds a value."""
        cols = ",".join(str(int(k)) for k in siblings)
        self.db.execute(
            "UPDATE cell SET gone = 2 WHERE col = ? AND gone = 0 AND v = 0 AND NOT EXISTS "
            f"(SELECT 1 FROM cell AS o WHERE o.row = cell.row AND o.col IN ({cols}) AND o.gone = 0)",
            (col,),
        )

    def drop_zero_current_inside_steady(self, col: int, steady_a: float) -> None:
        """Rule 3: a zero current between two readings ≥ ``steady_a`` on the same side of zero.

        Walks the column's readings in time order with a window of three; a zero dropped here no
        longer counts as the "before" of the next window, as in the list version."""
        window: list[tuple[int, float | None]] = []  # (rowid, value or None once dropped)
        marked: list[tuple[int]] = []
        cur = self.db.execute("SELECT rowid, v FROM cell WHERE col = ? AND gone = 0 ORDER BY t, row", (col,))
        for rowid, value in cur:
            window.append((rowid, value))
            if len(window) < 3:
                continue
            (_, a), (mid, v), (_, b) = window
            steady = a is not None and b is not None and a * b > 0 and min(abs(a), abs(b)) >= steady_a
            if v == 0.0 and steady:
                window[1] = (mid, None)
                marked.append((mid,))
                if len(marked) >= BATCH:
                    self._mark(marked)
            del window[0]
        self._mark(marked)
        self.db.execute("UPDATE cell SET gone = 3 WHERE rowid IN (SELECT id FROM mark)")
        self.db.execute("DELETE FROM mark")

    def _mark(self, ids: list[tuple[int]]) -> None:
        with self._batch():
            self.db.executemany("INSERT INTO mark(id) VALUES (?)", ids)
        ids.clear()

    def missing_by_column(self) -> dict[int, int]:
        return dict(self.db.execute("SELECT col, count(*) FROM cell WHERE gone IN (1, 2, 3) GROUP BY col"))

    # -- duplicates and the samples ----------------------------------------------------------------

    def drop_duplicates(self) -> tuple[int, int, dict[int, int]]:
        """Mark exact duplicates (same column, time and value as the last kept one) as gone.

        Returns (duplicates dropped, same-time conflicts kept, values per column before dropping
        — the count the report shows). Only one instant's cells are held at a time."""
        dropped = conflicts = 0
        values: dict[int, int] = {}
        last_t: int | None = None
        at_t: dict[int, float] = {}  # column → last kept value at the current instant
        marked: list[tuple[int]] = []
        cur = self.db.execute("SELECT rowid, t, col, v FROM cell WHERE gone = 0 ORDER BY t, row, col")
        for rowid, t, col, v in cur:
            values[col] = values.get(col, 0) + 1
            if t != last_t:
                last_t, at_t = t, {}
            if col in at_t:
                if at_t[col] == v:
                    dropped += 1
                    marked.append((rowid,))
                    if len(marked) >= BATCH:
                        self._mark(marked)
                    continue
                conflicts += 1
            at_t[col] = v
        self._mark(marked)
        self.db.execute(f"UPDATE cell SET gone = {GONE_DUPLICATE} WHERE rowid IN (SELECT id FROM mark)")
        self.db.execute("DELETE FROM mark")
        return dropped, conflicts, values

    def suspect_by_column(self, volts: Sequence[int]) -> dict[int, int]:
        cols = ",".join(str(int(j)) for j in volts)
        return dict(
            self.db.execute(
                f"SELECT col, count(*) FROM cell WHERE gone IN (0, {GONE_DUPLICATE}) AND v = 0 "
                f"AND col IN ({cols}) GROUP BY col"
            )
        )

    def summary(self) -> tuple[int, tuple[int, int] | None]:
        """(samples, (first, last) time or None)."""
        n, first, last = self.db.execute(
            "SELECT count(*), min(t), max(t) FROM cell WHERE gone = 0"
        ).fetchone()
        return int(n), (None if not n else (int(first), int(last)))

    def samples(self, channels: Sequence[str | None], volts: Sequence[int]) -> Iterator[Sample]:
        """The samples in time order (ties: file order, then column order), read in chunks."""
        suspect = set(volts)
        cur = self.db.execute("SELECT t, col, v FROM cell WHERE gone = 0 ORDER BY t, row, col")
        while chunk := cur.fetchmany(BATCH):
            for t, col, v in chunk:
                flags = int(SampleFlag.SUSPECT) if v == 0.0 and col in suspect else 0
                yield Sample(channels[col] or "", t, float(v), flags)

    def close(self) -> None:
        self.db.close()
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._path = None
