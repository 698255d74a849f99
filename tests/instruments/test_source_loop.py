"""The one connection loop every source shares (Source.run), with a scripted fake device: what
it reports, when it counts a reconnect, what it does on a refusal, a permanent failure and a
cancellation. No ptys, no sockets: each attempt's outcome is a list entry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import pytest

from benchgui.clock import Clock, WallClock
from benchgui.errors import DeviceRefused, TransportError
from benchgui.instruments.base import SampleSink, Source, SourceUnavailable
from benchgui.instruments.transport import Backoff
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(60)


class Sink:
    def __init__(self) -> None:
        self.statuses: list[InstrumentStatus] = []
        self.info_updates = 0

    def publish(self, samples: Sequence[Sample]) -> None:
        pass

    def set_status(self, status: InstrumentStatus) -> None:
        self.statuses.append(status)

    def record_event(self, kind: str, text: str, data: dict[str, Any] | None = None) -> object:
        return None

    def add_channels(self, channels: Sequence[Channel]) -> None:
        pass

    def update_session_info(self) -> None:
        self.info_updates += 1


class Scripted(Source):
    """Each connection attempt takes the next outcome: an exception for ``_open`` to raise, or
    ``"ok"`` (then ``_acquire`` waits until :meth:`lose` makes it raise)."""

    id = "fake"
    refusals = (DeviceRefused,)
    refused_retry_s = 0.05

    def __init__(self, outcomes: list[BaseException | str]) -> None:
        super().__init__(Backoff(0.001, 0.004))
        self.outcomes = outcomes
        self.calls: list[str] = []
        self._lost: asyncio.Future[None] | None = None

    def channels(self) -> list[Channel]:
        return []

    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        self.calls.append("open")
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        return "fake device"

    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        self.calls.append("acquire")
        self._lost = asyncio.get_running_loop().create_future()
        await self._lost
        raise TransportError("link gone")

    def lose(self) -> None:
        assert self._lost is not None
        self._lost.set_result(None)

    async def _close(self) -> None:
        self.calls.append("close")

    async def _safe_state(self) -> None:
        self.calls.append("safe")


async def _start(src: Source, sink: Sink) -> asyncio.Task[None]:
    return asyncio.create_task(src.run(sink, WallClock()))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


async def test_attempts_connect_lose_and_reconnect() -> None:
    src, sink = Scripted([TransportError("no port"), TransportError("no port")]), Sink()
    task = await _start(src, sink)
    try:
        await async_wait_until(lambda: src.status.state is InstrumentState.CONNECTED, 10, what="connected")
        texts = [(s.state, s.text, s.reconnects) for s in sink.statuses]
        assert texts == [
            (InstrumentState.CONNECTING, "no port", 0),
            (InstrumentState.CONNECTING, "no port (attempt 2)", 0),
            (InstrumentState.CONNECTED, "fake device", 0),
        ]
        assert sink.info_updates == 1  # identities are stored once connected
        assert src.connects == 1
        src.outcomes[:] = [TransportError("no port")]
        src.lose()
        await async_wait_until(lambda: src.connects == 2, 10, what="reconnected")
        after = [(s.state, s.text, s.reconnects) for s in sink.statuses[3:]]
        assert after == [
            (InstrumentState.RECONNECTING, "link gone", 1),
            (InstrumentState.RECONNECTING, "no port (attempt 2)", 1),
            (InstrumentState.CONNECTED, "fake device", 1),
        ]
        assert sink.statuses[-2].describe() == "reconnecting (1): no port (attempt 2)"
        assert src.calls.count("close") == 4  # after every failed attempt and every lost link
    finally:
        await _stop(task)


async def test_cancel_leaves_the_device_safe_then_closes_and_reports_stopped() -> None:
    src, sink = Scripted([]), Sink()
    task = await _start(src, sink)
    await async_wait_until(lambda: "acquire" in src.calls, 10, what="acquiring")
    await _stop(task)
    assert src.calls[-2:] == ["safe", "close"]
    assert sink.statuses[-1].state is InstrumentState.STOPPED


async def test_not_connected_when_cancelled_skips_the_safe_state() -> None:
    src, sink = Scripted([TransportError("no port")] * 1000), Sink()
    task = await _start(src, sink)
    await async_wait_until(lambda: len(sink.statuses) >= 3, 10, what="attempts")
    await _stop(task)
    assert "safe" not in src.calls
    assert sink.statuses[-1].state is InstrumentState.STOPPED


async def test_a_refusal_is_an_error_retried_slowly_until_it_is_accepted() -> None:
    src, sink = Scripted([DeviceRefused("bad range")]), Sink()
    task = await _start(src, sink)
    try:
        await async_wait_until(lambda: src.status.state is InstrumentState.CONNECTED, 10, what="connected")
        assert [s.state for s in sink.statuses] == [InstrumentState.ERROR, InstrumentState.CONNECTED]
        assert sink.statuses[0].text == "configuration refused: bad range"
        assert src.backoff.max_s == 0.004  # the slow retries ended with the connection
    finally:
        await _stop(task)


async def test_an_unavailable_source_says_so_and_stops_trying() -> None:
    src, sink = Scripted([SourceUnavailable("vendor library missing")]), Sink()
    task = await _start(src, sink)
    try:
        await async_wait_until(lambda: src.status.state is InstrumentState.ERROR, 10, what="error")
        assert src.status.text == "vendor library missing"
        opened = src.calls.count("open")
        # a negative check: ten back-off caps in which a retry would have happened (a slow
        # machine can only make this pass wrongly, never fail wrongly)
        await asyncio.sleep(10 * src.backoff.max_s)
        assert src.calls.count("open") == opened == 1
        assert not task.done()
    finally:
        await _stop(task)
    assert sink.statuses[-1].state is InstrumentState.STOPPED


async def test_status_extras_and_refresh() -> None:
    class Counting(Scripted):
        bad = 0

        def _status_extras(self, text: str) -> tuple[str, dict[str, Any]]:
            return (f"{text}; {self.bad} bad" if self.bad else text), {"bad": self.bad}

    src, sink = Counting([]), Sink()
    task = await _start(src, sink)
    try:
        await async_wait_until(lambda: src.status.state is InstrumentState.CONNECTED, 10, what="connected")
        n = len(sink.statuses)
        src._refresh_status()  # nothing changed: nothing reported
        assert len(sink.statuses) == n
        src.bad = 2
        src._refresh_status()
        assert sink.statuses[-1].text == "fake device; 2 bad"
        assert sink.statuses[-1].detail == {"bad": 2}
    finally:
        await _stop(task)
