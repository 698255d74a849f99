"""The simulators' shared plumbing: stopping tasks, serving until cancelled, a pty task server."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from benchgui.simbench.pty import PtyPort
from benchgui.simbench.serving import PtyTaskServer, cancel_and_wait, serve_until_cancelled
from tests.helpers import async_wait_until, with_timeout


async def test_cancel_and_wait_stops_every_task_and_skips_none() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    tasks = [asyncio.create_task(forever()) for _ in range(3)]
    await with_timeout(started.wait())
    await with_timeout(cancel_and_wait(tasks[0], None, *tasks[1:]))
    assert all(t.cancelled() for t in tasks)
    await with_timeout(cancel_and_wait())  # nothing to stop is fine


async def test_cancel_and_wait_lets_a_task_error_through() -> None:
    async def broken() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(broken())
    await async_wait_until(task.done)
    with pytest.raises(ValueError, match="boom"):
        await cancel_and_wait(task)


async def test_serve_until_cancelled_stops_on_cancel() -> None:
    stopped: list[bool] = []

    async def stop() -> None:
        stopped.append(True)

    entered = asyncio.Event()

    async def serve() -> None:
        entered.set()  # no await between this and serve_until_cancelled's wait
        await serve_until_cancelled(stop)

    task = asyncio.create_task(serve())
    await with_timeout(entered.wait())
    assert not stopped
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await with_timeout(task)
    assert stopped == [True]


class _Echo(PtyTaskServer):
    not_started = "echo not started"

    def _loops(self, port: PtyPort) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [("echo", self._echo(port))]

    async def _echo(self, port: PtyPort) -> None:
        while True:
            try:
                data = await port.read()
            except ConnectionError:
                return
            await port.write(data)


async def test_pty_task_server_serves_and_unplugs(tmp_path: Path) -> None:
    link = tmp_path / "echo.pty"
    server = _Echo(link)
    with pytest.raises(RuntimeError, match="echo not started"):
        _ = server.path
    assert await server.start() == str(link) == server.path
    fd = os.open(server.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        os.write(fd, b"ping")
        got = bytearray()

        def read_some() -> bool:
            with contextlib.suppress(BlockingIOError):
                got.extend(os.read(fd, 64))
            return bytes(got) == b"ping"

        await async_wait_until(read_some)
    finally:
        os.close(fd)
    tasks = list(server._tasks)
    await with_timeout(server.stop())
    assert all(t.done() for t in tasks)
    assert server.port is None
    assert not link.exists()
    await with_timeout(server.stop())  # stopping twice is harmless
