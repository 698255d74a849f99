"""ThingSet status codes and the typed errors for error statuses (stdlib only).

Codes and texts from the 2021 library (``thingset.h``, ``thingset_txt.cpp``), modelled on CoAP:
below 0xA0 success, 0xA0…0xBF the request was wrong, from 0xC0 the device failed. Every error
status has its own :class:`ThingSetError` subclass, all of them
:class:`~benchgui.errors.DeviceRefused`.
"""

from __future__ import annotations

from typing import Final

from benchgui.errors import DeviceRefused

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


def error_for_status(status: int, text: str = "", request: str = "") -> ThingSetError:
    """The typed error for an error status (unknown codes get their class's base)."""
    cls = _ERROR_CLASSES.get(status)
    if cls is None:
        cls = ClientError if status < 0xC0 else ServerError
    return cls(status, text, request)
