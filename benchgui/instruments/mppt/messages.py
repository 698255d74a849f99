"""ThingSet text-mode messages, sans-IO: what one line means, in both directions.

The message types (:class:`Request`, :class:`Response`, :class:`Statement`, :class:`Noise` …)
and the grammar of a single line: :func:`encode_request` / :func:`parse_request` for host →
device, :func:`encode_response` / :func:`encode_statement` / :func:`parse_device_line` for
device → host. Incoming text never makes this module raise: what cannot be read becomes a
:class:`Noise`, :class:`MalformedResponse` or :class:`InvalidRequest`. Splitting a byte stream
into lines and counting events is :mod:`benchgui.instruments.mppt.protocol`'s job. Wire facts:
``shared/reference/thingset-text-mode.md``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from benchgui.errors import LocalProtocolError
from benchgui.instruments.mppt.firmware_json import loads_tolerant, render_json
from benchgui.instruments.mppt.lines import Sentinel
from benchgui.instruments.mppt.status import BAD_REQUEST, STATUS_TEXT, ThingSetError, error_for_status

#: a request without a JSON payload
NO_PAYLOAD: Final = Sentinel("NO_PAYLOAD")


# -- events --------------------------------------------------------------------------------------


def error_for(response: Response, request: str = "") -> ThingSetError:
    """The typed error for an error response (unknown codes get their class's base)."""
    return error_for_status(response.status, response.text, request)


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
        payload = loads_tolerant(body)
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
        values = loads_tolerant(body)
    except (ValueError, RecursionError) as exc:
        return Noise(line, f"statement JSON broken: {exc}")
    if not isinstance(values, dict):
        return Noise(line, "statement is not a JSON object")
    return Statement(path, values)
