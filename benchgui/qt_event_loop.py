"""qasync's event loop with asyncio's own queue of ready callbacks (issue 19).

qasync runs every ``call_soon`` as a Qt timer of its own: ``startTimer(0)``, a timer event through
Qt's dispatcher into Python, ``killTimer`` — and checks each callback with
``asyncio.iscoroutinefunction`` (``inspect``) on the way in. The bench's acquisition makes
~80 ``call_soon`` a second (every future that completes, every task step) and ~40 ``call_later``
(``asyncio.sleep``, ``wait_for`` timeouts). Under cProfile, qasync's scheduling was ~15 % of the
GUI thread's time in the default view (``benchmarks/bench_gui_cpu.py`` with
``BENCH_GUI_PROFILE``), for callbacks that themselves are cheap.

:class:`QtAsyncioLoop` keeps qasync for everything (timers, sockets, threads, running and
stopping with Qt) but queues ``call_soon`` callbacks as asyncio's own loop does: in order, in one
queue, run together from one Qt zero-timer; callbacks queued while the queue runs wait for the
next turn, so Qt's events (paints, input) still come between them. In debug mode
(``PYTHONASYNCIODEBUG``) qasync's own path is used unchanged (its slow-callback warnings).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Callable
from typing import Any

import qasync


class QtAsyncioLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync is untyped
    """qasync's ``QEventLoop`` whose ``call_soon`` callbacks share one Qt timer (module text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self._turn_pending = False
        super().__init__(*args, **kwargs)

    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        if self.get_debug():
            return super().call_soon(callback, *args, context=context)  # type: ignore[no-any-return]
        if not callable(callback):
            raise TypeError(f"callback must be callable: {type(callback).__name__}")
        handle = asyncio.Handle(callback, args, self, context=context)
        self._ready.append(handle)
        self._schedule_turn()
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """qasync's, without its ``iscoroutinefunction`` check (``inspect``, at every timer) but
        in debug mode."""
        if self.get_debug():
            return super().call_later(delay, callback, *args, context=context)  # type: ignore[no-any-return]
        if not callable(callback):
            raise TypeError(f"callback must be callable: {type(callback).__name__}")
        return self._add_callback(asyncio.Handle(callback, args, self, context=context), delay)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close as qasync does, then stop the Qt timers of callbacks not yet due (a cancelled
        ``asyncio.sleep``, a ``wait_for`` timeout) here, on the loop's thread. qasync leaves them
        registered; their handles keep the loop in a reference cycle, and when Python's cyclic
        GC later frees it on another thread, Qt cannot stop them from there ("Timers cannot be
        stopped from another thread") and the next timer event reaches a deleted object: a
        segfault, reproduced with qasync's own loop and seen in the test suite."""
        super().close()
        self._ready.clear()
        timer = self._timer
        pending = getattr(timer, "_SimpleTimer__callbacks", None)  # qasync's private table
        if pending:
            for timer_id in list(pending):
                timer.killTimer(timer_id)
            pending.clear()

    def _schedule_turn(self) -> None:
        if not self._turn_pending:
            self._turn_pending = True
            self._add_callback(asyncio.Handle(self._run_ready, (), self), 0)

    def _run_ready(self) -> None:
        """Run the callbacks queued before this turn, in order (as asyncio's ``_run_once``)."""
        self._turn_pending = False
        ready = self._ready
        try:
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle.cancelled():
                    handle._run()  # reports a callback's exception to the loop's handler
        finally:
            if ready:  # queued meanwhile, or left by a BaseException: the next turn
                self._schedule_turn()
