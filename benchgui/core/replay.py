"""Replay a stored session (recorded or imported) as if it were live, 1× to 1000×.

:class:`ReplaySource` is an ordinary :class:`~benchgui.instruments.base.Source`: it reads the
session from the store in time windows (a background thread, read-only connection) and publishes
each sample through the bench when the bench clock reaches its time. The bench clock is a
:class:`~benchgui.clock.ScaledClock` that starts at the session's first sample and runs
``speed`` times faster, so the plots, the readouts and anything that listens to the bench (the
SOC estimator, verification) see the original timestamps at the chosen pace. Nothing is recorded
again: the replay bench has no recorder.

Operator annotations made during a replay belong to the replayed session: :class:`ReplayService`
(``bench.services.replay``) stores them there, so they are "added afterwards".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchgui.clock import Clock, ScaledClock, ns_to_s, s_to_ns
from benchgui.core.annotations import AnnotationWriter
from benchgui.core.bench import Bench
from benchgui.errors import ValueOutOfRange
from benchgui.instruments.base import SampleSink, Source
from benchgui.model import Channel, Event, InstrumentState, Sample, SessionInfo
from benchgui.recording.store import Store

log = logging.getLogger(__name__)

MIN_SPEED, MAX_SPEED = 1.0, 1000.0
TICK_S = 0.02  # real seconds between publishes when samples are dense


@dataclass(frozen=True)
class ReplayPlan:
    """What to replay: the session and its channels (with rates from their sample counts)."""

    store_path: Path
    session: SessionInfo
    channels: list[Channel]
    first_ns: int
    last_ns: int


def plan_replay(store_path: str | Path, ref: str) -> ReplayPlan:
    """Look a session up (id, prefix or ``latest``); raise SessionNotFound / StoreError."""
    with Store(store_path, readonly=True) as store:
        info = store.session(ref)
        span = store.session_span(info.id)
        if span is None:
            raise ValueOutOfRange(f"session {info.id} has no samples to replay")
        counts = store.sample_counts(info.id)
        duration = max(1e-9, ns_to_s(span[1] - span[0]))
        channels = [
            replace(c, rate_hz=max(0.01, counts.get(c.name, 0) / duration)) for c in store.channels(info.id)
        ]
    return ReplayPlan(Path(store_path), info, channels, span[0], span[1])


class ReplayClock(ScaledClock):
    """A scaled clock that starts at the session's first sample when the replay begins, and
    stands still while the replay waits for the store (so time never runs ahead of the data)."""

    def __init__(self, speed: float = 1.0, start_ns: int | None = None) -> None:
        super().__init__(speed, start_ns)
        self._held_at: float | None = None

    def restart(self) -> None:
        self._m0 = time.monotonic()
        self._held_at = None

    def hold(self) -> None:
        if self._held_at is None:
            self._held_at = time.monotonic()

    def release(self) -> None:
        if self._held_at is not None:
            self._m0 += time.monotonic() - self._held_at
            self._held_at = None

    def elapsed(self) -> float:
        now = self._held_at if self._held_at is not None else time.monotonic()
        return (now - self._m0) * self.speed


class ReplaySource(Source):
    id = "replay"

    def __init__(self, plan: ReplayPlan, window_s: float = 1.0) -> None:
        super().__init__()
        self.plan = plan
        self.window_s = window_s  # bench seconds read per query, scaled with the speed
        self.published = 0
        self.position_ns: int | None = None  # time of the newest sample published
        self.finished = False

    def channels(self) -> list[Channel]:
        return list(self.plan.channels)

    def info(self) -> dict[str, Any]:
        return {"replay_of": self.plan.session.id}

    def _read(self, store: Store, keys: dict[int, str], t0: int, t1: int) -> list[Sample]:
        """Samples with t0 <= t < t1, in time order (one index range per channel)."""
        rows = store.sample_rows(self.plan.session.id, keys, t0, t1)
        rows.sort(key=lambda r: r[1])
        return [Sample(keys[c], t, math.nan if v is None else v, f) for c, t, v, f in rows]

    @staticmethod
    def _open_store(path: Path, names: list[str]) -> tuple[Store, dict[int, str]]:
        store = Store(path, readonly=True)
        return store, store.channel_keys(names)

    async def _reader(self, queue: asyncio.Queue[list[Sample] | None], speed: float) -> None:
        """Read windows ahead of the clock on one thread (an SQLite connection stays on its thread)."""
        names = [c.name for c in self.plan.channels]
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="benchgui-replay") as pool:
            store: Store | None = None
            try:
                opened, keys = await loop.run_in_executor(pool, self._open_store, self.plan.store_path, names)
                store = opened
                step = s_to_ns(max(self.window_s, 0.5 * speed))
                t = self.plan.first_ns
                while t <= self.plan.last_ns:
                    chunk = await loop.run_in_executor(pool, self._read, opened, keys, t, t + step)
                    t += step
                    if chunk:
                        await queue.put(chunk)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("replay of %s cannot read the store", self.plan.session.id)
                self._set_status(InstrumentState.ERROR, f"cannot read the session: {exc}")
            finally:
                if store is not None:
                    pool.submit(store.close)
            await queue.put(None)

    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        return f"replaying session {self.plan.session.id}"

    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        """Publish each sample when the clock reaches it; return when the session is done."""
        queue: asyncio.Queue[list[Sample] | None] = asyncio.Queue(maxsize=2)
        reader = asyncio.create_task(self._reader(queue, clock.speed), name="replay-reader")
        rclock = clock if isinstance(clock, ReplayClock) else None
        try:
            pending: list[Sample] = []
            i = 0
            first = True
            while True:
                if i >= len(pending):
                    if rclock is not None and queue.empty():
                        rclock.hold()
                    chunk = await queue.get()
                    if rclock is not None:
                        if first:
                            rclock.restart()  # the first sample's time is "now"
                        rclock.release()
                    first = False
                    if chunk is None:
                        break
                    pending, i = chunk, 0
                now = clock.now_ns()
                j = i
                while j < len(pending) and pending[j].t_ns <= now:
                    j += 1
                if j > i:
                    sink.publish(pending[i:j])
                    self.published += j - i
                    self.position_ns = pending[j - 1].t_ns
                    i = j
                if i < len(pending):
                    wait_s = ns_to_s(pending[i].t_ns - now)
                    await clock.sleep(max(wait_s, TICK_S * clock.speed) if wait_s > 0 else 0)
            self.finished = True
            if self.status.state is InstrumentState.CONNECTED:  # not when reading the store failed
                self._set_status(InstrumentState.CONNECTED, f"replay of {self.plan.session.id} finished")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


class ReplayService:
    """The replayed session, for the window; stores annotations made during the replay in it."""

    def __init__(self, bench: Bench, plan: ReplayPlan, speed: float) -> None:
        self.plan = plan
        self.speed = speed
        self.bench = bench
        self.writer = AnnotationWriter(plan.store_path)
        bench.event_recorded.connect(self._on_event)

    @property
    def session(self) -> SessionInfo:
        return self.plan.session

    def position_s(self) -> float:
        """Where the replay is: the newest published sample (the clock may run a little ahead
        of it when the machine is busy), or the bench clock before the first one."""
        src = self.bench.sources.get(ReplaySource.id)
        pos = src.position_ns if isinstance(src, ReplaySource) else None
        return ns_to_s(pos if pos is not None else self.bench.clock.now_ns())

    def _on_event(self, event: Event) -> None:
        if event.kind == "annotation":
            self.writer.add(self.plan.session.id, event.t_ns, event.text)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.writer.close)


def replay_bench(
    store_path: str | Path, ref: str, speed: float = 1.0, history_s: float = 3900.0
) -> tuple[Bench, ReplayService]:
    """A bench whose only source replays session ``ref``; its clock starts at the first sample."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueOutOfRange(f"replay speed must be {MIN_SPEED:g}…{MAX_SPEED:g}, got {speed:g}")
    plan = plan_replay(store_path, ref)
    clock = ReplayClock(speed, start_ns=plan.first_ns)
    bench = Bench(clock, [ReplaySource(plan)], None, history_s=history_s, name=f"replay of {plan.session.id}")
    service = ReplayService(bench, plan, speed)
    bench.services.replay = service
    return bench, service
