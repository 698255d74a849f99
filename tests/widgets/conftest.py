"""Widget tests run as the app does: cyclic garbage collection only on the GUI thread.

Without it a collection on a worker thread (the forwarder's, the recorder's) can destroy Qt
objects there and deadlock with the GUI thread — it did, once, in CI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchgui.widgets.main_thread_gc import MainThreadGC


@pytest.fixture(scope="session", autouse=True)
def main_thread_gc(qapp) -> Iterator[MainThreadGC]:  # type: ignore[no-untyped-def]
    collector = MainThreadGC()
    collector.start()
    yield collector
    collector.stop()
