"""Run a coroutine inside a qasync loop, so Qt widgets and the asyncio core both make progress."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest


@pytest.fixture
def qloop(qapp) -> Iterator[asyncio.AbstractEventLoop]:  # type: ignore[no-untyped-def]
    import qasync

    qapp.setQuitOnLastWindowClosed(False)  # as the app does: closing a window must not stop the loop
    loop = qasync.QEventLoop(qapp)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    try:
        yield loop
    finally:
        loop.close()
    assert not errors, f"unhandled errors in the loop: {errors}"


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))
