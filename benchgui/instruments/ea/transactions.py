"""The transaction layer: telegrams out, matching answers in — locking, pipelining, retries.

:class:`TelegramLink` knows nothing about objects or units (that is the driver's job); it sends
:class:`Request` s over a :class:`~benchgui.instruments.transport.Transport` and returns their
answers, in order:

* one lock serializes exchanges, so polling and setpoints never interleave bytes on the line;
* within an exchange the next telegram goes out the moment the previous answer is complete —
  no waits of our own; ``pipeline_depth`` > 1 keeps several requests outstanding (full-duplex
  RS232; whether the real EL buffers a second query is UNCONFIRMED, so the default is 1);
* each answer has its own timeout; timeouts, corrupted answers and the device's "checksum
  wrong"/"start delimiter wrong" codes are retried after a resync (input discarded), at most
  ``retries`` times; other error codes raise their :class:`~.protocol.EaDeviceError` at once;
* answers that do not belong to the request (late answers of an earlier, timed-out request)
  are counted and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchgui.errors import InstrumentTimeout
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
    stale_answers: int = 0
    discarded_bytes: int = 0
    refusals: int = 0


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
        """Its answer: the same object for a query; OBJ 0xFF (ACK or error) for anything."""
        if t.obj == ERROR_OBJECT:
            return True
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
    ) -> None:
        if pipeline_depth < 1:
            raise ValueError("pipeline_depth must be >= 1")
        self.transport = transport
        self.timeout_s = timeout_s
        self.retries = retries
        self.pipeline_depth = pipeline_depth
        self.trace: TelegramTrace | None = None
        self.stats = LinkStats()
        self.device = ""  # who answers, for refusal messages ("EL 3160-60A")
        self._reader = TelegramReader(Direction.FROM_DEVICE, max_node=max_node)
        self._lock = asyncio.Lock()
        self._dirty = False

    def reset(self) -> None:
        """Forget buffered bytes (after the port was (re)opened)."""
        self._reader.clear()
        self._dirty = False

    async def transact(self, reqs: Sequence[Request]) -> list[Telegram]:
        """Run ``reqs`` in order under the lock; return their answers (refusals raised)."""
        async with self._lock:
            if self._dirty:  # a previous exchange was interrupted (cancelled): bytes may be pending
                self._resync()
            self._dirty = True
            answers: list[Telegram] = []
            failures = 0
            while len(answers) < len(reqs):
                problem = await self._batch(reqs[len(answers) :], answers)
                if problem is None:
                    break
                failures += 1
                if failures > self.retries:
                    raise problem
                self.stats.retries += 1
                log.debug("%s: %s; retry %d of %d", self.transport.name, problem, failures, self.retries)
                self._resync()
            self._dirty = False
            self.stats.transactions += len(reqs)
            return answers

    async def exchange_raw(self, data: bytes, timeout_s: float | None = None) -> Telegram:
        """Send arbitrary bytes and return the next telegram received (no retries) — for tests
        and for probing unconfirmed objects."""
        async with self._lock:
            self._resync()
            self._dirty = True
            req = Request(Telegram(0, 0, ERROR_OBJECT), bytes(data), None, f"raw {data.hex(' ')}")
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
            self.stats.stale_answers += 1
            log.info("%s: discarding %s while waiting for %s", self.transport.name, ev.describe(), req.label)

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
