"""``benchgui sim ea --replay TRACE``: an EA load that answers like the one a wire trace recorded.

:class:`EaReplayBook` (sans-IO) reads the trace's telegrams in both directions and pairs each
answer with the request it answered: the oldest request still waiting whose object it fits (the
same object, or OBJ 0xFF — an acknowledgement or an error code). A request seen again gets the
recorded answers for exactly those bytes, in recorded order and then round again (so polled
readings move as they did); failing that, an answer recorded for the same kind and object (a
write of another setpoint is acknowledged as the recorded write was). A request the trace never
saw gets no answer, like a device that does not understand it: it is counted and logged.
Answers leave after the delay the recorded device took (capped at ``MAX_DELAY_S``).

A replay has no device state: after "input on" it still reports what the trace reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgui.instruments.ea.protocol import NEED_DATA, Direction, Discarded, Telegram, TelegramReader
from benchgui.instruments.trace import Record, Trace, TraceError
from benchgui.simbench.pty import PtyPort
from benchgui.simbench.serving import PtyTaskServer, serve_pty

log = logging.getLogger(__name__)

MAX_DELAY_S = 1.0
DEVICE_NAMES = ("load", "ea")  # the bench names the EA link "load"; "ea" is accepted too


@dataclass
class _Answers:
    answers: list[tuple[bytes, float]] = field(default_factory=list)  # (raw, delay after request)
    cursor: int = 0

    def next(self) -> tuple[bytes, float]:
        raw, delay = self.answers[self.cursor % len(self.answers)]
        self.cursor += 1
        return raw, delay


def _fits(request: Telegram, answer: Telegram) -> bool:
    return answer.obj == request.obj or answer.is_status


class EaReplayBook:
    """Recorded request → answer pairs of one EA link."""

    def __init__(self, records: list[Record]) -> None:
        self.exact: dict[bytes, _Answers] = {}
        self.by_object: dict[tuple[int, int], _Answers] = {}
        self.pairs = 0
        self.recorded: list[tuple[bytes, bytes]] = []  # (request, answer) in trace order
        self.unanswered = 0  # recorded requests the device never answered (timeouts on the bench)
        self.misses: Counter[bytes] = Counter()  # requests replayed with no recorded answer
        rx_req = TelegramReader(Direction.TO_DEVICE, max_node=255)
        rx_ans = TelegramReader(Direction.FROM_DEVICE, max_node=255)
        pending: deque[tuple[Telegram, float]] = deque()
        for rec in records:
            reader = rx_req if rec.to_device else rx_ans
            reader.feed(rec.data)
            while (ev := reader.next_event()) is not NEED_DATA:
                if not isinstance(ev, Telegram):
                    continue
                if rec.to_device:
                    pending.append((ev, rec.t_s))
                    continue
                while pending and not _fits(pending[0][0], ev):
                    pending.popleft()
                    self.unanswered += 1
                if pending:
                    req, t_req = pending.popleft()
                    self._add(req, ev.encode(), max(0.0, rec.t_s - t_req))
        self.unanswered += len(pending)

    def _add(self, request: Telegram, answer: bytes, delay_s: float) -> None:
        self.pairs += 1
        self.recorded.append((request.encode(), answer))
        self.exact.setdefault(request.encode(), _Answers()).answers.append((answer, delay_s))
        self.by_object.setdefault((request.kind, request.obj), _Answers()).answers.append((answer, delay_s))

    def answer(self, request: Telegram) -> tuple[bytes, float] | None:
        """The recorded answer to ``request`` and how long the device took, or None."""
        raw = request.encode()
        book = self.exact.get(raw) or self.by_object.get((request.kind, request.obj))
        if book is None:
            self.misses[raw] += 1
            if self.misses[raw] == 1:
                log.warning("EA replay: no recorded answer for %s (not answered)", raw.hex(" "))
            return None
        return book.next()

    @classmethod
    def from_trace(cls, trace: Trace, device: str | None = None) -> EaReplayBook:
        name = device or trace.device_like(*DEVICE_NAMES)
        book = cls(trace.of(name))
        if not book.pairs:
            raise TraceError(f"{trace.path}: the {name} link has no request with a recorded answer")
        return book


class EaReplaySimulator(PtyTaskServer):
    """The replaying load on a pseudo-terminal (opened by the driver like a serial port)."""

    not_started = "replay simulator not started"

    def __init__(self, book: EaReplayBook, link: str | Path | None = None, *, timing: bool = True) -> None:
        super().__init__(link)
        self.book = book
        self.timing = timing
        self.answers_sent = 0

    def _loops(self, port: PtyPort) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [("ea-replay", self._serve(port))]

    async def _serve(self, port: PtyPort) -> None:
        reader = TelegramReader(Direction.TO_DEVICE, max_node=255)
        while True:
            try:
                reader.feed(await port.read())
            except ConnectionError:
                return
            while (ev := reader.next_event()) is not NEED_DATA:
                if isinstance(ev, Discarded):
                    log.debug("EA replay: discarded %s (%s)", ev.data.hex(" "), ev.reason)
                    continue
                assert isinstance(ev, Telegram)
                found = self.book.answer(ev)
                if found is None:
                    continue
                raw, delay = found
                if self.timing and delay > 0:
                    await asyncio.sleep(min(delay, MAX_DELAY_S))
                await port.write(raw)
                self.answers_sent += 1


async def serve_replay(
    trace: Trace, link: str | None, ready: Callable[[str], None], device: str | None
) -> None:
    """``benchgui sim ea --replay``: serve until cancelled."""
    book = EaReplayBook.from_trace(trace, device)
    what = f"replaying {trace.path}: {book.pairs} recorded answers"
    await serve_pty(EaReplaySimulator(book, link), ready, what)
