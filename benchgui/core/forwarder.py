"""The forwarder service: drains the session store to InfluxDB from its own thread.

Registered as ``bench.services.forwarder`` by the assembly when an InfluxDB target is
configured. It polls the store every ``interval_s`` (the recorder commits every 0.25 s), sends
full batches back to back while there is a backlog, and on any
:class:`~benchgui.recording.sinks.SinkUnavailable` waits with exponential back-off (0.5 s
doubling to ``max_backoff_s``, or the server's ``Retry-After``) before trying again. Nothing is
ever dropped: what is not acknowledged stays in the store, also across restarts.

:attr:`ForwarderService.state` is a snapshot (connected, backlog, last success, last error…)
that the recording panel shows; :attr:`state_changed` fires on the forwarder thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgui.recording.forward import Forwarder, ForwarderBusy, ForwardLock
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.sinks import InfluxSink, SinkUnavailable, make_sink, preload
from benchgui.recording.store import Store
from benchgui.signals import Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForwarderState:
    target: str  # what the operator sees: "InfluxDB 1.x http://pi:8086 db=bench"
    running: bool = False
    connected: bool | None = None  # None: not tried yet
    backlog_samples: int = 0
    backlog_events: int = 0
    last_success_ns: int | None = None  # wall clock of the last acknowledged write
    last_error: str = ""
    last_error_ns: int | None = None
    retry_in_s: float | None = None  # waiting this long before the next attempt
    sent_points: int = 0  # since this service started
    quarantined: int = 0  # in the store, for this target

    @property
    def backlog(self) -> int:
        return self.backlog_samples + self.backlog_events


#: the longest wait a server's Retry-After can impose (a broken header must not stall a bench for days)
RETRY_AFTER_CAP_S = 600.0


def backoff_delay(base_s: float, retry_after_s: float | None, rng: random.Random) -> float:
    """How long to wait before the next attempt.

    "Equal jitter": half the exponential back-off plus a random half, so many benches that lost
    the same server do not come back in lock-step. A server's ``Retry-After`` is a floor (up to
    :data:`RETRY_AFTER_CAP_S`), also above ``max_backoff_s``: it knows its load better than we do.
    """
    delay = base_s * (0.5 + 0.5 * rng.random())
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, RETRY_AFTER_CAP_S))
    return delay


class ForwarderService:
    def __init__(
        self,
        store_path: str | Path,
        target: InfluxTarget,
        sink_factory: Callable[[InfluxTarget], InfluxSink] = make_sink,
        rng: random.Random | None = None,
    ) -> None:
        self.store_path = Path(store_path)
        self.target = target
        self._sink_factory = sink_factory
        self._rng = rng or random.Random()
        self._state = ForwarderState(target.describe())
        self._lock = threading.Lock()
        self.state_changed: Signal[[ForwarderState]] = Signal("forwarder.state_changed")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drain_until: float | None = None  # monotonic deadline for the final drain
        self._thread: threading.Thread | None = None

    # -- observable state --------------------------------------------------------------------------
    @property
    def state(self) -> ForwarderState:
        with self._lock:
            return self._state

    def _update(self, **changes: Any) -> None:
        """Replace fields of the state snapshot; observers hear of it only if something changed."""
        with self._lock:
            new = dataclasses.replace(self._state, **changes)
            changed = new != self._state
            self._state = new
        if changed:
            self.state_changed.emit(new)

    # -- control -----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            preload(self.target)  # imports on this (main) thread, not the worker's
            self._thread = threading.Thread(target=self._run, name="benchgui-forwarder", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Try now (ends a back-off wait early): the panel's "Retry now"."""
        self._wake.set()

    def close(self, drain_s: float = 0.0, timeout: float = 10.0) -> None:
        """Stop the thread; with ``drain_s`` > 0 first try to send what is left for that long."""
        self._drain_until = time.monotonic() + drain_s if drain_s > 0 else None
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + drain_s)
            if self._thread.is_alive():
                log.error("forwarder thread did not stop within %.0f s", timeout + drain_s)
            self._thread = None

    async def aclose(self, drain_s: float = 3.0) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close, drain_s)

    # -- the thread ----------------------------------------------------------------------------------
    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _draining(self) -> bool:
        return self._drain_until is not None and time.monotonic() < self._drain_until

    def _run(self) -> None:
        self._update(running=True)
        lock = ForwardLock(self.store_path)
        while True:  # the lock: another process (benchgui forward) may be draining right now
            try:
                lock.acquire()
                break
            except ForwarderBusy as exc:
                self._update(connected=None, last_error=str(exc), last_error_ns=time.time_ns())
                if self._stop.is_set():
                    self._update(running=False)
                    return
                self._wait(5.0)
        try:
            store = Store(self.store_path)
            sink = self._sink_factory(self.target)
            fwd = Forwarder(store, sink, self.target.batch_size)
            try:
                self._loop(fwd)
            finally:
                fwd.close()
                sink.close()
                store.close()
        except Exception as exc:
            log.exception("forwarder stopped by an internal error")
            self._update(last_error=f"internal error: {exc}", last_error_ns=time.time_ns())
        finally:
            lock.release()
            self._update(running=False, retry_in_s=None)

    def _loop(self, fwd: Forwarder) -> None:
        base = 0.0  # the back-off before jitter: 0.5 s doubling to max_backoff_s
        self._update(
            quarantined=fwd.ledger.quarantined_count(),
            last_success_ns=fwd.ledger.last_success_ns(),
        )
        while True:
            if self._stop.is_set() and not self._draining():
                return
            try:
                r = fwd.step()
            except SinkUnavailable as exc:
                if self._stop.is_set():
                    return  # shutting down and the server is away: the backlog waits on disk
                base = min(self.target.max_backoff_s, max(0.5, base * 2))
                delay = backoff_delay(base, exc.retry_after_s, self._rng)
                s_back, e_back = fwd.backlog()
                if self.state.last_error != exc.reason or self.state.connected is not False:
                    log.warning("InfluxDB unavailable (%s); retrying in %.1f s", exc.reason, delay)
                self._update(
                    connected=False,
                    last_error=exc.reason,
                    last_error_ns=time.time_ns(),
                    retry_in_s=delay,
                    backlog_samples=s_back,
                    backlog_events=e_back,
                )
                self._wait(delay)
                continue
            if self.state.connected is False:
                log.info("InfluxDB reachable again: %s", self.target.describe())
            base = 0.0
            s_back, e_back = fwd.backlog()
            changes: dict[str, object] = {
                "connected": True,
                "retry_in_s": None,
                "backlog_samples": s_back,
                "backlog_events": e_back,
            }
            if r.points or r.quarantined:
                changes["last_success_ns"] = time.time_ns()
                changes["sent_points"] = self.state.sent_points + r.points
            if r.quarantined:
                changes["quarantined"] = self.state.quarantined + r.quarantined
                changes["last_error"] = f"{r.quarantined} point(s) refused as bad data and quarantined"
                changes["last_error_ns"] = time.time_ns()
            self._update(**changes)
            if r.more:
                continue
            if self._stop.is_set():
                return  # drained
            self._wait(self.target.interval_s)
