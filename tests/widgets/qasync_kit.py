"""Run a coroutine inside a qasync loop (the ``qloop`` fixture, in conftest.py), so Qt widgets and the
asyncio core both make progress."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))
