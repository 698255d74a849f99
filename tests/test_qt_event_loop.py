"""The GUI's event loop (benchgui.qt_event_loop, issue 19): qasync with asyncio's queue of ready
callbacks — same order, no starvation of Qt's events, errors reported, everything asyncio does
still works."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from benchgui.qt_event_loop import QtAsyncioLoop

pytestmark = pytest.mark.timeout(60)
T = TypeVar("T")


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[QtAsyncioLoop]:
    lp = QtAsyncioLoop(qapp)
    yield lp
    lp.close()


def run(loop: QtAsyncioLoop, make: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(make(), 20)  # a broken loop fails here, it does not hang

    return loop.run_until_complete(bounded())


def test_callbacks_run_in_the_order_they_were_queued(loop: QtAsyncioLoop) -> None:
    order: list[str] = []

    async def scenario() -> None:
        done = loop.create_future()
        for name in "abcde":
            loop.call_soon(order.append, name)
        loop.call_soon(done.set_result, None)
        await done

    run(loop, scenario)
    assert order == list("abcde")


def test_a_callback_that_queues_itself_forever_does_not_starve_qt(loop: QtAsyncioLoop) -> None:
    """Callbacks queued while the queue runs wait for the next turn: Qt's own events (a timer
    here; paints and input in the app) still come in between."""
    spins = [0]
    qt_fired = [False]

    def spin() -> None:
        spins[0] += 1
        if not qt_fired[0]:
            loop.call_soon(spin)

    async def scenario() -> None:
        loop.call_soon(spin)
        QTimer.singleShot(0, lambda: qt_fired.__setitem__(0, True))
        while not qt_fired[0]:
            await asyncio.sleep(0)

    run(loop, scenario)
    assert qt_fired[0]
    assert spins[0] >= 1


def test_a_cancelled_callback_does_not_run_and_a_failing_one_is_reported(loop: QtAsyncioLoop) -> None:
    ran: list[str] = []
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))

    def boom() -> None:
        raise ValueError("broken callback")

    async def scenario() -> None:
        done = loop.create_future()
        handle = loop.call_soon(ran.append, "cancelled")
        loop.call_soon(boom)
        loop.call_soon(ran.append, "after")
        loop.call_soon(done.set_result, None)
        handle.cancel()
        await done

    run(loop, scenario)
    assert ran == ["after"]
    assert [type(c.get("exception")) for c in reported] == [ValueError]


def test_tasks_sleeps_timeouts_and_threads_work_as_in_asyncio(loop: QtAsyncioLoop) -> None:
    async def worker(n: int) -> int:
        await asyncio.sleep(0.001 * n)
        return n * n

    async def scenario() -> tuple[list[int], bool, str]:
        squares = await asyncio.gather(*(worker(n) for n in range(5)))
        try:
            await asyncio.wait_for(asyncio.sleep(30), 0.01)
            timed_out = False
        except TimeoutError:
            timed_out = True
        fut = loop.create_future()
        threading.Thread(target=lambda: loop.call_soon_threadsafe(fut.set_result, "from a thread")).start()
        return squares, timed_out, await fut

    assert run(loop, scenario) == ([0, 1, 4, 9, 16], True, "from a thread")


def test_debug_mode_keeps_qasyncs_own_path(loop: QtAsyncioLoop) -> None:
    loop.set_debug(True)
    order: list[int] = []

    async def scenario() -> None:
        done = loop.create_future()
        for i in range(3):
            loop.call_soon(order.append, i)
        assert not loop._ready  # qasync's timers, not the shared queue
        loop.call_later(0.001, done.set_result, None)
        await done

    run(loop, scenario)
    assert order == [0, 1, 2]


def test_a_callback_that_is_not_callable_is_refused(loop: QtAsyncioLoop) -> None:
    with pytest.raises(TypeError, match="callable"):
        loop.call_soon(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        loop.call_later(1.0, "nope")  # type: ignore[arg-type]


def test_a_closed_loop_freed_on_another_thread_leaves_no_timer_behind() -> None:
    """qasync leaves a Qt timer for every callback not yet due (here a cancelled sleep); freed
    by Python's cyclic GC on another thread, Qt could not stop them and the next timer event
    reached a deleted object (a segfault in the suite). Closing stops them. In a subprocess:
    the failure is a crash."""
    import subprocess
    import sys

    from tests.helpers import cli_env

    code = """
import asyncio, gc, threading, time
from PySide6.QtWidgets import QApplication
from benchgui.qt_event_loop import QtAsyncioLoop
app = QApplication([])
loop = QtAsyncioLoop(app)
async def timeout():
    try:
        await asyncio.wait_for(asyncio.sleep(1.0), 0.01)
    except TimeoutError:
        pass
loop.run_until_complete(timeout())
loop.close()
assert not loop._timer._SimpleTimer__callbacks, "timers left behind"
del loop
gc.disable()
th = threading.Thread(target=gc.collect)
th.start()
th.join()
end = time.monotonic() + 1.5  # past the sleep's due time
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.02)
print("survived")
"""
    env = dict(cli_env(), QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert r.returncode == 0, (r.returncode, r.stdout[-1000:], r.stderr[-2000:])
    assert "survived" in r.stdout
