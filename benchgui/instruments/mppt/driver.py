"""asyncio driver for the MPPT 1210 HUS: ThingSet text requests and the publication stream.

One reader task owns the port's input. Every line goes through :class:`ClientCodec`: lines
starting with ``:`` answer the one request in flight (a lock keeps it to one), lines starting
with ``#`` are publication statements handed to listeners, anything else is noise that is
counted and reported, never raised. So requests and the publication share the port without
their lines getting mixed up, even when a statement arrives between a request and its answer.

The driver does not reconnect: when the port fails, :meth:`MpptDriver.wait_closed` returns
the error and the owner (:class:`~benchgui.instruments.mppt.source.MpptSource`) opens a new
one. Limitation (of the protocol, which has no request ids): an answer that arrives after its
request timed out is dropped only if no other request is in flight by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchgui.errors import DeviceRefused, InstrumentTimeout, ProtocolError, TransportError
from benchgui.instruments.mppt import items
from benchgui.instruments.mppt.lines import Sentinel
from benchgui.instruments.mppt.protocol import (
    NO_PAYLOAD,
    ClientCodec,
    LineTooLong,
    MalformedResponse,
    Method,
    Noise,
    Request,
    Response,
    Statement,
    error_for,
)
from benchgui.instruments.transport import Transport

log = logging.getLogger(__name__)

StatementListener = Callable[[Statement, int], object]  # (statement, receive time UTC ns)
NoiseListener = Callable[[Noise | LineTooLong | MalformedResponse], object]


class MpptDriver:
    """Requests and publication over one :class:`Transport` (already open)."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 1.0,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.transport = transport
        self.timeout_s = timeout_s
        self.now_ns = now_ns
        self._last_t_ns = 0
        self.codec = ClientCodec()
        self.statement_listeners: list[StatementListener] = []
        self.noise_listeners: list[NoiseListener] = []
        self.timeouts = 0
        self.unexpected_responses = 0
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future[Response] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start reading (the transport must be open)."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_loop(), name=f"mppt-reader-{self.transport.name}")

    @property
    def running(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def wait_closed(self) -> BaseException | None:
        """Wait until the reader stops; returns why (the transport error), None if closed by us."""
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._reader)
        return self._error

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        self._fail_pending(TransportError(f"{self.transport.name} closed"))
        await self.transport.close()

    async def __aenter__(self) -> MpptDriver:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reading -----------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.transport.read()
                t_ns = self.now_ns()
                self.codec.feed(data)
                while not isinstance(event := self.codec.next_event(), Sentinel):
                    # Several statements can arrive in one read (buffered while nobody read the
                    # port): keep their times unique and increasing, or a time-series database
                    # keeps only one of them.
                    t_ns = max(t_ns, self._last_t_ns + 1)
                    self._last_t_ns = t_ns
                    self._dispatch(event, t_ns)
        except TransportError as exc:
            self._error = exc
            log.info("%s: %s", self.transport.name, exc)
            self._fail_pending(exc)

    def _dispatch(
        self, event: Response | Statement | Noise | LineTooLong | MalformedResponse, t_ns: int
    ) -> None:
        if isinstance(event, Statement):
            for listener in list(self.statement_listeners):
                _call(listener, event, t_ns)
            return
        if isinstance(event, Response | MalformedResponse):
            fut = self._pending
            if fut is not None and not fut.done():
                if isinstance(event, Response):
                    fut.set_result(event)
                else:
                    fut.set_exception(ProtocolError(f"unreadable answer from the MPPT: {event.reason}"))
                return
            self.unexpected_responses += 1
            log.debug("answer with no request in flight (late?): %r", event)
            if isinstance(event, Response):
                return
        if isinstance(event, Noise | LineTooLong | MalformedResponse):
            log.debug("skipped line: %r", event)
            for nl in list(self.noise_listeners):
                _call(nl, event)

    def _fail_pending(self, exc: BaseException) -> None:
        fut = self._pending
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    # -- requests ----------------------------------------------------------------------------------
    async def request(self, request: Request, timeout_s: float | None = None) -> Response:
        """Send ``request`` and wait for its answer. Raises the typed :class:`ThingSetError` for
        an error status, :class:`InstrumentTimeout`, :class:`TransportError`."""
        data = self.codec.encode(request)  # LocalProtocolError before anything is sent
        timeout = self.timeout_s if timeout_s is None else timeout_s
        line = data.decode("utf-8").rstrip("\n")
        async with self._lock:
            if not self.running:
                raise (
                    self._error
                    if isinstance(self._error, TransportError)
                    else TransportError(f"{self.transport.name} is not connected")
                )
            fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            self._pending = fut
            try:
                await self.transport.write(data)
                try:
                    response = await asyncio.wait_for(fut, timeout)
                except TimeoutError:
                    self.timeouts += 1
                    raise InstrumentTimeout(f"MPPT did not answer {line!r} within {timeout:g} s") from None
            finally:
                self._pending = None
        if not response.ok:
            raise error_for(response, line)
        return response

    async def get(self, path: str) -> Any:
        """``?path`` → values of a group (``?path/`` → names)."""
        return (await self.request(Request(Method.GET, path))).payload

    async def fetch(self, path: str, names: Sequence[str] | str) -> Any:
        """``?path ["A","B"]`` → list of values."""
        payload = names if isinstance(names, str) else list(names)
        return (await self.request(Request(Method.FETCH, path, payload))).payload

    async def update(self, path: str, values: dict[str, Any]) -> None:
        """``=path {…}`` → ``:84 Changed.``"""
        await self.request(Request(Method.UPDATE, path, values))

    async def exec(self, path: str, args: Any = NO_PAYLOAD) -> Any:
        """``!path [args]`` → ``:83 Valid.``"""
        return (await self.request(Request(Method.EXEC, path, args))).payload

    async def create(self, path: str, value: Any) -> None:
        await self.request(Request(Method.CREATE, path, value))

    async def delete(self, path: str, value: Any) -> None:
        await self.request(Request(Method.DELETE, path, value))

    # -- the MPPT's items ------------------------------------------------------------------------
    async def enable_publication(self, on: bool = True) -> None:
        """``=pub/serial {"Enable":true}`` — the seed script sends exactly this at start-up."""
        await self.update("pub/serial", {"Enable": on})

    async def set_publication_period(self, seconds: float) -> None:
        """``=pub/serial {"Period_s":…}``. The 2021 firmware publishes every second, fixed, and
        answers :class:`~benchgui.instruments.mppt.protocol.NotFound`."""
        value: float | int = int(seconds) if float(seconds).is_integer() else float(seconds)
        await self.update("pub/serial", {"Period_s": value})

    async def publication_ids(self) -> list[str]:
        ids = await self.get("pub/serial/IDs")
        return [str(i) for i in ids] if isinstance(ids, list) else []

    async def add_publication_ids(self, names: Sequence[str]) -> list[str]:
        """Add names to the serial publication (``+pub/serial/IDs "Name"``) that are not there
        yet; returns those added. Names the device does not know are skipped with a warning."""
        have = set(await self.publication_ids())
        added = []
        for name in names:
            if name in have:
                continue
            try:
                await self.create("pub/serial/IDs", name)
                added.append(name)
            except DeviceRefused as exc:  # a refused name must not stop the connection
                log.warning("MPPT refused to publish %s: %s", name, exc)
        return added

    async def device_info(self) -> dict[str, str]:
        """Manufacturer, type, firmware, serial (DeviceID), hardware, firmware commit."""
        payload = await self.get("info")
        return items.device_info(payload if isinstance(payload, dict) else {})

    async def set_load_output(self, on: bool) -> None:
        await self.update("input", {"LoadEn": bool(on)})


def _call(listener: Callable[..., object], *args: object) -> None:
    try:
        listener(*args)
    except Exception:  # a broken listener must not stop the reader
        log.exception("MPPT listener %r failed", listener)
