"""Who has the EA line: one exchange at a time, safety first.

Urgent waiters (the supervisor's off and the status read that confirms it) go before ordinary
ones (polls, operator commands), each in arrival order, and an urgent waiter cancels the
ordinary exchange holding the line — its retries included — so that the urgent telegram is the
next one on the wire. The holder's :class:`~.transactions.TelegramLink` turns that cancellation
into :class:`~.transactions.LinkPreempted` (:meth:`LineLock.take_preemption`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class LineLock:
    """The line, one exchange at a time: urgent waiters before ordinary ones (each FIFO); an
    urgent waiter cancels an ordinary holder. Ownership passes directly to the next waiter."""

    def __init__(self) -> None:
        self._busy = False
        self._waiters: dict[bool, deque[tuple[asyncio.Future[None], asyncio.Task[object] | None]]] = {
            True: deque(),
            False: deque(),
        }
        self.holder: asyncio.Task[object] | None = None
        self.holder_urgent = False
        self._preempted: set[asyncio.Task[object]] = set()

    @contextlib.asynccontextmanager
    async def hold(self, urgent: bool) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if not self._busy and not self._waiters[True] and not self._waiters[False]:
            self._busy = True
            self.holder, self.holder_urgent = task, urgent
        else:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters[urgent].append((fut, task))
            if urgent:
                self._preempt()
            try:
                await fut
            except asyncio.CancelledError:
                if fut.cancelled():
                    with contextlib.suppress(ValueError):
                        self._waiters[urgent].remove((fut, task))
                else:  # the line was handed to us as we were cancelled: pass it on
                    self._release()
                raise
        try:
            yield
        finally:
            self._release()

    def _preempt(self) -> None:
        holder = self.holder
        if holder is not None and not self.holder_urgent and holder not in self._preempted:
            self._preempted.add(holder)
            holder.cancel("preempted by an urgent exchange")

    @property
    def waiting(self) -> int:
        """Exchanges waiting for the line."""
        return sum(1 for q in self._waiters.values() for fut, _ in q if not fut.done())

    def take_preemption(self, task: asyncio.Task[object] | None) -> bool:
        """True when ``task``'s cancellation was a preemption (and nobody else cancelled it)."""
        if task is None or task not in self._preempted:
            return False
        self._preempted.discard(task)
        return task.uncancel() == 0

    def _release(self) -> None:
        for urgent in (True, False):
            queue = self._waiters[urgent]
            while queue:
                fut, task = queue.popleft()
                if not fut.done():
                    self.holder, self.holder_urgent = task, urgent
                    fut.set_result(None)
                    return
        self._busy = False
        self.holder = None
