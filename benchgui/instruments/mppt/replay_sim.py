"""``benchgui sim mppt --replay TRACE``: an MPPT that answers like the one a wire trace recorded.

ThingSet text mode is one request line, one response line (``:85 Content. …``), with
publication lines (``# {…}``) in between [thingset-text-mode.md §1]. :class:`MpptReplayBook`
pairs each recorded response with the oldest request still waiting (the firmware answers in
order), keyed by the exact request line, and — failing that — by its prefix and path
(``=input`` is answered as the recorded ``=input`` was). Recorded answers are served in order
and then round again. The recorded publications are re-published in order, round again, at the
median interval the trace shows. A request the trace never saw gets no answer (counted, logged).

A replay has no device state: after ``=input {"LoadEn":false}`` it publishes what it recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import statistics
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from benchgui.instruments.trace import Record, Trace, TraceError
from benchgui.simbench.pty import PtyPort
from benchgui.simbench.serving import PtyTaskServer, serve_pty

log = logging.getLogger(__name__)

DEVICE_NAMES = ("mppt",)
DEFAULT_PERIOD_S = 1.0
QUEUE_LINES = 256


def _lines(records: list[Record], to_device: bool) -> list[tuple[float, str]]:
    """Complete lines of one direction with the time their last byte was recorded."""
    out: list[tuple[float, str]] = []
    buf = b""
    for rec in records:
        if rec.to_device != to_device:
            continue
        buf += rec.data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode("utf-8", "replace").strip("\r")
            if text:
                out.append((rec.t_s, text))
    return out


def _loose_key(request: str) -> str:
    return request.split(" ", 1)[0]


class MpptReplayBook:
    """Recorded request → response lines and the publications of one MPPT link."""

    def __init__(self, records: list[Record]) -> None:
        self.exact: dict[str, list[str]] = {}
        self.loose: dict[str, list[str]] = {}
        self._cursor: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self.publications: list[str] = []
        events = [(t, True, s) for t, s in _lines(records, True)]
        events += [(t, False, s) for t, s in _lines(records, False)]
        events.sort(key=lambda e: (e[0], not e[1]))  # a request before an answer of the same instant
        pending: deque[str] = deque()
        pub_times: list[float] = []
        self.pairs = 0
        self.recorded: list[tuple[str, str]] = []  # (request, response) in trace order
        for t, to_device, text in events:
            if to_device:
                pending.append(text)
            elif text.startswith("#"):
                self.publications.append(text)
                pub_times.append(t)
            elif text.startswith(":") and pending:
                req = pending.popleft()
                self.exact.setdefault(req, []).append(text)
                self.loose.setdefault(_loose_key(req), []).append(text)
                self.pairs += 1
                self.recorded.append((req, text))
        gaps = [b - a for a, b in itertools.pairwise(pub_times) if b > a]
        self.period_s = statistics.median(gaps) if gaps else DEFAULT_PERIOD_S

    def answer(self, request: str) -> str | None:
        key = request if request in self.exact else _loose_key(request)
        answers = self.exact.get(request) or self.loose.get(key)
        if not answers:
            self.misses[request] += 1
            if self.misses[request] == 1:
                log.warning("MPPT replay: no recorded answer for %r (not answered)", request)
            return None
        i = self._cursor[key]
        self._cursor[key] += 1
        return answers[i % len(answers)]

    @classmethod
    def from_trace(cls, trace: Trace, device: str | None = None) -> MpptReplayBook:
        name = device or trace.device_like(*DEVICE_NAMES)
        book = cls(trace.of(name))
        if not book.pairs and not book.publications:
            raise TraceError(f"{trace.path}: the {name} link recorded no answer and no publication")
        return book


class MpptReplaySimulator(PtyTaskServer):
    """The replaying MPPT on a pseudo-terminal."""

    not_started = "replay simulator not started"

    def __init__(self, book: MpptReplayBook, link: str | Path | None = None) -> None:
        super().__init__(link)
        self.book = book
        self.answers_sent = 0
        self.publications_sent = 0
        self.dropped_lines = 0  # nobody read: like the firmware's UART, the device does not wait
        self._out: asyncio.Queue[str] = asyncio.Queue(QUEUE_LINES)

    def _loops(self, port: PtyPort) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        loops = [("mppt-replay-rx", self._requests(port)), ("mppt-replay-tx", self._writer(port))]
        if self.book.publications:
            loops.append(("mppt-replay-pub", self._publish()))
        return loops

    async def _requests(self, port: PtyPort) -> None:
        buf = b""
        while True:
            try:
                buf += await port.read()
            except ConnectionError:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip("\r")
                if not text:
                    continue
                answer = self.book.answer(text)
                if answer is not None:
                    self.answers_sent += 1
                    self._send(answer)

    async def _publish(self) -> None:
        i = 0
        pubs = self.book.publications
        while True:
            self._send(pubs[i % len(pubs)])
            self.publications_sent += 1
            i += 1
            await asyncio.sleep(self.book.period_s)

    def _send(self, line: str) -> None:
        try:
            self._out.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped_lines += 1

    async def _writer(self, port: PtyPort) -> None:
        """One writer: a publication and an answer never interleave mid-line."""
        while True:
            line = await self._out.get()
            await port.write((line + "\n").encode())


async def serve_replay(
    trace: Trace, link: str | None, ready: Callable[[str], None], device: str | None
) -> None:
    """``benchgui sim mppt --replay``: serve until cancelled."""
    book = MpptReplayBook.from_trace(trace, device)
    what = f"replaying {trace.path}: {book.pairs} answers, {len(book.publications)} publications"
    await serve_pty(MpptReplaySimulator(book, link), ready, what)
