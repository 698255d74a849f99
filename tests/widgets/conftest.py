"""Widget tests run as the app does: cyclic garbage collection only on the GUI thread.

Also the ``qloop`` fixture: a qasync event loop over the test's QApplication.

Without the first, a collection on a worker thread (the forwarder's, the recorder's) can destroy Qt
objects there and deadlock with the GUI thread — it did, once, in CI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from benchgui.widgets.main_thread_gc import MainThreadGC


@pytest.fixture(scope="session", autouse=True)
def main_thread_gc(qapp) -> Iterator[MainThreadGC]:  # type: ignore[no-untyped-def]
    collector = MainThreadGC()
    collector.start()
    yield collector
    collector.stop()


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
