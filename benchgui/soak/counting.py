"""The soak's counts: what each simulator produced, what its source published, what was stored.

The simulators are reached through ``source.simulator`` (set by the instrument factories for
tests and fault injection), the only place where the soak looks behind the bench's interfaces.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgui.assembly import Assembly
from benchgui.errors import BenchError, TransportError
from benchgui.instruments.ea.source import LoadSource
from benchgui.model import InstrumentState, InstrumentStatus
from benchgui.recording.store import Store
from benchgui.soak.faults import simulator_of
from benchgui.soak.report import POLL_CHANNEL, InstrumentCounts, SoakReport

log = logging.getLogger(__name__)


def stored_counts(store_path: Path, session_id: str) -> Counter[str]:
    """Rows of one session in the store, per channel name."""
    counts: Counter[str] = Counter()
    if not session_id:
        return counts
    with Store(store_path, readonly=True) as store:
        for batch in store.iter_samples(session_id):
            counts.update(row[0] for row in batch)
    return counts


async def settle_mppt(asm: Assembly, timeout_s: float = 10.0) -> None:
    """Stop the simulated MPPT publishing, then wait until its source has read every statement
    already on the wire, so that none is counted as produced yet not published.

    The MPPT publishes unasked: at 1000x a statement leaves every few real milliseconds, and
    whatever was written but not yet read when the counts are taken looked lost. After the
    simulator's publication is paused, one request round trip is the condition: the device
    answers after everything it queued before, and the driver hands statements to the source
    in the order they arrive, before the answer completes the request.
    """
    charger = asm.bench.charger
    sim = simulator_of(asm.bench.sources.get("mppt"))
    if charger is None or sim is None:
        return
    sim.pause_publication()
    try:
        async with asyncio.timeout(timeout_s):
            await charger.set_publication_period(charger.period_s)
    except (TransportError, TimeoutError) as exc:
        log.warning("soak: the MPPT did not answer before the count (%r): statements may be in flight", exc)
    except BenchError:
        pass  # the device refused: still an answer, behind every statement written before it


@dataclass(frozen=True)
class _Producer:
    """What an instrument's simulator put on its wire, as it counts it."""

    count: Callable[[], int]
    what: str


_COUNTERS: dict[str, tuple[Callable[[Any], int], str]] = {
    "load": (lambda sim: int(sim.answers_by_object[71]), "actual-value answers (object 71) written"),
    "mppt": (lambda sim: int(sim.statements_written), "statements written in full"),
    "labjack": (lambda sim: int(sim.device.reads), "AIN block reads answered"),
}


def _producers(asm: Assembly) -> dict[str, _Producer]:
    out: dict[str, _Producer] = {}
    for sid, src in asm.bench.sources.items():
        sim = simulator_of(src)
        if sim is not None and sid in _COUNTERS:
            count, what = _COUNTERS[sid]
            out[sid] = _Producer(functools.partial(count, sim), what)
    return out


class Windows:
    """Counts, per instrument, what its simulator produced and its source published while the
    source was connected (status ``connected``): there the two must match, but for what a
    fault cuts at its instant. Outside those windows they differ for good reasons (the MPPT
    publishes into a port nobody has open; a source publishes while it sets a device up).

    One blur remains: what the simulator wrote just before a window opened and the source read
    just after counts as published but not as produced in the window. Only the MPPT, which
    publishes without being asked, ahead of a busy host, shows it: its "missing" can be
    negative (statements read late out of the port's buffer, not a loss)."""

    def __init__(self, asm: Assembly, published: Counter[str]) -> None:
        self.producers = _producers(asm)
        self.published = published
        self.produced: Counter[str] = Counter()
        self.heard: Counter[str] = Counter()
        self._open: dict[str, tuple[int, int]] = {}

    def _now(self, sid: str) -> tuple[int, int]:
        return self.producers[sid].count(), self.published[POLL_CHANNEL.get(sid, "")]

    def on_status(self, status: InstrumentStatus) -> None:
        sid = status.instrument
        if sid not in self.producers:
            return
        if status.state is InstrumentState.CONNECTED:
            self._open.setdefault(sid, self._now(sid))
        elif sid in self._open:
            self._close(sid)

    def close_all(self) -> None:
        for sid in list(self._open):
            self._close(sid)

    def _close(self, sid: str) -> None:
        (p0, s0), (p1, s1) = self._open.pop(sid), self._now(sid)
        self.produced[sid] += p1 - p0
        self.heard[sid] += s1 - s0


def count_instruments(asm: Assembly, report: SoakReport, windows: Windows) -> None:
    """Fill ``report.instruments`` from the sources, the simulators and the windows."""
    producers = _producers(asm)
    charger = asm.bench.charger
    for sid, src in asm.bench.sources.items():
        c = InstrumentCounts(sid, reconnects=src.status.reconnects, faults=report.faults.by_instrument[sid])
        chans = [ch.name for ch in src.channels()]
        c.published_samples = sum(report.channels_published[n] for n in chans)
        c.stored_samples = sum(report.channels_stored[n] for n in chans)
        c.published_polls = report.channels_published[POLL_CHANNEL.get(sid, "")]
        if sid in producers:
            c.produced, c.produced_what = producers[sid].count(), producers[sid].what
            c.produced_connected, c.published_connected = windows.produced[sid], windows.heard[sid]
        if sid == "load":
            stats = src.driver.stats if isinstance(src, LoadSource) else None  # the EA link counters
            if stats is not None:
                c.retries = stats.retries
                c.note = (
                    f"driver retries {stats.retries}, timeouts {stats.timeouts},"
                    f" corrupt answers {stats.corrupt_answers}, stale answers {stats.stale_answers}"
                )
        elif sid == "mppt" and charger is not None:
            sim = simulator_of(src)
            dropped = sim.dropped_lines if sim is not None else 0
            snap = charger.snapshot
            c.note = (
                f"statements read {snap.statements}, bad lines {snap.bad_lines},"
                f" lines the simulator dropped (host too slow) {dropped}"
            )
        report.instruments[sid] = c
