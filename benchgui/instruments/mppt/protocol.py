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
"""

from __future__ import annotations

import enum
import json
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from benchgui.errors import DeviceRefused, LocalProtocolError

__all__ = [
    "MAX_LINE",
    "NEED_DATA",
    "NO_PAYLOAD",
    "ClientCodec",
    "DeviceCodec",
    "Fixed",
    "InvalidRequest",
    "LineSplitter",
    "LineTooLong",
    "MalformedResponse",
    "Method",
    "Noise",
    "Request",
    "Response",
    "Statement",
    "ThingSetError",
    "encode_request",
    "encode_response",
    "encode_statement",
    "error_for",
    "parse_device_line",
    "parse_request",
    "render_json",
]

#: longest line accepted (the firmware's TX buffer can be configured up to 2048 bytes)
MAX_LINE: Final = 2048


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: returned by ``next_event()`` when a complete line has not arrived yet
NEED_DATA: Final = _Sentinel("NEED_DATA")
#: a request without a JSON payload
NO_PAYLOAD: Final = _Sentinel("NO_PAYLOAD")

# -- status codes --------------------------------------------------------------------------------

CREATED, DELETED, VALID, CHANGED, CONTENT = 0x81, 0x82, 0x83, 0x84, 0x85
BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND = 0xA0, 0xA1, 0xA3, 0xA4
METHOD_NOT_ALLOWED, REQUEST_INCOMPLETE, CONFLICT, REQUEST_TOO_LARGE = 0xA5, 0xA8, 0xA9, 0xAD
UNSUPPORTED_FORMAT, INTERNAL_ERROR, NOT_IMPLEMENTED, RESPONSE_TOO_LARGE = 0xAF, 0xC0, 0xC1, 0xE1

STATUS_TEXT: Final[dict[int, str]] = {
    CREATED: "Created",
    DELETED: "Deleted",
    VALID: "Valid",
    CHANGED: "Changed",
    CONTENT: "Content",
    BAD_REQUEST: "Bad Request",
    UNAUTHORIZED: "Unauthorized",
    FORBIDDEN: "Forbidden",
    NOT_FOUND: "Not Found",
    METHOD_NOT_ALLOWED: "Method Not Allowed",
    REQUEST_INCOMPLETE: "Request Entity Incomplete",
    CONFLICT: "Conflict",
    REQUEST_TOO_LARGE: "Request Entity Too Large",
    UNSUPPORTED_FORMAT: "Unsupported Content-Format",
    INTERNAL_ERROR: "Internal Server Error",
    NOT_IMPLEMENTED: "Not Implemented",
    RESPONSE_TOO_LARGE: "Error",
}


# -- errors for error statuses -------------------------------------------------------------------


class ThingSetError(DeviceRefused):
    """The device understood the request and answered with an error status (≥ 0xA0)."""

    status: int = 0

    def __init__(self, status: int, text: str = "", request: str = "") -> None:
        self.status = status
        self.text = text or STATUS_TEXT.get(status, "Error")
        self.request = request
        where = f" to {request!r}" if request else ""
        super().__init__(f"MPPT answered :{status:02X} {self.text}{where}")


class ClientError(ThingSetError):
    """0xA0…0xBF: the request was wrong."""


class ServerError(ThingSetError):
    """0xC0… : the device failed."""


class BadRequest(ClientError):
    """:A0 — malformed request, unknown prefix, JSON error, wrong value type."""


class Unauthorized(ClientError):
    """:A1 — the value is protected; authenticate with ``!auth "password"`` first."""


class Forbidden(ClientError):
    """:A3 — the value is read-only."""


class NotFound(ClientError, LookupError):
    """:A4 — unknown path or name."""


class MethodNotAllowed(ClientError):
    """:A5 — e.g. exec on a value, update on an exec node."""


class RequestIncomplete(ClientError):
    """:A8."""


class Conflict(ClientError):
    """:A9."""


class RequestTooLarge(ClientError):
    """:AD — too many JSON tokens for the device's parser."""


class UnsupportedFormat(ClientError):
    """:AF."""


class InternalServerError(ServerError):
    """:C0."""


class NotImplementedStatus(ServerError):
    """:C1."""


class ResponseTooLarge(ServerError):
    """:E1 — the answer does not fit the device's TX buffer; ask for fewer names."""


_ERROR_CLASSES: Final[dict[int, type[ThingSetError]]] = {
    BAD_REQUEST: BadRequest,
    UNAUTHORIZED: Unauthorized,
    FORBIDDEN: Forbidden,
    NOT_FOUND: NotFound,
    METHOD_NOT_ALLOWED: MethodNotAllowed,
    REQUEST_INCOMPLETE: RequestIncomplete,
    CONFLICT: Conflict,
    REQUEST_TOO_LARGE: RequestTooLarge,
    UNSUPPORTED_FORMAT: UnsupportedFormat,
    INTERNAL_ERROR: InternalServerError,
    NOT_IMPLEMENTED: NotImplementedStatus,
    RESPONSE_TOO_LARGE: ResponseTooLarge,
}


def error_for(response: Response, request: str = "") -> ThingSetError:
    """The typed error for an error response (unknown codes get their class's base)."""
    cls = _ERROR_CLASSES.get(response.status)
    if cls is None:
        cls = ClientError if response.status < 0xC0 else ServerError
    return cls(response.status, response.text, request)


# -- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineTooLong:
    """A line exceeded ``limit`` bytes; ``head`` is its beginning. The rest was discarded."""

    head: bytes
    limit: int


@dataclass(frozen=True)
class Response:
    """``:XX text. payload`` — the answer to the one request in flight."""

    status: int
    text: str = ""
    payload: Any = None

    @property
    def ok(self) -> bool:
        return self.status < 0xA0


@dataclass(frozen=True)
class MalformedResponse:
    """A line that starts like a response (``:`` + two hex digits) but cannot be read."""

    line: str
    status: int
    reason: str


@dataclass(frozen=True)
class Statement:
    """A publication: ``path`` is ``""`` for the old ``# {…}`` form, else e.g. ``"serial"``."""

    path: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Noise:
    """A line that is neither response nor statement (boot banner, log output, garbage)."""

    line: str
    reason: str


class Method(enum.Enum):
    GET = "get"
    FETCH = "fetch"
    UPDATE = "update"
    EXEC = "exec"
    CREATE = "create"
    DELETE = "delete"


PREFIX: Final[dict[Method, str]] = {
    Method.GET: "?",
    Method.FETCH: "?",
    Method.UPDATE: "=",
    Method.EXEC: "!",
    Method.CREATE: "+",
    Method.DELETE: "-",
}


@dataclass(frozen=True)
class Request:
    """One request. ``?path/`` lists names, ``?path`` gets values, ``?path [names]`` fetches."""

    method: Method
    path: str
    payload: Any = NO_PAYLOAD

    def line(self) -> str:
        """The request as text without the line end (for messages and logs)."""
        return encode_request(self).decode("utf-8").rstrip("\n")


@dataclass(frozen=True)
class InvalidRequest:
    """(Device side) a line that is not a valid request; the device answers ``status``."""

    line: str
    reason: str
    status: int = BAD_REQUEST


# -- JSON with the firmware's fixed decimals -----------------------------------------------------


@dataclass(frozen=True)
class Fixed:
    """A float printed with a fixed number of decimals, as the firmware's ``%.*f`` does."""

    value: float
    decimals: int

    def render(self) -> str:
        if self.value != self.value or self.value in (float("inf"), float("-inf")):
            return "null"
        return f"{self.value:.{self.decimals}f}"


def render_json(value: Any) -> str:
    """Compact JSON (no spaces, as the firmware prints) that understands :class:`Fixed`."""
    if isinstance(value, Fixed):
        return value.render()
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{render_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(render_json(v) for v in value) + "]"
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"cannot send {value!r} as JSON: {exc}") from None


_NAN_TOKEN = re.compile(r"(?<=[:\[,])\s*-?(?:nan|inf|NaN|Infinity)\b")


def _loads(text: str) -> Any:
    """json.loads, tolerating the ``nan``/``inf`` that C's printf emits for a broken sensor."""
    try:
        return json.loads(text)
    except ValueError:
        if "n" not in text and "N" not in text and "I" not in text:
            raise
        return json.loads(_NAN_TOKEN.sub("null", text))


# -- requests (host → device) --------------------------------------------------------------------

_PATH_OK = re.compile(r"[^\s\x00-\x1f\x7f\"{}\[\]]+")


def encode_request(request: Request) -> bytes:
    """The bytes for ``request``, ending in ``\\n``; raises :class:`LocalProtocolError` when the
    request cannot be expressed (bad path, wrong payload shape, NaN, unserialisable value)."""
    m, path, payload = request.method, request.path, request.payload
    if not isinstance(path, str) or not _PATH_OK.fullmatch(path):
        raise LocalProtocolError(f"invalid ThingSet path {path!r}")
    if path[0] in "?=!+-:#":
        raise LocalProtocolError(f"path {path!r} must not start with a request prefix")
    has = payload is not NO_PAYLOAD
    if m is Method.GET and has:
        raise LocalProtocolError("GET takes no payload (use FETCH to read selected names)")
    if m is Method.FETCH and not (
        isinstance(payload, str)
        or (isinstance(payload, list | tuple) and all(isinstance(n, str) for n in payload))
    ):
        raise LocalProtocolError("FETCH needs a name or a list of names")
    if m is Method.UPDATE and not (isinstance(payload, Mapping) and payload):
        raise LocalProtocolError("UPDATE needs a non-empty JSON object of names and values")
    if m in (Method.CREATE, Method.DELETE) and not has:
        raise LocalProtocolError(f"{m.value.upper()} needs a JSON value")
    text = PREFIX[m] + path
    if has:
        text += " " + render_json(payload)
    return (text + "\n").encode("utf-8")


def parse_request(line: str) -> Request | InvalidRequest:
    """(Device side) read one request line."""
    line = line.strip()
    if not line:
        return InvalidRequest(line, "empty request")
    prefix = line[0]
    methods = {"?": Method.GET, "=": Method.UPDATE, "!": Method.EXEC, "+": Method.CREATE, "-": Method.DELETE}
    if prefix not in methods:
        return InvalidRequest(line, f"unknown request prefix {prefix!r}")
    path, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    if not path or not _PATH_OK.fullmatch(path):
        return InvalidRequest(line, "missing or invalid path")
    payload: Any = NO_PAYLOAD
    if rest:
        try:
            payload = json.loads(rest)
        except (ValueError, RecursionError) as exc:
            return InvalidRequest(line, f"payload is not JSON: {exc}")
    method = methods[prefix]
    if method is Method.GET and payload is not NO_PAYLOAD:
        method = Method.FETCH
    return Request(method, path, payload)


# -- responses and statements (device → host) ----------------------------------------------------


def encode_response(status: int, payload: Any = NO_PAYLOAD, verbose: bool = True) -> bytes:
    """``:85 Content. {…}`` (or ``:85. {…}`` without verbose status texts)."""
    head = f":{status:02X}" + (f" {STATUS_TEXT.get(status, 'Error')}." if verbose else ".")
    if payload is not NO_PAYLOAD:
        head += " " + render_json(payload)
    return (head + "\n").encode("utf-8")


def encode_statement(values: Mapping[str, Any], path: str = "") -> bytes:
    """``# {…}`` (old firmware, ``path=""``) or ``#serial {…}`` (ThingSet v0.4 statements)."""
    return (f"#{path} " + render_json(values) + "\n").encode("utf-8")


_HEX = frozenset("0123456789abcdefABCDEF")
_STATUS_TEXT_RE = re.compile(r"[A-Za-z][A-Za-z \-]*\.")


def parse_device_line(raw: bytes) -> Response | MalformedResponse | Statement | Noise | None:
    """Classify one line from the device (None for a blank line)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Noise(raw.decode("utf-8", "replace"), "not UTF-8 text")
    line = line.strip()
    if not line:
        return None
    if line[0] == ":" and len(line) >= 3 and line[1] in _HEX and line[2] in _HEX:
        return _parse_response(line)
    if line[0] == "#":
        return _parse_statement(line)
    return Noise(line, "neither a response nor a statement")


def _parse_response(line: str) -> Response | MalformedResponse:
    status = int(line[1:3], 16)
    rest = line[3:]
    text = ""
    if rest.startswith("."):  # bare ":85." (library built without verbose status texts)
        rest = rest[1:]
    elif rest.startswith(" "):
        m = _STATUS_TEXT_RE.match(rest, 1)
        if m:
            text = m.group(0)[:-1].strip()
            rest = rest[m.end() :]
    elif rest:
        return MalformedResponse(line, status, "status code not followed by a space or a dot")
    body = rest.strip()
    if not body:
        return Response(status, text)
    try:
        payload = _loads(body)
    except (ValueError, RecursionError) as exc:
        return MalformedResponse(line, status, f"payload is not JSON: {exc}")
    return Response(status, text, payload)


def _parse_statement(line: str) -> Statement | Noise:
    rest = line[1:]
    path = ""
    if rest and rest[0] not in " {":
        path, sep, rest = rest.partition(" ")
        if not sep:
            return Noise(line, "statement without a JSON object")
    body = rest.strip()
    try:
        values = _loads(body)
    except (ValueError, RecursionError) as exc:
        return Noise(line, f"statement JSON broken: {exc}")
    if not isinstance(values, dict):
        return Noise(line, "statement is not a JSON object")
    return Statement(path, values)


# -- line splitting ------------------------------------------------------------------------------


class LineSplitter:
    """Bytes in any chunking → complete lines (LF, CR or CRLF), over-long lines cut."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError("max_line must be >= 1")
        self.max_line = max_line
        self._buf = bytearray()
        self._skipping = False  # inside the tail of an over-long line
        self._out: deque[bytes | LineTooLong] = deque()

    def feed(self, data: bytes) -> None:
        buf = self._buf
        if b"\n" not in data and b"\r" not in data:  # the middle of a line: the common case
            if not self._skipping:
                buf += data
                if len(buf) > self.max_line:
                    self._out.append(LineTooLong(bytes(buf[: self.max_line]), self.max_line))
                    self._skipping = True
                    buf.clear()
            return
        buf += data
        start = 0
        n = len(buf)
        while start < n:
            cr = buf.find(b"\r", start)
            lf = buf.find(b"\n", start)
            end = lf if cr < 0 else cr if lf < 0 else min(cr, lf)
            if end < 0:
                break
            if self._skipping:
                self._skipping = False
            elif end - start > self.max_line:
                self._out.append(LineTooLong(bytes(buf[start : start + self.max_line]), self.max_line))
            elif end > start:
                self._out.append(bytes(buf[start:end]))
            start = end + 1
        del buf[:start]
        if len(buf) > self.max_line:
            if not self._skipping:
                self._out.append(LineTooLong(bytes(buf[: self.max_line]), self.max_line))
                self._skipping = True
            buf.clear()

    def next_line(self) -> bytes | LineTooLong | _Sentinel:
        return self._out.popleft() if self._out else NEED_DATA

    @property
    def buffered(self) -> int:
        """Bytes waiting for their line end."""
        return len(self._buf)


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

    def next_event(self) -> ClientEvent | _Sentinel:
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
        while (e := self.next_event()) is not NEED_DATA:
            out.append(e)  # type: ignore[arg-type]
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

    def next_event(self) -> Request | InvalidRequest | _Sentinel:
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
