"""Plumbing every simulator repeats: stopping its tasks, serving until cancelled, a pty server.

Kept in one place so that the simulators (``benchgui sim ea|mppt|labjack`` and the replays) stop
the same way: every task is cancelled first and then awaited, so one slow task cannot keep the
others running, and the cancellation each task raises is absorbed here rather than in each
simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from benchgui.simbench.pty import PtyPort


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel ``tasks`` (None entries are skipped) and wait until each has finished."""
    live = [t for t in tasks if t is not None]
    for t in live:
        t.cancel()
    for t in live:
        with contextlib.suppress(asyncio.CancelledError):
            await t


async def serve_until_cancelled(stop: Callable[[], Awaitable[None]]) -> None:
    """Wait until cancelled (SIGINT/SIGTERM in ``benchgui sim``), then ``stop`` the simulator."""
    try:
        await asyncio.Event().wait()
    finally:
        await stop()


class PtyTaskServer:
    """A simulator that serves a :class:`PtyPort` with a few tasks, started and stopped together.

    A subclass says which tasks in :meth:`_loops`; :meth:`stop` cancels them and closes the pty
    (which removes the link: to a driver, the device is unplugged).
    """

    #: the :class:`RuntimeError` text of :attr:`path` before :meth:`start`
    not_started = "simulator not started"

    def __init__(self, link: str | Path | None = None) -> None:
        self.link = link
        self.port: PtyPort | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def path(self) -> str:
        """What a driver opens (the link if there is one)."""
        if self.port is None:
            raise RuntimeError(self.not_started)
        return self.port.path

    def _loops(self, port: PtyPort) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """(task name, coroutine) of each task that serves ``port``."""
        raise NotImplementedError

    async def start(self) -> str:
        port = self.port = PtyPort(self.link)
        self._tasks = [asyncio.create_task(coro, name=name) for name, coro in self._loops(port)]
        return port.path

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(*tasks)
        if self.port is not None:
            self.port.close()
            self.port = None


async def serve_pty(server: PtyTaskServer, ready: Callable[[str], None], what: str) -> None:
    """Start ``server``, say ``"<path> (<what>)"`` through ``ready`` and serve until cancelled."""
    await server.start()
    ready(f"{server.path} ({what})")
    await serve_until_cancelled(server.stop)
