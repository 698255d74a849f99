"""ThingSet text mode, sans-IO: the MPPT 1210 HUS's serial language as bytes in, events out.

No serial port, no clock, no asyncio (h11's rule): :class:`ClientCodec` is fed whatever bytes
the port delivered and hands back one event at a time; :func:`encode_request` turns a
:class:`Request` into the bytes to send. :class:`DeviceCodec` is the other direction, used by
the simulator. Wire facts: ``shared/reference/thingset-text-mode.md``.

* A line ends with LF, CR or CRLF, in any chunking. Empty lines are skipped. A line longer than
  ``max_line`` bytes is cut: :class:`LineTooLong` is reported once and the rest of that line is
  discarded (the firmware's TX buffer is at most 2048 bytes, so such a line is corruption).
* ``:XX text. [json]`` (also the bare ``:85.``) is a :class:`Response`; status ≥ 0xA0 is an
  error, which :func:`error_for` turns into a typed :class:`ThingSetError`.
* ``# {json}`` (firmware ≤ Aug 2021) and ``#serial {json}`` (ThingSet v0.4 and later) are
  :class:`Statement` s — the periodic publication.
* Anything else (boot banners, log output, line noise, broken JSON) is :class:`Noise`: counted
  and handed back as an event, never raised. Incoming bytes never make this module raise.

This module is the stream side and the one import path for the whole codec: what a single
line means (message types, encoding, parsing) is :mod:`~benchgui.instruments.mppt.messages`,
the firmware's JSON dialect :mod:`~benchgui.instruments.mppt.firmware_json`, line framing
:mod:`~benchgui.instruments.mppt.lines` and status codes :mod:`~benchgui.instruments.mppt.status`;
their public names are re-exported here.
"""

from __future__ import annotations

from benchgui.errors import LocalProtocolError
from benchgui.instruments.mppt.firmware_json import Fixed, render_json
from benchgui.instruments.mppt.lines import MAX_LINE, NEED_DATA, LineSplitter, LineTooLong, Sentinel
from benchgui.instruments.mppt.messages import (
    NO_PAYLOAD,
    InvalidRequest,
    MalformedResponse,
    Method,
    Noise,
    Request,
    Response,
    Statement,
    encode_request,
    encode_response,
    encode_statement,
    error_for,
    parse_device_line,
    parse_request,
)
from benchgui.instruments.mppt.status import (
    BAD_REQUEST,
    REQUEST_TOO_LARGE,
    STATUS_TEXT,
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    NotImplementedStatus,
    RequestIncomplete,
    RequestTooLarge,
    ResponseTooLarge,
    ServerError,
    ThingSetError,
    Unauthorized,
    UnsupportedFormat,
)

__all__ = [
    "BAD_REQUEST",
    "MAX_LINE",
    "NEED_DATA",
    "NO_PAYLOAD",
    "REQUEST_TOO_LARGE",
    "STATUS_TEXT",
    "BadRequest",
    "ClientCodec",
    "ClientError",
    "Conflict",
    "DeviceCodec",
    "Fixed",
    "Forbidden",
    "InternalServerError",
    "InvalidRequest",
    "LineSplitter",
    "LineTooLong",
    "LocalProtocolError",
    "MalformedResponse",
    "Method",
    "MethodNotAllowed",
    "Noise",
    "NotFound",
    "NotImplementedStatus",
    "Request",
    "RequestIncomplete",
    "RequestTooLarge",
    "Response",
    "ResponseTooLarge",
    "ServerError",
    "Statement",
    "ThingSetError",
    "Unauthorized",
    "UnsupportedFormat",
    "encode_request",
    "encode_response",
    "encode_statement",
    "error_for",
    "parse_device_line",
    "parse_request",
    "render_json",
]

ClientEvent = Response | MalformedResponse | Statement | Noise | LineTooLong


class ClientCodec:
    """The host side: feed device bytes, take events; encode requests.

    Counters (``statements``, ``responses``, ``noise``, ``overlong``, ``malformed``) let a driver
    show how many lines it had to skip.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._lines = LineSplitter(max_line)
        self.statements = 0
        self.responses = 0
        self.noise = 0
        self.overlong = 0
        self.malformed = 0

    def feed(self, data: bytes) -> None:
        self._lines.feed(data)

    def next_event(self) -> ClientEvent | Sentinel:
        while True:
            item = self._lines.next_line()
            if item is NEED_DATA:
                return NEED_DATA
            if isinstance(item, LineTooLong):
                self.overlong += 1
                return item
            assert isinstance(item, bytes)
            event = parse_device_line(item)
            if event is None:
                continue
            if isinstance(event, Statement):
                self.statements += 1
            elif isinstance(event, Response):
                self.responses += 1
            elif isinstance(event, MalformedResponse):
                self.malformed += 1
            else:
                self.noise += 1
            return event

    def events(self) -> list[ClientEvent]:
        """Every complete event so far (convenience for tests and simple callers)."""
        out: list[ClientEvent] = []
        while not isinstance(e := self.next_event(), Sentinel):
            out.append(e)
        return out

    @staticmethod
    def encode(request: Request) -> bytes:
        return encode_request(request)

    @property
    def skipped(self) -> int:
        """Lines that carried nothing usable (noise, over-long, malformed responses)."""
        return self.noise + self.overlong + self.malformed


class DeviceCodec:
    """The device side (for the simulator): feed host bytes, take requests; encode answers."""

    def __init__(self, max_line: int = 512) -> None:  # the firmware's default RX buffer
        self._lines = LineSplitter(max_line)

    def feed(self, data: bytes) -> None:
        self._lines.feed(data)

    def next_event(self) -> Request | InvalidRequest | Sentinel:
        while True:
            item = self._lines.next_line()
            if item is NEED_DATA:
                return NEED_DATA
            if isinstance(item, LineTooLong):
                return InvalidRequest(
                    item.head.decode("utf-8", "replace"), "request too long", REQUEST_TOO_LARGE
                )
            assert isinstance(item, bytes)
            try:
                text = item.decode("utf-8")
            except UnicodeDecodeError:
                return InvalidRequest(item.decode("utf-8", "replace"), "not UTF-8 text")
            if not text.strip():
                continue
            return parse_request(text)
