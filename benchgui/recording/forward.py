"""Store-and-forward: drain the session store into an InfluxDB sink, oldest first, in batches.

:class:`Forwarder` is synchronous and owns one store connection, so it runs on one thread (the
forwarder service's, or the ``benchgui forward --once`` process). Each :meth:`Forwarder.step`
sends changed session points, then one batch of events, then one batch of samples, each in
store order, and records in the :class:`~benchgui.recording.ledger.ForwardLedger` what was
acknowledged. :class:`~benchgui.recording.sinks.SinkUnavailable` propagates untouched (nothing
is marked done; the caller backs off and tries again, possibly after a restart).
A :class:`~benchgui.recording.sinks.SinkRejected` answer makes the batch split in halves until
the refused lines are isolated; those are logged with the server's reason and quarantined, the
rest is delivered (InfluxDB writes are idempotent, so re-sending the good half is harmless).
A 413 (request too large) also halves the batch size for every later batch: the server has a
body limit, and one line alone that is still too large is quarantined like any refused line.

Only one forwarder may work on a store at a time (:class:`ForwardLock`): per-session counts must
not be incremented twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from benchgui.errors import BenchError
from benchgui.recording.ledger import ForwardLedger, QuarantineEntry
from benchgui.recording.lineprotocol import UnrepresentableValue
from benchgui.recording.points import PointEncoder, event_from_row
from benchgui.recording.sinks import InfluxSink, SinkRejected
from benchgui.recording.store import Store

log = logging.getLogger(__name__)


class ForwarderBusy(BenchError):
    """Another process already forwards this store."""


class ForwardLock:
    """An exclusive ``flock`` on ``<store>.forward-lock`` (released when the process dies)."""

    def __init__(self, store_path: str | Path) -> None:
        self.path = Path(f"{store_path}.forward-lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise ForwarderBusy(
                f"another benchgui process (pid {holder}) is forwarding {self.path.parent}"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


@dataclass
class StepResult:
    samples_sent: int = 0  # lines acknowledged
    samples_skipped: int = 0  # stored without a value (NaN): nothing to send
    events_sent: int = 0
    sessions_sent: int = 0
    quarantined: int = 0
    more: bool = False  # a batch was full: call again at once

    def add(self, other: StepResult) -> None:
        self.samples_sent += other.samples_sent
        self.samples_skipped += other.samples_skipped
        self.events_sent += other.events_sent
        self.sessions_sent += other.sessions_sent
        self.quarantined += other.quarantined
        self.more = other.more

    @property
    def points(self) -> int:
        return self.samples_sent + self.events_sent + self.sessions_sent


@dataclass
class _SampleBatch:
    last_rowid: int
    full: bool
    lines: list[str] = field(default_factory=list)
    refs: list[tuple[int, int]] = field(default_factory=list)  # (rowid, session) per line
    entries: list[QuarantineEntry] = field(default_factory=list)
    done: Counter[int] = field(default_factory=Counter)  # rows per session key
    skipped: int = 0


class Forwarder:
    def __init__(self, store: Store, sink: InfluxSink, batch_size: int = 5000, pipeline: int = 8) -> None:
        self.store = store
        self.sink = sink
        self.batch_size = max(1, batch_size)
        self.pipeline = max(1, pipeline)  # sample batches per step, sent while the next is encoded
        self.ledger = ForwardLedger(store, sink.sink_id)
        self.encoder = PointEncoder(store)
        self._pool: ThreadPoolExecutor | None = None

    # -- delivery with isolation of refused lines ------------------------------------------------
    def _deliver(self, lines: list[str], lo: int, hi: int, refused: dict[int, str]) -> None:
        """Write lines[lo:hi]; on a data rejection split until single refused lines remain."""
        if lo >= hi:
            return
        try:
            self.sink.write(lines[lo:hi])
        except SinkRejected as exc:
            if exc.status == 413 and hi - lo > 1:
                self._shrink(hi - lo)
            if hi - lo == 1:
                log.warning("InfluxDB refused a point (%s); quarantined: %s", exc.reason, lines[lo])
                refused[lo] = exc.reason
                return
            mid = (lo + hi) // 2
            self._deliver(lines, lo, mid, refused)
            self._deliver(lines, mid, hi, refused)

    def _shrink(self, refused_size: int) -> None:
        """The server's body limit is below ``refused_size`` lines: later batches are half that
        size (for the rest of this process), instead of being split again every time."""
        smaller = max(1, refused_size // 2)
        if smaller < self.batch_size:
            log.warning(
                "InfluxDB refused %d lines as too large (HTTP 413); sending at most %d per batch from now on",
                refused_size,
                smaller,
            )
            self.batch_size = smaller

    def _send(self, lines: list[str]) -> dict[int, str]:
        refused: dict[int, str] = {}
        self._deliver(lines, 0, len(lines), refused)
        return refused

    # -- one round -------------------------------------------------------------------------------
    def step(self) -> StepResult:
        """Send what is pending (changed sessions, a batch of events, a few batches of samples)."""
        self.encoder.maybe_refresh()
        res = StepResult()
        self._step_sessions(res)
        self._step_events(res)
        self._step_samples(res)
        return res

    def drain(self, max_seconds: float | None = None) -> StepResult:
        """Step until nothing is pending (or time is up). SinkUnavailable propagates."""
        total = StepResult()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while True:
            r = self.step()
            total.add(r)
            if not r.more or (deadline is not None and time.monotonic() > deadline):
                return total

    def _step_sessions(self, res: StepResult) -> None:
        sent = self.ledger.meta_sent()
        todo = [ctx for ctx in self.encoder.sessions() if sent.get(ctx.key) != ctx.fingerprint()]
        if not todo:
            return
        lines = [self.encoder.session_line(ctx) for ctx in todo]
        refused = self._send(lines)
        entries = [
            QuarantineEntry("session", todo[i].key, todo[i].key, lines[i], err) for i, err in refused.items()
        ]
        self.ledger.commit_sessions({ctx.key: ctx.fingerprint() for ctx in todo}, entries, time.time_ns())
        res.sessions_sent += len(todo) - len(refused)
        res.quarantined += len(refused)

    def _step_events(self, res: StepResult) -> None:
        _, cursor = self.ledger.cursors()
        rows = self.store.events_after(cursor, self.batch_size)
        if not rows:
            return
        full = len(rows) == self.batch_size  # before sending: a 413 may shrink batch_size
        lines: list[str] = []
        refs: list[tuple[int, int]] = []
        entries: list[QuarantineEntry] = []
        for key, session, t_ns, kind, text, data in rows:
            event = event_from_row(t_ns, kind, text, data)
            try:
                lines.append(self.encoder.event_line(session, event))
                refs.append((key, session))
            except UnrepresentableValue as exc:
                entries.append(QuarantineEntry("event", key, session, f"{event}", str(exc)))
        refused = self._send(lines)
        entries += [QuarantineEntry("event", refs[i][0], refs[i][1], lines[i], e) for i, e in refused.items()]
        self.ledger.commit_events(int(rows[-1][0]), entries, time.time_ns())
        res.events_sent += len(lines) - len(refused)
        res.quarantined += len(entries)
        res.more = res.more or full

    def _prepare_samples(self, after_rowid: int) -> _SampleBatch | None:
        """Read and encode the next batch of samples after ``after_rowid`` (store thread)."""
        rows = self.store.samples_after(after_rowid, self.batch_size)
        if not rows:
            return None
        enc = self.encoder
        heads = enc.heads
        b = _SampleBatch(int(rows[-1][0]), len(rows) == self.batch_size)
        lines, refs = b.lines, b.refs
        for rowid, session, channel, t_ns, value, flags in rows:
            head = heads.get((session, channel))
            if value is None:  # stored NaN: no value, nothing to send
                b.skipped += 1
            elif head is not None and not flags and value - value == 0.0:  # the common case, inline
                lines.append(f"{head[0]}{value!r} {t_ns}")
                refs.append((rowid, session))
            else:
                try:
                    line = enc.sample_line(session, channel, t_ns, value, flags)
                except UnrepresentableValue as exc:
                    b.entries.append(
                        QuarantineEntry("sample", rowid, session, f"{value!r} at {t_ns}", str(exc))
                    )
                    continue
                if line is not None:
                    lines.append(line)
                    refs.append((rowid, session))
        b.done = Counter(r[1] for r in rows)
        return b

    def _commit_samples(self, b: _SampleBatch, refused: dict[int, str], res: StepResult) -> None:
        for i, err in refused.items():
            rowid, session = b.refs[i]
            b.entries.append(QuarantineEntry("sample", rowid, session, b.lines[i], err))
        quarantined = Counter(q.session for q in b.entries if q.session is not None)
        done = {k: n - quarantined.get(k, 0) for k, n in b.done.items()}
        self.ledger.commit_samples(b.last_rowid, done, quarantined, b.entries, time.time_ns())
        res.samples_sent += len(b.lines) - len(refused)
        res.samples_skipped += b.skipped
        res.quarantined += len(b.entries)
        res.more = res.more or b.full

    def _step_samples(self, res: StepResult) -> None:
        """Up to ``pipeline`` batches; the next one is read and encoded while the server works
        on the current one (the sender thread only talks to the sink, never to the store)."""
        cursor, _ = self.ledger.cursors()
        batch = self._prepare_samples(cursor)
        for n in range(self.pipeline):
            if batch is None:
                return
            future = self._sender().submit(self._send, batch.lines)
            following = (
                self._prepare_samples(batch.last_rowid) if batch.full and n + 1 < self.pipeline else None
            )
            refused = future.result()  # SinkUnavailable propagates: nothing of this batch is marked done
            self._commit_samples(batch, refused, res)
            batch = following

    def _sender(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="benchgui-forward-send")
        return self._pool

    def close(self) -> None:
        """Stop the sender thread (the sink and the store belong to the caller)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def backlog(self) -> tuple[int, int]:
        return self.ledger.backlog()
