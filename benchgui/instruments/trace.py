"""Wire traces: every byte an instrument link carried, one text line per read or write.

A trace is what a bug report about a real device needs and what ``benchgui sim ea|mppt
--replay`` serves back. The format is line-oriented UTF-8 text, readable with ``less``::

    # benchgui wire trace 1
    @start 2026-12-05T04:30:00.123456+00:00
    @device load port=/dev/ttyUSB0 kind=serial baud=57600 bytesize=8 parity=O stopbits=1
    @device mppt port=/dev/ttyACM0 kind=serial baud=115200 bytesize=8 parity=N stopbits=1
    0.001234 load > 75 00 47 00 bc
    0.004100 load < 85 01 47 64 00 1e 00 50 00 01 9f
    @session 20261205-043000-ab12

* ``#`` lines are comments (the first names the format version);
* ``@start`` is the wall-clock (UTC) time the offsets count from;
* ``@device NAME key=value…`` names one link: its port and serial settings (``kind=tcp`` for a
  socket); a record's device must have been declared; a link declared again (the operator
  picked another port) holds the new settings from that line on;
* a record is ``SECONDS DEVICE DIRECTION HEX``: monotonic seconds since ``@start``, ``>`` for
  bytes sent *to* the device, ``<`` for bytes that came *from* it (the same whoever records:
  the host or a simulator), and the bytes exactly as one read or write carried them;
* ``@session ID`` marks the session recorded from then on (the trace as an attachment).

Reading is strict: a malformed line is a :class:`TraceError` naming the file and line.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from benchgui.errors import BenchError

log = logging.getLogger(__name__)

MAGIC = "# benchgui wire trace 1"
TO_DEVICE = ">"
FROM_DEVICE = "<"
RECENT = 64  # records kept per device for "what was sent and what came back" in reports

TraceHook = Callable[[bool, bytes], None]  # (sent to the device?, data), as Transport.trace


class TraceError(BenchError):
    """A trace file cannot be read (not a trace, a malformed line, an unknown device)."""


@dataclass(frozen=True)
class Record:
    t_s: float  # seconds since the trace's @start
    device: str
    to_device: bool
    data: bytes

    def line(self) -> str:
        arrow = TO_DEVICE if self.to_device else FROM_DEVICE
        return f"{self.t_s:.6f} {self.device} {arrow} {self.data.hex(' ')}"

    def describe(self) -> str:
        """``sent 75 00 47 00 bc`` / ``got …`` for reports."""
        return f"{'sent' if self.to_device else 'got '} {self.data.hex(' ')}"


@dataclass
class Trace:
    """A trace file, read."""

    path: str = ""
    started: str = ""
    devices: dict[str, dict[str, str]] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)

    def of(self, device: str) -> list[Record]:
        return [r for r in self.records if r.device == device]

    def device_like(self, *names: str) -> str:
        """The first declared device whose name is one of ``names`` (``ea``/``load``)."""
        for n in names:
            if n in self.devices:
                return n
        raise TraceError(
            f"{self.path}: no {' or '.join(names)} device in this trace "
            f"(it has: {', '.join(self.devices) or 'none'})"
        )


def _settings_text(settings: Mapping[str, object]) -> str:
    parts = []
    for k, v in settings.items():
        text = str(v)
        if not text or any(c.isspace() for c in text) or "=" in k:
            raise ValueError(f"trace setting {k}={v!r} must be one word")
        parts.append(f"{k}={text}")
    return " ".join(parts)


class TraceWriter:
    """Appends records to a trace file as they happen (a crash keeps everything written so far).

    Hooks may be called from any thread (the LabJack simulator runs on its own); each line is
    written whole under a lock and flushed, so a reader never sees half of one.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._fh: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise TraceError(f"cannot write the trace {self.path}: {exc.strerror or exc}") from None
        self._t0 = clock()
        self.devices: dict[str, dict[str, str]] = {}
        self.records = 0
        self.recent: dict[str, deque[Record]] = {}
        self.write_errors = 0
        started = dt.datetime.now(dt.UTC).isoformat()
        self._put(f"{MAGIC}\n@start {started}\n")

    def _put(self, text: str) -> None:
        with self._lock:
            if self._fh is None:
                return
            try:
                self._fh.write(text)
                self._fh.flush()
            except OSError as exc:  # disk full: the bench goes on, the trace says so once
                self.write_errors += 1
                if self.write_errors == 1:
                    log.error("wire trace %s: %s (further records are lost)", self.path, exc)

    def device(self, name: str, settings: Mapping[str, object]) -> TraceHook:
        """Declare a link and return the hook that records its traffic."""
        if not name or any(c.isspace() for c in name) or name.startswith(("@", "#")):
            raise ValueError(f"bad trace device name {name!r}")
        text = _settings_text(settings)
        self.devices[name] = {k: str(v) for k, v in settings.items()}
        self.recent.setdefault(name, deque(maxlen=RECENT))
        self._put(f"@device {name} {text}\n".replace(" \n", "\n"))

        def hook(to_device: bool, data: bytes) -> None:
            self.record(name, to_device, data)

        return hook

    def record(self, device: str, to_device: bool, data: bytes) -> None:
        if not data:
            return
        rec = Record(self._clock() - self._t0, device, to_device, bytes(data))
        self.recent[device].append(rec)
        self.records += 1
        self._put(rec.line() + "\n")

    def mark_session(self, session_id: str) -> None:
        self._put(f"@session {session_id}\n")

    def since(self, device: str, t_s: float) -> list[Record]:
        """The device's recent records at or after ``t_s`` (for a failing step's report)."""
        return [r for r in self.recent.get(device, ()) if r.t_s >= t_s]

    def now_s(self) -> float:
        return self._clock() - self._t0

    def close(self) -> None:
        with self._lock:
            fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError as exc:
                log.error("wire trace %s: %s", self.path, exc)


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a trace file; any malformed line is a :class:`TraceError` with its line number."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read the trace {p}: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_trace(text.splitlines(), str(p))


def parse_trace(lines: Iterable[str], name: str = "<trace>") -> Trace:
    trace = Trace(path=name)
    first = True
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if first:
            if line != MAGIC:
                raise TraceError(f"{name}:{n}: not a benchgui wire trace (the first line must be {MAGIC!r})")
            first = False
            continue
        if not line or line.startswith("#"):
            continue
        try:
            _parse_line(trace, line)
        except (ValueError, KeyError) as exc:
            raise TraceError(f"{name}:{n}: {exc}") from None
    if first:
        raise TraceError(f"{name}: empty file, not a benchgui wire trace")
    return trace


def _parse_line(trace: Trace, line: str) -> None:
    if line.startswith("@"):
        word, _, rest = line.partition(" ")
        if word == "@start":
            trace.started = rest.strip()
        elif word == "@session":
            trace.sessions.append(rest.strip())
        elif word == "@device":
            dev, *pairs = rest.split()
            settings = {}
            for pair in pairs:
                k, eq, v = pair.partition("=")
                if not eq:
                    raise ValueError(f"device setting {pair!r} is not key=value")
                settings[k] = v
            trace.devices[dev] = settings
        else:
            raise ValueError(f"unknown directive {word}")
        return
    parts = line.split(None, 3)
    if len(parts) < 4:
        raise ValueError("a record needs SECONDS DEVICE >|< HEX")
    t_text, dev, arrow, hex_text = parts
    t_s = float(t_text)
    if dev not in trace.devices:
        raise ValueError(f"device {dev!r} was not declared with @device")
    if arrow not in (TO_DEVICE, FROM_DEVICE):
        raise ValueError(f"direction must be > or <, not {arrow!r}")
    data = bytes.fromhex(hex_text)
    if not data:
        raise ValueError("a record carries at least one byte")
    trace.records.append(Record(t_s, dev, arrow == TO_DEVICE, data))
