"""A pseudo-terminal that a simulator serves, so drivers open it like a real serial port.

The simulator keeps the master side; the slave's path (``/dev/pts/N``) is what a driver opens,
optionally reached through a symlink (``--link ea.pty``) so the path is stable across restarts.
The simulator also holds the slave open itself, so a driver closing and reopening the port does
not tear the pty down. :meth:`PtyPort.close` removes the link: to a driver that is a device
being unplugged.

A pty has no baud rate, so :meth:`PtyPort.write` can pace output like a real line (start bit,
data bits, parity, stop bit per byte) — honest timing for benchmarks, off for fast tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import time
import tty
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

#: ``benchgui sim --trace``: the hook ``(to_device, data)`` of the simulator whose task this is
#: (a context variable, so each simulator of ``sim bench`` records under its own name)
PTY_TRACE: ContextVar[Callable[[bool, bytes], None] | None] = ContextVar("pty_trace", default=None)


def trace_sent(data: bytes) -> None:
    """For a simulator that writes to :attr:`PtyPort.master` itself: record what it sends."""
    if data and (hook := PTY_TRACE.get()) is not None:
        hook(False, data)


class PtyPort:
    def __init__(self, link: str | os.PathLike[str] | None = None) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self._slave)
        self.link = Path(link) if link is not None else None
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.device)
        self._closed = False

    @property
    def path(self) -> str:
        """What a driver should open: the link if there is one, else the pts device."""
        return str(self.link) if self.link is not None else self.device

    async def read(self, max_bytes: int = 4096) -> bytes:
        """Wait for bytes from the driver side."""
        loop = asyncio.get_running_loop()
        while not self._closed:
            try:
                data = os.read(self.master, max_bytes)
                if data:
                    if (hook := PTY_TRACE.get()) is not None:
                        hook(True, data)
                    return data
            except BlockingIOError:
                pass
            except OSError:  # EIO: nobody holds the slave (cannot happen while we hold it)
                await asyncio.sleep(0.01)
                continue
            fut = loop.create_future()
            loop.add_reader(self.master, _wake, fut)
            try:
                await fut
            finally:
                loop.remove_reader(self.master)
        raise ConnectionError("pty closed")

    async def write(self, data: bytes, baud: float | None = None, bits_per_byte: int = 10) -> None:
        """Send ``data`` to the driver side; with ``baud``, take as long as the real line would."""
        if baud:
            # pace by deadline rather than per-byte sleeps: asyncio timers are ~1 ms coarse
            deadline = time.monotonic() + len(data) * bits_per_byte / baud
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        trace_sent(data)
        view = memoryview(data)
        while view and not self._closed:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                await asyncio.sleep(0.001)  # the driver is not reading; its buffer is full

    def discard_input(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self.master, 4096):
                pass

    def close(self) -> None:
        """Tear the port down: the link disappears (the 'device unplugged')."""
        if self._closed:
            return
        self._closed = True
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                if self.link.is_symlink() and os.readlink(self.link) == self.device:
                    self.link.unlink()
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wake(fut: asyncio.Future[None]) -> None:
    """Reader callback: the waiting task may have been cancelled since it fired, and
    qasync may deliver a notification queued before remove_reader()."""
    if not fut.done():
        fut.set_result(None)
