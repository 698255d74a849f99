"""Byte pipes to instruments — serial ports (also pseudo-terminals), TCP — and reconnecting.

A transport does not care what the bytes mean (pymodbus' rule). Drivers put a codec on top.
A transport does not reconnect: :meth:`benchgui.instruments.base.Source.run` does, once for
every instrument, waiting between attempts as :class:`Backoff` says.

Serial I/O is non-blocking on the port's file descriptor inside the asyncio loop (POSIX only:
the bench runs on Linux). A vanished device — USB unplugged, pty master closed — shows up as
:class:`TransportError` from :meth:`Transport.read`/:meth:`Transport.write`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import errno
import logging
import os
import termios
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from benchgui.errors import TransportError

if TYPE_CHECKING:
    import serial

log = logging.getLogger(__name__)

TraceHook = Callable[[bool, bytes], None]  # (sending?, data) — every read/write; wire traces (--trace)


class Transport(abc.ABC):
    """An ordered, reliable-or-failing byte pipe."""

    def __init__(self) -> None:
        self.trace: TraceHook | None = None

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Where it goes, for messages (``/dev/ea-load``, ``127.0.0.1:5020``)."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool: ...

    @abc.abstractmethod
    async def open(self) -> None:
        """Open; raise :class:`TransportError` with a human reason if that is impossible."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def read(self, max_bytes: int = 4096) -> bytes:
        """Wait for at least one byte; raise :class:`TransportError` when the pipe is gone."""

    @abc.abstractmethod
    async def write(self, data: bytes) -> None: ...

    def discard_input(self) -> None:  # noqa: B027 - optional hook
        """Drop whatever has been received and not yet read (after a timeout, before a retry)."""

    def _trace(self, sending: bool, data: bytes) -> None:
        if self.trace is not None and data:
            self.trace(sending, data)


@dataclass(frozen=True)
class SerialSettings:
    baud: int = 115200
    bytesize: int = 8
    parity: str = "N"  # N, E, O
    stopbits: float = 1


class SerialTransport(Transport):
    """A serial port (or pseudo-terminal) by path, opened with pyserial, read without blocking."""

    def __init__(self, port: str, settings: SerialSettings | None = None) -> None:
        super().__init__()
        self.port = port
        self.settings = settings or SerialSettings()
        self._ser: serial.Serial | None = None
        self._fd: int | None = None
        self._rx = bytearray()

    @property
    def name(self) -> str:
        return self.port

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def retarget(self, port: str) -> None:
        """Open ``port`` from the next :meth:`open` on (the operator picked another port).
        The owner closes the current connection first (see ``Bench.restart_source``)."""
        self.port = port

    async def open(self) -> None:
        if self.is_open:
            return
        ser = open_serial(self.port, self.settings)
        try:
            fd = ser.fileno()
        except (OSError, ValueError) as exc:  # a pyserial URL such as loop:// has no descriptor
            ser.close()
            raise TransportError(f"cannot open {self.port}: not a serial device ({_reason(exc)})") from exc
        self._ser, self._fd = ser, fd
        s = ser.get_settings()
        # pyserial leaves VMIN=0, VTIME=0: a read with nothing to read then returns b"" instead
        # of EAGAIN, which would look like end of file. VMIN=1 (the fd stays non-blocking) makes
        # b"" mean what it should: hang-up (USB unplugged, pty master closed).
        with contextlib.suppress(termios.error, OSError):
            attrs = termios.tcgetattr(self._fd)
            attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
        self._rx.clear()
        log.debug("opened %s (%s)", self.port, s)

    async def close(self) -> None:
        ser, self._ser, self._fd = self._ser, None, None
        if ser is not None:
            with contextlib.suppress(Exception):
                ser.close()

    def _fail(self, why: str) -> TransportError:
        # Close without awaiting: we are in the middle of an I/O call.
        ser, self._ser, self._fd = self._ser, None, None
        if ser is not None:
            with contextlib.suppress(Exception):
                ser.close()
        return TransportError(f"{self.port}: {why}")

    async def read(self, max_bytes: int = 4096) -> bytes:
        fd = self._fd
        if fd is None:
            raise TransportError(f"{self.port} is not open")
        loop = asyncio.get_running_loop()
        woken = False
        while True:
            try:
                data = os.read(fd, max_bytes)
            except BlockingIOError:
                data = None
            except OSError as exc:
                raise self._fail(f"device gone ({_reason(exc)})") from exc
            if data:
                self._trace(False, data)
                return data
            # open() sets VMIN=1, so b"" should mean hang-up; where the driver of a USB adapter
            # ignores VMIN an idle tty still reads b"", so only b"" after the fd was reported
            # readable counts as a hang-up (pty master closed, USB adapter gone).
            if data == b"" and woken:
                raise self._fail("device gone (end of file)")
            ready = loop.create_future()
            loop.add_reader(fd, _wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
            if self._fd != fd:
                raise TransportError(f"{self.port} was closed")
            woken = True

    async def write(self, data: bytes) -> None:
        fd = self._fd
        if fd is None:
            raise TransportError(f"{self.port} is not open")
        self._trace(True, data)
        view = memoryview(data)
        loop = asyncio.get_running_loop()
        while view:
            try:
                n = os.write(fd, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                raise self._fail(f"write failed ({_reason(exc)})") from exc
            ready = loop.create_future()
            loop.add_writer(fd, _wake, ready)
            try:
                await asyncio.wait_for(ready, 2.0)
            except TimeoutError:
                raise self._fail("write blocked for 2 s (nobody reading?)") from None
            finally:
                loop.remove_writer(fd)

    def discard_input(self) -> None:
        fd = self._fd
        if fd is None:
            return
        with contextlib.suppress(OSError):
            while os.read(fd, 4096):
                pass


class TcpTransport(Transport):
    """A TCP connection (a LabJack on Ethernet, a serial server, a simulator on loopback)."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 3.0) -> None:
        super().__init__()
        self.host, self.port, self.connect_timeout_s = host, port, connect_timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def open(self) -> None:
        if self.is_open:
            return
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot connect to {self.name}: {_reason(exc)}") from exc

    async def close(self) -> None:
        w, self._writer, self._reader = self._writer, None, None
        if w is not None:
            w.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(w.wait_closed(), 1.0)

    def _fail(self, why: str) -> TransportError:
        """Close the socket at once (a peer that restarted leaves ours half open, and a source
        reconnecting all night must not leak one per reconnect); return the error to raise."""
        w, self._writer, self._reader = self._writer, None, None
        if w is not None:
            w.close()
        return TransportError(f"{self.name}: {why}")

    async def read(self, max_bytes: int = 4096) -> bytes:
        if self._reader is None:
            raise TransportError(f"{self.name} is not connected")
        try:
            data = await self._reader.read(max_bytes)
        except OSError as exc:
            raise self._fail(f"connection lost ({_reason(exc)})") from exc
        if not data:
            raise self._fail("peer closed the connection")
        self._trace(False, data)
        return data

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            raise TransportError(f"{self.name} is not connected")
        self._trace(True, data)
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            raise self._fail(f"write failed ({_reason(exc)})") from exc


def open_serial(port: str, settings: SerialSettings) -> serial.Serial:
    """Open ``port`` (a device path, or a pyserial URL such as ``loop://``) with ``settings``,
    non-blocking and exclusive. The one place that hands the line settings (8O1 for the EA) to
    pyserial, so a test can check them on a port that keeps parity."""
    import serial  # pyserial; imported here so codec-only users need not have it

    s = settings
    if s.parity != "N" and os.path.realpath(port).startswith("/dev/pts/"):
        # A pseudo-terminal (a simulator) carries no parity: Linux clears PARENB and then
        # refuses (EINVAL) pyserial setting it again when the same pty is reopened.
        s = replace(s, parity="N")
    try:
        return serial.serial_for_url(
            port,
            baudrate=s.baud,
            bytesize=s.bytesize,
            parity=s.parity,
            stopbits=s.stopbits,
            timeout=0,
            write_timeout=0,
            exclusive=True,
        )
    except (serial.SerialException, OSError, ValueError, termios.error) as exc:
        raise TransportError(f"cannot open {port}: {_reason(exc)}") from exc


def transport_for(port: str, settings: SerialSettings | None = None) -> Transport:
    """``tcp://host:port`` → TCP; anything else is a serial device path."""
    if port.startswith("tcp://"):
        host, _, p = port[len("tcp://") :].rpartition(":")
        return TcpTransport(host or "127.0.0.1", int(p))
    return SerialTransport(port, settings)


@dataclass
class Backoff:
    """Exponential back-off between reconnect attempts, capped so a returning device is found
    quickly (the cap bounds the time from 'device is back' to 'data flows')."""

    initial_s: float = 0.1
    max_s: float = 1.0
    factor: float = 2.0
    _next: float = 0.0

    def reset(self) -> None:
        self._next = 0.0

    def next_delay(self) -> float:
        self._next = self.initial_s if self._next == 0.0 else min(self.max_s, self._next * self.factor)
        return self._next


def list_serial_ports() -> list[tuple[str, str]]:
    """Present serial ports with their USB descriptions, for a port picker."""
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover
        return []
    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        desc = p.description if p.description and p.description != "n/a" else ""
        if p.serial_number:
            desc = f"{desc} (serial {p.serial_number})".strip()
        out.append((p.device, desc))
    return out


def _wake(fut: asyncio.Future[None]) -> None:
    """Reader/writer callback: the waiting task may have been cancelled since it fired, and
    qasync may deliver a notification queued before remove_reader()."""
    if not fut.done():
        fut.set_result(None)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__
