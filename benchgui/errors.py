"""One exception tree for the whole program.

Every error benchgui raises on purpose derives from :class:`BenchError`, so the CLI and the GUI
can show ``str(exc)`` to the operator and keep the traceback for the log. Classes also inherit the
matching built-in error where one exists (``TimeoutError``, ``ConnectionError``), as python-can
does, so generic handlers still work.
"""

from __future__ import annotations


class BenchError(Exception):
    """Root of every error benchgui raises on purpose."""


class ConfigError(BenchError):
    """The configuration is invalid. ``key`` is the dotted TOML key that is wrong."""

    def __init__(self, key: str, problem: str, path: str | None = None) -> None:
        self.key = key
        self.problem = problem
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{key}: {problem}" if key else f"{where}{problem}")


class ProtocolError(BenchError):
    """Bytes on the wire do not follow the protocol (the peer sent garbage)."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something the protocol cannot express (our side is wrong)."""


class TransportError(BenchError, ConnectionError):
    """The byte pipe to an instrument failed (port vanished, peer closed, cannot open)."""


class InstrumentTimeout(TransportError, TimeoutError):
    """An instrument did not answer in time."""


class DeviceRefused(BenchError):
    """The instrument understood the request and refused it (answered with an error code)."""


class NotSupported(DeviceRefused):
    """The device (its firmware or profile) has no such setting or object."""


class ValueOutOfRange(BenchError, ValueError):
    """A setpoint or setting is outside what the instrument or the bench allows; nothing was sent."""


class StoreError(BenchError):
    """The local session store cannot be read or written."""


class SessionNotFound(StoreError, LookupError):
    """No stored session matches the given id or prefix."""
