"""The GUI's garbage collector: off on every thread, collected on the GUI thread's timer."""

from __future__ import annotations

import gc
import threading
import weakref

from benchgui.widgets.main_thread_gc import MainThreadGC


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_cycles_are_freed_on_the_gui_thread_only(qtbot, main_thread_gc: MainThreadGC) -> None:  # type: ignore[no-untyped-def]
    assert main_thread_gc.active
    assert not gc.isenabled()
    refs: list[weakref.ref[Node]] = []

    def worker() -> None:  # allocates far past the thresholds: no collection may run here
        for _ in range(20_000):
            refs.append(weakref.ref(Node()))

    t = threading.Thread(target=worker)
    t.start()
    t.join(60)
    assert not t.is_alive()
    assert all(r() is not None for r in refs[:100])  # nothing collected on the worker
    before = main_thread_gc.collections
    qtbot.waitUntil(lambda: main_thread_gc.collections > before, timeout=30_000)
    gc.collect()  # the timer may have collected the youngest generation only
    assert all(r() is None for r in refs)


def test_stop_gives_automatic_collection_back(qapp) -> None:  # type: ignore[no-untyped-def]
    was = gc.isenabled()
    c = MainThreadGC()
    c.start()
    assert not gc.isenabled()
    c.stop()
    assert gc.isenabled()
    if not was:
        gc.disable()
