"""The transaction layer: telegrams out, matching answers in — locking, pipelining, retries.

:class:`TelegramLink` knows nothing about objects or units (that is the driver's job); it sends
:class:`Request` s over a :class:`~benchgui.instruments.transport.Transport` and returns their
answers, in order:

* one exchange at a time has the line, so polling and setpoints never interleave bytes on it;
* within an exchange the next telegram goes out the moment the previous answer is complete —
  no waits of our own; ``pipeline_depth`` > 1 keeps several requests outstanding (full-duplex
  RS232; whether the real EL buffers a second query is UNCONFIRMED, so the default is 1);
* each answer has its own timeout; timeouts, corrupted answers and the device's "checksum
  wrong"/"start delimiter wrong" codes are retried after a resync (input discarded), at most
  ``retries`` times; other error codes raise their :class:`~.protocol.EaDeviceError` at once;
* answers that do not belong to the request are **stray**: counted (``stats.stray_answers``),
  logged and dropped — never a refusal, never a reason to reconnect. Stray are: whatever arrived
  before a request was sent (a late or duplicated answer: nothing was outstanding), an answer
  with another object than the query, and an acknowledgement (OBJ 0xFF, code 0x00) while a
  query waits (a query is answered with data or an error code, never an ACK). An ACK cannot be
  told from another ACK, so a late ACK that arrives while a *write* waits is taken as its
  answer; the real one is then stray (and the supervisor confirms "load off" by a status read);
* **urgent** exchanges (safety: the load off, and confirming it) go before every waiting
  ordinary one and cancel the ordinary one in progress, its retries included — its caller
  gets :class:`LinkPreempted` — so the urgent telegram is the next one on the wire. Urgent
  exchanges retry on their own count (``urgent_retries``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from benchgui.errors import BenchError, InstrumentTimeout
from benchgui.instruments.ea.linelock import LineLock
from benchgui.instruments.ea.protocol import (
    CHECKSUM,
    ERROR_OBJECT,
    LINE_ERROR_CODES,
    NEED_DATA,
    Direction,
    Discarded,
    EaDeviceError,
    EaProtocolError,
    MalformedData,
    Telegram,
    TelegramReader,
    device_error,
)
from benchgui.instruments.ea.values import ObjectSpec
from benchgui.instruments.transport import Transport

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: (direction, bytes): "tx" a telegram sent, "rx" a telegram received, "discarded" skipped bytes
TelegramTrace = Callable[[str, bytes], None]


@dataclass
class LinkStats:
    transactions: int = 0
    telegrams_sent: int = 0
    answers: int = 0
    retries: int = 0
    timeouts: int = 0
    corrupt_answers: int = 0
    stray_answers: int = 0  # answers that fit no pending request: counted, logged, dropped
    discarded_bytes: int = 0
    refusals: int = 0
    preempted: int = 0  # ordinary exchanges cancelled by an urgent (safety) one

    @property
    def stale_answers(self) -> int:
        """The former name of :attr:`stray_answers` (soak reports use it)."""
        return self.stray_answers


class LinkPreempted(BenchError):
    """An ordinary exchange was cancelled because a safety command took the line. The link is
    fine: a poll simply skips this round; a command was not (fully) carried out."""


@dataclass(frozen=True)
class Request:
    """A telegram to send, its encoding, and what it is about (for matching and messages)."""

    telegram: Telegram
    raw: bytes
    spec: ObjectSpec | None
    label: str

    @classmethod
    def of(cls, telegram: Telegram, label: str, spec: ObjectSpec | None = None) -> Request:
        return cls(telegram, telegram.encode(), spec, label)

    @property
    def is_query(self) -> bool:
        return self.telegram.data == b""

    def matches(self, t: Telegram) -> bool:
        """Its answer: the same object or an error code for a query; OBJ 0xFF (ACK or error
        code) for a write. An ACK (code 0x00) never answers a query: it is a stray one."""
        if t.obj == ERROR_OBJECT:
            return not (self.is_query and t.error_code == 0)
        return self.is_query and t.obj == self.telegram.obj


class _Corrupt(Exception):
    def __init__(self, error: EaProtocolError) -> None:
        self.error = error


class TelegramLink:
    def __init__(
        self,
        transport: Transport,
        *,
        max_node: int = 31,
        timeout_s: float = 0.5,
        retries: int = 2,
        pipeline_depth: int = 1,
        urgent_retries: int = 5,
    ) -> None:
        if pipeline_depth < 1:
            raise ValueError("pipeline_depth must be >= 1")
        self.transport = transport
        self.timeout_s = timeout_s
        self.retries = retries
        self.urgent_retries = urgent_retries
        self.pipeline_depth = pipeline_depth
        self.trace: TelegramTrace | None = None
        self.stats = LinkStats()
        self.device = ""  # who answers, for refusal messages ("EL 3160-60A")
        self._reader = TelegramReader(Direction.FROM_DEVICE, max_node=max_node)
        self._line = LineLock()
        self._dirty = False

    @property
    def waiting(self) -> int:
        """Exchanges waiting for the line (tests, diagnostics)."""
        return self._line.waiting

    @property
    def ordinary_exchange(self) -> bool:
        """An ordinary (not urgent) exchange has the line now (benchmarks, diagnostics)."""
        return self._line.holder is not None and not self._line.holder_urgent

    def reset(self) -> None:
        """Forget buffered bytes (after the port was (re)opened)."""
        self._reader.clear()
        self._dirty = False

    async def transact(self, reqs: Sequence[Request], *, urgent: bool = False) -> list[Telegram]:
        """Run ``reqs`` in order with the line to ourselves; return their answers (refusals
        raised). ``urgent`` (safety) goes first and cancels an ordinary exchange in progress."""
        retries = self.urgent_retries if urgent else self.retries
        return await self._preemptible(self._exchange(reqs, retries), urgent, reqs[0].label)

    async def exchange_raw(self, data: bytes, timeout_s: float | None = None) -> Telegram:
        """Send arbitrary bytes and return the next telegram received (no retries) — for tests
        and for probing unconfirmed objects."""
        req = Request(Telegram(0, 0, ERROR_OBJECT), bytes(data), None, f"raw {data.hex(' ')}")
        return await self._preemptible(self._raw(req, timeout_s), False, req.label)

    async def _preemptible(self, work: Coroutine[Any, Any, _T], urgent: bool, label: str) -> _T:
        """Run ``work`` holding the line; a preemption of an ordinary exchange becomes
        :class:`LinkPreempted` (any other cancellation stays a cancellation)."""
        task = asyncio.current_task()
        try:
            async with self._line.hold(urgent):
                return await work
        except asyncio.CancelledError:
            if not self._line.take_preemption(task):
                raise
            self._dirty = True
            self.stats.preempted += 1
            what = f"{self.transport.name}: {label} preempted by a safety command"
            log.info("%s", what)
            raise LinkPreempted(what) from None
        finally:
            work.close()  # never started when the wait for the line was cancelled

    async def _exchange(self, reqs: Sequence[Request], retries: int) -> list[Telegram]:
        if self._dirty:  # a previous exchange was interrupted (cancelled): bytes may be pending
            self._resync()
        await self._drop_strays()
        self._dirty = True
        answers: list[Telegram] = []
        failures = 0
        while len(answers) < len(reqs):
            problem = await self._batch(reqs[len(answers) :], answers)
            if problem is None:
                break
            failures += 1
            if failures > retries:
                raise problem
            self.stats.retries += 1
            log.debug("%s: %s; retry %d of %d", self.transport.name, problem, failures, retries)
            self._resync()
        self._dirty = False
        self.stats.transactions += len(reqs)
        return answers

    async def _raw(self, req: Request, timeout_s: float | None) -> Telegram:
        self._resync()
        self._dirty = True
        await self._send(req)
        loop = asyncio.get_running_loop()
        t = await self._receive(req, loop.time() + (timeout_s or self.timeout_s), any_answer=True)
        self._dirty = False
        return t

    # -- internals ---------------------------------------------------------------------------------
    async def _batch(self, todo: Sequence[Request], answers: list[Telegram]) -> Exception | None:
        """Send ``todo`` (up to ``pipeline_depth`` outstanding) and collect answers into
        ``answers``. Returns a retryable problem, raises a refusal, None when all answered."""
        loop = asyncio.get_running_loop()
        sent = got = 0
        while got < len(todo):
            while sent < len(todo) and sent - got < self.pipeline_depth:
                await self._send(todo[sent])
                sent += 1
            req = todo[got]
            try:
                t = await self._receive(req, loop.time() + self.timeout_s)
            except InstrumentTimeout as exc:
                return exc
            except _Corrupt as exc:
                return exc.error
            if t.obj == ERROR_OBJECT and (req.is_query or t.error_code != 0):
                err = self._refusal(req, t)
                if err.code in LINE_ERROR_CODES:
                    return err
                await self._drain(sent - got - 1, loop.time() + self.timeout_s)
                raise err
            answers.append(t)
            got += 1
        return None

    def _refusal(self, req: Request, t: Telegram) -> EaDeviceError:
        self.stats.refusals += 1
        if t.error_code is None:
            raise MalformedData(f"error answer to {req.label} without a single code byte: {t.describe()}")
        err = device_error(t.error_code, f"{self.device}: {req.label}" if self.device else req.label)
        log.info("%s", err)
        return err

    async def _drain(self, outstanding: int, deadline: float) -> None:
        """Collect the answers to requests already sent after a refusal (keeps the stream aligned)."""
        drain = Request(Telegram(0, 0, ERROR_OBJECT), b"", None, "outstanding answers")
        for _ in range(outstanding):
            try:
                await self._receive(drain, deadline, any_answer=True)
            except (InstrumentTimeout, _Corrupt):
                self._resync()
                return

    async def _send(self, req: Request) -> None:
        if self.trace is not None:
            self.trace("tx", req.raw)
        await self.transport.write(req.raw)
        self.stats.telegrams_sent += 1

    async def _receive(self, req: Request, deadline: float, any_answer: bool = False) -> Telegram:
        reader = self._reader
        while True:
            ev = reader.next_event()
            if ev is NEED_DATA:
                try:
                    async with asyncio.timeout_at(deadline):
                        data = await self.transport.read()
                except TimeoutError:
                    data = await self._read_now()  # the loop may have stalled with the answer waiting
                    if not data:
                        self.stats.timeouts += 1
                        raise InstrumentTimeout(
                            f"{self.transport.name}: no answer to {req.label} within {self.timeout_s:g} s"
                        ) from None
                reader.feed(data)
                continue
            if isinstance(ev, Discarded):
                self.stats.discarded_bytes += len(ev.data)
                if self.trace is not None:
                    self.trace("discarded", ev.data)
                if ev.reason == CHECKSUM:
                    self.stats.corrupt_answers += 1
                    raise _Corrupt(
                        EaProtocolError(
                            f"{self.transport.name}: corrupted answer to {req.label} "
                            f"(checksum mismatch): {ev.data.hex(' ')}"
                        )
                    )
                log.debug("%s: skipped %d byte(s) of garbage", self.transport.name, len(ev.data))
                continue
            assert isinstance(ev, Telegram)
            if self.trace is not None:
                self.trace("rx", ev.encode())
            if any_answer or req.matches(ev):
                self.stats.answers += 1
                return ev
            self._stray(ev, f"while waiting for {req.label}")

    def _stray(self, t: Telegram, when: str) -> None:
        self.stats.stray_answers += 1
        log.info("%s: dropped a stray answer %s %s", self.transport.name, t.describe(), when)

    async def _drop_strays(self) -> None:
        """Nothing is outstanding before a request goes out: whatever has arrived (a late or a
        duplicated answer) is stray — counted and dropped, so it cannot pass for the answer."""
        reader = self._reader
        while data := await self._read_now():
            reader.feed(data)
        while (ev := reader.next_event()) is not NEED_DATA:
            if isinstance(ev, Telegram):
                if self.trace is not None:
                    self.trace("rx", ev.encode())
                self._stray(ev, "before a request was sent")
            elif isinstance(ev, Discarded):
                self.stats.discarded_bytes += len(ev.data)
                if self.trace is not None:
                    self.trace("discarded", ev.data)
        if reader.buffered:  # the start of a telegram nobody asked for
            self.stats.discarded_bytes += reader.buffered
            reader.clear()

    async def _read_now(self) -> bytes:
        """What has arrived already, without waiting. After a stalled event loop (a GUI busy
        for a second) the timeout fires in the same turn as the answer's readiness; this gives
        the answer a last chance instead of counting a timeout that did not happen on the line."""
        try:
            async with asyncio.timeout(0):
                return await self.transport.read()
        except TimeoutError:
            return b""

    def _resync(self) -> None:
        self._reader.clear()
        self.transport.discard_input()
