"""Sensor verification as a core service: live while a session runs, and for stored sessions.

The math lives in :mod:`benchgui.verify` (pure numpy); this module feeds it. Live, the service
listens to :attr:`Bench.samples_published` and keeps the battery voltage and current channels of the
current session. While a view watches (:attr:`VerificationService.live_enabled`), a timer thread
recomputes every ``verify.live_interval_s`` — driven by the timer, not by sample arrival, so data
that arrived in one burst (a fast replay, instruments that went quiet) is still shown — and skips the
computation when nothing new arrived since the last one. For a stored
or imported session it reads the store on the same worker thread. Either way the outcome is
announced on :attr:`VerificationService.result_ready` — from the worker thread, so widgets bridge
it to Qt (queued) — and the GUI never touches the store or does the arithmetic itself.

The CLI uses :func:`verify_session` and :func:`write_report` directly: the same loading, the same
numbers. Readings flagged over range or suspect are no measurements: both paths drop them and
count them per channel (a clipped reference made the gain error −99.9 %, issue 23).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchgui.clock import s_to_ns
from benchgui.config.schema import VerifySection
from benchgui.core.bench import Bench
from benchgui.core.readings import NOT_A_VALUE
from benchgui.core.session import Session
from benchgui.errors import StoreError
from benchgui.model import Channel, Sample, SessionInfo
from benchgui.outputs import protected as protected_files
from benchgui.outputs import refuse_inputs, write_text
from benchgui.recording.store import Store
from benchgui.signals import Signal
from benchgui.verify.analysis import ChannelData, VerifyResult, analyse
from benchgui.verify.report import ReportMeta, render_html
from benchgui.verify.report_json import to_json

log = logging.getLogger(__name__)

LIVE = "live"


@dataclass(frozen=True, eq=False)  # equal only to itself: it holds arrays
class Verification:
    """One computed verification: what was analysed (``origin``: ``"live"`` or a session id)."""

    origin: str
    result: VerifyResult
    meta: ReportMeta
    computed_at: float = field(default_factory=time.time)

    @property
    def live(self) -> bool:
        return self.origin == LIVE


def wanted_channels(names: Sequence[str], settings: VerifySection) -> list[str]:
    """The channels verification needs: every compared channel and every battery current."""
    compared = {n for pair in settings.parsed_comparisons() for n in pair}
    return [
        n for n in names if n in compared or n.startswith("battery.current.") or n == settings.region_current
    ]


def _meta_for(info: SessionInfo, info_json: str, store: Path) -> ReportMeta:
    try:
        extra = json.loads(info_json or "{}")
    except json.JSONDecodeError:
        extra = {}
    m = info.meta
    return ReportMeta(
        session_id=info.id,
        started_ns=info.started_ns,
        ended_ns=info.ended_ns,
        kind=m.kind,
        operator=m.operator,
        battery_id=m.battery_id,
        notes=m.notes,
        samples=info.samples,
        info=extra if isinstance(extra, dict) else {},
        store=str(store),
    )


def load_session(
    store_path: str | Path, ref: str, settings: VerifySection, flagged: dict[str, int] | None = None
) -> tuple[ReportMeta, dict[str, ChannelData], dict[str, str]]:
    """Read what verification needs of one stored session (id, unique prefix or ``latest``);
    flagged readings are left out and counted into ``flagged`` (per channel)."""
    path = Path(store_path)
    with Store(path, readonly=True) as store:
        info = store.session(ref)
        meta = _meta_for(info, store.session_info_json(info.id), path)
        channels: list[Channel] = store.channels(info.id)
        units = {c.name: c.unit for c in channels}
        names = wanted_channels([c.name for c in channels], settings)
        data: dict[str, ChannelData] = {
            n: store.samples(info.id, n, without_flags=NOT_A_VALUE) for n in names
        }
        if flagged is not None:
            for n in names:
                count = store.count_flagged(info.id, n, NOT_A_VALUE)
                if count:
                    flagged[n] = count
    return meta, data, units


def verify_session(store_path: str | Path, ref: str, settings: VerifySection) -> Verification:
    """Load and verify one stored session."""
    flagged: dict[str, int] = {}
    meta, data, units = load_session(store_path, ref, settings, flagged)
    return Verification(meta.session_id, analyse(data, settings, units, flagged), meta)


def write_report(
    v: Verification,
    html_path: str | Path | None,
    json_path: str | Path | None = None,
    protected: Sequence[tuple[str, Path]] = (),
) -> None:
    """Write the HTML report and/or the JSON statistics of a verification.

    Neither may be one of the ``protected`` files (:class:`ConfigError`): a slip in the file
    dialog must not replace the store. Each is written to a temporary file and renamed into
    place when complete (:mod:`benchgui.outputs`; :class:`OutputError` on a full disk…)."""
    for option, path in (("report", html_path), ("statistics", json_path)):
        if path is not None:
            refuse_inputs(option, path, protected)
    if html_path is not None and json_path is not None:
        refuse_inputs("statistics", json_path, [("the report", Path(html_path))])
    if html_path is not None:
        write_text(html_path, render_html(v.result, v.meta))
    if json_path is not None:
        write_text(json_path, json.dumps(to_json(v.result, v.meta), indent=1, allow_nan=False) + "\n")


class _LiveChannel:
    """One channel's recent readings: numpy chunks plus a list being filled.

    Bounded by bench time (``live_window_s``) as well as by count (``live_max_points``): every
    live computation re-reads all that is kept, so what is kept sets the memory and the CPU of
    the live view. Kept since the session started, a 20-hour session (2 wall hours of the GUI soak
    at speed 10) held ~30 MB of readings plus a ~25 MB result, and each recomputation allocated
    ~65 MB of temporaries and took seconds of CPU every 5 s: the soak's RSS growth of ~1 MB/min
    and its CPU creep (issue 23; measured with ``analyse`` on synthetic channels at the demo's
    rates, see README "GUI soak"). The store keeps everything; a stored session's report uses it.
    """

    def __init__(self) -> None:
        self.t: list[int] = []
        self.v: list[float] = []
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.size = 0

    def seal(self, max_points: int, window_ns: int | None = None) -> None:
        if self.t:
            self.chunks.append((np.array(self.t, dtype=np.int64), np.array(self.v, dtype=np.float64)))
            self.size += len(self.t)
            self.t, self.v = [], []
        while self.size > max_points and len(self.chunks) > 1:  # oldest first; the store keeps all
            dropped = self.chunks.pop(0)
            self.size -= len(dropped[0])
        if window_ns is None or not self.chunks:
            return
        cutoff = int(self.chunks[-1][0].max()) - window_ns  # the newest reading's bench time
        while len(self.chunks) > 1 and int(self.chunks[0][0].max()) < cutoff:  # wholly too old
            self.size -= len(self.chunks.pop(0)[0])
        t, v = self.chunks[0]
        keep = t >= cutoff
        if not keep.all():  # part of the oldest chunk is too old: copy the rest, free the chunk
            self.chunks[0] = (t[keep], v[keep])
            self.size -= len(t) - len(self.chunks[0][0])


class VerificationService:
    """``bench.services.verify``: live and stored-session verification off the GUI thread."""

    def __init__(
        self,
        bench: Bench,
        settings: VerifySection,
        store_path: str | Path | None = None,
        protected: Sequence[tuple[str, Path]] = (),
    ) -> None:
        self.bench = bench
        self.settings = settings
        self.store_path = Path(store_path) if store_path else None
        #: files a report must not replace (the store and its companions, config, secrets)
        self.protected = list(protected) or protected_files(self.store_path, None, None)
        #: a new :class:`Verification` (live or stored); fires on the worker thread
        self.result_ready: Signal[[Verification]] = Signal("verify.result_ready")
        #: (path, error or None) after a report was written; fires on the worker thread
        self.report_written: Signal[[Path, Exception | None]] = Signal("verify.report_written")
        self.latest: dict[str, Verification] = {}
        self.computations = 0
        #: timer periods elapsed while live (whether or not they computed): what tests wait on
        self.ticks = 0
        self._names = {n for pair in settings.parsed_comparisons() for n in pair} | {settings.region_current}
        self._live: dict[str, _LiveChannel] = {}
        self.flagged: dict[str, int] = {}  # live readings dropped as over range / suspect, per channel
        self._lock = threading.Lock()  # guards latest/computations
        self._submit_lock = threading.Lock()  # one computation submitted at a time
        self._data_lock = threading.Lock()  # guards _live and the data versions (publisher vs timer)
        self._data_version = 0  # bumped by every batch that brought a wanted sample
        self._computed_version = -1  # the data version the last live computation saw
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="benchgui-verify")
        self._pending: Future[Verification | None] | None = None
        self._timer: threading.Thread | None = None
        self._timer_stop = threading.Event()
        self._session: Session | None = bench.session
        bench.samples_published.connect(self._on_samples)
        bench.session_changed.connect(self._on_session)

    # -- live ----------------------------------------------------------------------------------
    def _wanted(self, name: str) -> bool:
        return name in self._names or name.startswith("battery.current.")

    @property
    def live_enabled(self) -> bool:
        """Recompute live statistics by themselves every ``live_interval_s`` (a view watches).

        Off by default: a headless recorder keeps the readings but spends no CPU on statistics
        nobody reads. Turning it on starts the timer; the first result comes within one interval
        even if no further sample arrives.
        """
        return self._timer is not None

    @live_enabled.setter
    def live_enabled(self, on: bool) -> None:
        if on and self._timer is None:
            with self._data_lock:
                self._computed_version = -1  # the first period computes, even from no data
            self._timer_stop.clear()
            self._timer = threading.Thread(target=self._run_timer, name="benchgui-verify-timer", daemon=True)
            self._timer.start()
        elif not on and self._timer is not None:
            self._stop_timer()

    def _run_timer(self) -> None:
        # wall time on purpose: the interval is a CPU budget, whatever the simulation speed
        while not self._timer_stop.wait(self.settings.live_interval_s):
            try:
                self.tick()
            except Exception:  # a timer that dies silently would freeze the view: log and go on
                log.exception("live verification tick failed")
            self.ticks += 1

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        self._timer_stop.set()
        if timer is not None and timer is not threading.current_thread():
            timer.join(timeout=30)

    @property
    def live_up_to_date(self) -> bool:
        """No computation running and none owed: the latest live result covers every sample."""
        pending = self._pending
        with self._data_lock:
            owed = self._data_version != self._computed_version
        return not owed and (pending is None or pending.done())

    def tick(self) -> Future[Verification | None] | None:
        """One timer period: recompute if data arrived since the last computation, else nothing."""
        with self._data_lock:
            if self._data_version == self._computed_version:
                return None
        return self.refresh_live()

    def _on_samples(self, samples: Sequence[Sample]) -> None:
        with self._data_lock:
            live = self._live
            got = False
            for s in samples:
                ch = live.get(s.channel)
                if ch is None:
                    if not self._wanted(s.channel):
                        continue
                    ch = live[s.channel] = _LiveChannel()
                if s.flags & NOT_A_VALUE:  # no measurement: dropped, counted
                    self.flagged[s.channel] = self.flagged.get(s.channel, 0) + 1
                    got = True
                    continue
                ch.t.append(s.t_ns)
                ch.v.append(s.value)
                got = True
            if got:
                self._data_version += 1

    def _on_session(self, session: Session | None) -> None:
        if session is not None and (self._session is None or session.id != self._session.id):
            with self._data_lock:
                self._live.clear()  # live statistics describe the session that is running
                self.flagged.clear()
                self._data_version += 1
            self.latest.pop(LIVE, None)
        self._session = session

    def refresh_live(self) -> Future[Verification | None]:
        """Recompute the live statistics now (at most one computation runs at a time)."""
        with self._submit_lock:  # the timer thread and a view's Refresh button may both call this
            if self._pending is not None and not self._pending.done():
                return self._pending  # the next tick picks up what arrived meanwhile
            snapshot: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
            with self._data_lock:
                for name, ch in self._live.items():
                    ch.seal(self.settings.live_max_points, s_to_ns(self.settings.live_window_s))
                    snapshot[name] = list(ch.chunks)
                self._computed_version = self._data_version
                flagged = dict(self.flagged)
            units = {n: c.unit for n, c in self.bench.channels.items()}
            meta = self._live_meta()
            self._pending = self._pool.submit(self._compute_live, snapshot, units, meta, flagged)
            return self._pending

    def _live_meta(self) -> ReportMeta:
        s = self._session
        if s is None:
            return ReportMeta(kind="live view (not recording)", live=True, samples=self.bench.sample_count)
        return ReportMeta(
            session_id=s.id,
            started_ns=s.started_ns,
            ended_ns=s.ended_ns,
            kind=s.meta.kind,
            operator=s.meta.operator,
            battery_id=s.meta.battery_id,
            notes=s.meta.notes,
            info=dict(s.info),
            store=str(self.store_path or ""),
            live=True,
        )

    def _compute_live(
        self,
        snapshot: dict[str, list[tuple[np.ndarray, np.ndarray]]],
        units: dict[str, str],
        meta: ReportMeta,
        flagged: dict[str, int] | None = None,
    ) -> Verification | None:
        try:
            data: dict[str, ChannelData] = {
                n: (np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]))
                for n, chunks in snapshot.items()
                if chunks
            }
            v = Verification(LIVE, analyse(data, self.settings, units, flagged), meta)
        except Exception:
            log.exception("live verification failed")
            return None
        self._publish(v)
        return v

    def _publish(self, v: Verification) -> None:
        with self._lock:
            self.latest[v.origin] = v
            self.computations += 1
        self.result_ready.emit(v)

    # -- stored sessions -------------------------------------------------------------------------
    def sessions(self) -> list[SessionInfo]:
        """Stored sessions (newest last); empty without a store."""
        if self.store_path is None or not self.store_path.exists():
            return []
        with Store(self.store_path, readonly=True) as store:
            return store.sessions()

    def analyse_session(self, ref: str) -> Future[Verification]:
        """Verify a stored or imported session on the worker thread; the result is also announced."""
        if self.store_path is None:
            raise StoreError("no session store configured")
        store_path = self.store_path

        def work() -> Verification:
            v = verify_session(store_path, ref, self.settings)
            self._publish(v)
            return v

        return self._pool.submit(work)

    # -- reports ---------------------------------------------------------------------------------
    def write_report(
        self, v: Verification, html_path: str | Path, json_path: str | Path | None = None
    ) -> Future[None]:
        """Write ``v`` as an HTML report (and JSON) on the worker thread; see :attr:`report_written`."""

        def work() -> None:
            try:
                write_report(v, html_path, json_path, self.protected)
            except Exception as exc:
                log.error("writing the verification report %s failed: %s", html_path, exc)
                self.report_written.emit(Path(html_path), exc)
                raise
            log.info("verification report written to %s", html_path)
            self.report_written.emit(Path(html_path), None)

        return self._pool.submit(work)

    def close(self) -> None:
        self._stop_timer()
        self.bench.samples_published.disconnect(self._on_samples)
        self.bench.session_changed.disconnect(self._on_session)
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
