"""The bench: owns the instruments, publishes their samples, records every session.

Everything flows through :meth:`Bench.publish`: display buffers, the recorder and any listener
(SOC estimator, safety supervisor, verification, the GUI bridge) see the same samples in the
same order. The bench knows nothing of Qt; widgets connect to its :class:`Signal` s and call its
methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from benchgui.clock import Clock
from benchgui.core.display import DisplayBuffers
from benchgui.core.recorder import Recorder
from benchgui.core.services import BenchServices
from benchgui.core.session import Session
from benchgui.errors import BenchError
from benchgui.instruments.base import AinConfigurable, ChargerControl, LoadControl, Source
from benchgui.model import Channel, Event, InstrumentState, InstrumentStatus, Sample, SessionMeta
from benchgui.signals import Signal

log = logging.getLogger(__name__)


class Bench:
    def __init__(
        self,
        clock: Clock,
        sources: Sequence[Source],
        recorder: Recorder | None = None,
        *,
        history_s: float = 3900.0,
        load: LoadControl | None = None,
        name: str = "battery bench",
        simulated: bool = False,
        bench_id: str = "",
    ) -> None:
        self.clock = clock
        self.name = name  # for people: the window title, "(simulated)" added on the demo bench
        self.bench_id = bench_id  # ``[bench] name``: stamped on every session (the ``bench`` tag)
        self.simulated = simulated
        self.sources: dict[str, Source] = {s.id: s for s in sources}
        self.recorder = recorder
        self.load = load
        self.display = DisplayBuffers(history_s)
        self.channels: dict[str, Channel] = {}
        self.status: dict[str, InstrumentStatus] = {s.id: s.status for s in sources}
        self.session: Session | None = None
        self.samples_published: Signal[[Sequence[Sample]]] = Signal("samples_published")
        self.status_changed: Signal[[InstrumentStatus]] = Signal("status_changed")
        self.event_recorded: Signal[[Event]] = Signal("event_recorded")
        self.channels_added: Signal[[Sequence[Channel]]] = Signal("channels_added")
        self.session_changed: Signal[[Session | None]] = Signal("session_changed")
        self.sample_count = 0
        #: core services attached by the assembly (supervisor, programs, soc, forwarder…),
        #: looked up by the widgets that show or command them
        self.services = BenchServices()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False
        for src in sources:
            self.add_channels(src.channels())

    # -- the sink interface sources use ------------------------------------------------------
    def publish(self, samples: Sequence[Sample]) -> None:
        if not samples:
            return
        self.sample_count += len(samples)
        self.display.append(samples)
        if self.recorder is not None:
            self.recorder.on_samples(samples)
        self.samples_published.emit(samples)

    def set_status(self, status: InstrumentStatus) -> None:
        old = self.status.get(status.instrument)
        self.status[status.instrument] = status
        if old is None or old.state != status.state:
            log.info("%s: %s", status.instrument, status.describe())
            if old is not None and self.session is not None:
                self._record_instrument_state(status)
        self.status_changed.emit(status)

    def _record_instrument_state(self, status: InstrumentStatus) -> None:
        """In the session's record and in InfluxDB: the fleet dashboard's connection state."""
        connected = status.state is InstrumentState.CONNECTED
        self.record_event(
            "instrument.state",
            f"{status.instrument}: {status.describe()}",
            {f"{status.instrument}_connected": connected, "state": status.state.value},
        )

    def record_event(self, kind: str, text: str, data: dict[str, Any] | None = None) -> Event:
        event = Event(self.clock.now_ns(), kind, text, dict(data or {}))
        if self.recorder is not None:
            self.recorder.on_event(event)
        self.event_recorded.emit(event)
        return event

    def add_channels(self, channels: Sequence[Channel]) -> None:
        new = [c for c in channels if c.name not in self.channels]
        if not new:
            return
        for c in new:
            self.channels[c.name] = c
            self.display.add_channel(c)
        if self.recorder is not None:
            self.recorder.add_channels(new)
        self.channels_added.emit(new)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Start acquisition from every source (returns at once)."""
        if self._running:
            return
        self._running = True
        if self.recorder is not None:
            self.recorder.start()
        for sid, src in self.sources.items():
            self._tasks[sid] = asyncio.create_task(self._run_source(src), name=f"source-{sid}")

    async def _run_source(self, src: Source) -> None:
        """Run a source (it gets the bench as its sink here, once); if it fails with a bug
        instead of reconnecting, report and restart it."""
        delay = 0.5
        while self._running:
            try:
                await src.run(self, self.clock)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("%s stopped unexpectedly; restarting in %.1f s", src.id, delay)
                self.set_status(InstrumentStatus(src.id, InstrumentState.ERROR, f"internal error: {exc}"))
                await asyncio.sleep(delay)
                delay = min(10.0, delay * 2)

    async def restart_source(
        self, source_id: str, before_start: Callable[[], object] | None = None, timeout_s: float = 5.0
    ) -> None:
        """Stop one source (it leaves its device safe and closes its port), call
        ``before_start`` (e.g. point its transport at another port), and start it again."""
        src = self.sources[source_id]
        task = self._tasks.pop(source_id, None)
        if task is not None:
            task.cancel()
            _, pending = await asyncio.wait([task], timeout=timeout_s)
            if pending:  # never run a source twice: leave it to stop() and say so
                self._tasks[source_id] = task
                raise BenchError(f"{source_id} did not stop within {timeout_s:g} s; not restarted")
        if before_start is not None:
            before_start()
        if self._running:
            self._tasks[source_id] = asyncio.create_task(self._run_source(src), name=f"source-{source_id}")

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Switch the load off, stop acquisition, end the session, flush the store."""
        if self.load is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.load.set_input(False), timeout_s)
        self._running = False
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for t in tasks:
            t.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for t in pending:
                log.error("task %s did not stop within %.1f s", t.get_name(), timeout_s)
        self.stop_session()
        if self.recorder is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.recorder.close)

    @property
    def charger(self) -> ChargerControl | None:
        """The charge controller's command interface, if the bench has one."""
        return next((s for s in self.sources.values() if isinstance(s, ChargerControl)), None)

    @property
    def ain(self) -> AinConfigurable | None:
        """The reference DAQ whose inputs can be reconfigured live, if the bench has one."""
        return next((s for s in self.sources.values() if isinstance(s, AinConfigurable)), None)

    @property
    def running(self) -> bool:
        return self._running

    # -- sessions ------------------------------------------------------------------------------
    def start_session(self, meta: SessionMeta | None = None) -> Session:
        """End the current session (if any) and start a new one."""
        self.stop_session()
        meta = meta or SessionMeta(kind="demo" if self.simulated else "live")
        if not meta.bench and self.bench_id:
            meta = dataclasses.replace(meta, bench=self.bench_id)
        now = self.clock.now_ns()
        info = {"bench": self.name, "instruments": {k: s.info() for k, s in self.sources.items()}}
        sid = self.recorder.start_session(now, meta, info) if self.recorder else f"unrecorded-{now}"
        self.session = Session(sid, now, meta, info=info)
        self.record_event(
            "session.start",
            f"session {sid} started",
            {"operator": meta.operator, "battery_id": meta.battery_id},
        )
        for status in self.status.values():  # where each instrument stands as the session begins
            self._record_instrument_state(status)
        log.info("session %s started", sid)
        self.session_changed.emit(self.session)
        return self.session

    def update_session(self, meta: SessionMeta) -> None:
        if self.session is None:
            return
        if not meta.bench:  # the bench that recorded it does not change with the metadata
            meta = dataclasses.replace(meta, bench=self.session.meta.bench)
        self.session.meta = meta
        if self.recorder is not None:
            self.recorder.update_session(meta=meta)
        self.session_changed.emit(self.session)

    def update_session_info(self) -> None:
        """Store instrument identities learned after the session started (serials, firmware)."""
        if self.session is None or self.recorder is None:
            return
        info = {"instruments": {k: s.info() for k, s in self.sources.items()}}
        self.session.info.update(info)
        self.recorder.update_session(info=info)

    def stop_session(self) -> Session | None:
        s = self.session
        if s is None:
            return None
        self.record_event("session.stop", f"session {s.id} stopped")
        s.ended_ns = self.clock.now_ns()
        if self.recorder is not None:
            self.recorder.end_session(s.ended_ns)
        self.session = None
        log.info("session %s stopped", s.id)
        self.session_changed.emit(None)
        return s

    def annotate(self, text: str, t_ns: int | None = None) -> Event:
        """An operator note at an instant (now by default)."""
        event = Event(t_ns if t_ns is not None else self.clock.now_ns(), "annotation", text)
        if self.recorder is not None:
            self.recorder.on_event(event)
        self.event_recorded.emit(event)
        return event
