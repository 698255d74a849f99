"""The one bridge between the Qt-free core and the widgets.

A :class:`Bridge` belongs to one widget (its Qt parent) and does the two things every panel
needs of the core:

* :meth:`Bridge.listen` — a core :class:`benchgui.signals.Signal` (or anything with
  ``connect``/``disconnect``) delivered to a slot on the GUI thread. Core signals may fire on
  other threads (the recorder's writer, the forwarder, the verification worker); the bridge
  re-emits them through a Qt signal of its own, which Qt queues to the thread the bridge lives in
  (a signal fired on the GUI thread is delivered at once, as a direct Qt connection would). When
  the widget is deleted the bridge disconnects from the core, so the core never calls into a
  deleted Qt object.
* :meth:`Bridge.run` — a command coroutine started for the widget: the future is kept alive
  until it ends, its outcome goes to the widget's callbacks (only while the widget still
  exists), an error nobody handles is logged rather than lost, and :attr:`Bridge.busy` says
  whether a command is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Slot
from PySide6.QtCore import Signal as QtSignal

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Notifier(Protocol[P]):
    """What the bridge needs of a core signal (:class:`benchgui.signals.Signal` has it)."""

    def connect(self, listener: Callable[P, object]) -> object: ...

    def disconnect(self, listener: Callable[P, object]) -> None: ...


class _Link(Generic[P]):
    """One core signal → one slot; the listener the core holds, until the widget goes."""

    __slots__ = ("bridge", "notifier", "slot")

    def __init__(self, bridge: Bridge, notifier: Notifier[P], slot: Callable[P, object]) -> None:
        self.bridge = bridge
        self.notifier = notifier
        self.slot = slot

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Called by the core on whatever thread it fires on."""
        try:
            if shiboken6.isValid(self.bridge):
                self.bridge.delivered.emit(self.slot, args, kwargs)
                return
        except RuntimeError:  # deleted between the check and the emit
            pass
        self.close()

    def close(self) -> None:
        with contextlib.suppress(ValueError):  # benchgui.signals.Signal raises for a stranger
            self.notifier.disconnect(self)


def _close_all(links: list[_Link[Any]]) -> None:
    """The widget is gone: stop the core calling into it."""
    for link in links:
        link.close()
    links.clear()


class Bridge(QObject):
    """Core signals in, coroutines out, for the widget that is the bridge's Qt parent."""

    #: (slot, args, kwargs) — queued to the GUI thread when a core signal fires elsewhere
    delivered = QtSignal(object, object, object)
    #: a command started (True) or the last one ended (False)
    busy_changed = QtSignal(bool)

    def __init__(self, owner: QObject) -> None:
        super().__init__(owner)
        self._links: list[_Link[Any]] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self.delivered.connect(self._deliver)
        links = self._links  # not self: the Python wrapper may be half gone when this runs
        self.destroyed.connect(lambda *_: _close_all(links))

    # -- core signals → GUI thread ------------------------------------------------------------------
    def listen(self, notifier: Notifier[P], slot: Callable[P, object]) -> None:
        """Call ``slot`` on the GUI thread whenever ``notifier`` fires, until the widget is deleted."""
        link = _Link(self, notifier, slot)
        self._links.append(link)
        notifier.connect(link)

    def stop_listening(self) -> None:
        """Stop listening to the core now (the widget is being closed but not yet deleted)."""
        _close_all(self._links)

    @Slot(object, object, object)
    def _deliver(self, slot: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Runs on the bridge's (the GUI) thread: a bound slot, so Qt queues across threads."""
        slot(*args, **kwargs)

    # -- coroutines for the widget -----------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether a command started with :meth:`run` is still running."""
        return bool(self._pending)

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        done: Callable[[T], object] | None = None,
        failed: Callable[[BaseException], object] | None = None,
        cancelled: Callable[[], object] | None = None,
    ) -> asyncio.Future[T]:
        """Start ``coro`` on the running event loop and report its outcome to the widget.

        ``done`` gets the result, ``failed`` the exception (logged when there is no ``failed``),
        ``cancelled`` is called if it was cancelled; none is called once the widget is deleted.
        """
        fut = asyncio.ensure_future(coro)
        self._pending.add(fut)
        if len(self._pending) == 1:
            self.busy_changed.emit(True)
        pending = self._pending  # not self: the command may outlive the widget
        fut.add_done_callback(lambda f: self._finished(f, pending, done, failed, cancelled))
        return fut

    def _finished(
        self,
        fut: asyncio.Future[T],
        pending: set[asyncio.Future[Any]],
        done: Callable[[T], object] | None,
        failed: Callable[[BaseException], object] | None,
        cancelled: Callable[[], object] | None,
    ) -> None:
        pending.discard(fut)
        exc = None if fut.cancelled() else fut.exception()  # retrieved: never "never retrieved"
        if not shiboken6.isValid(self):  # the widget was deleted while the command ran
            if exc is not None:
                log.warning("a command of a closed panel failed: %s", exc)
            return
        if not pending:
            self.busy_changed.emit(False)
        if fut.cancelled():
            if cancelled is not None:
                cancelled()
        elif exc is not None:
            if failed is not None:
                failed(exc)
            else:
                log.error("command failed", exc_info=exc)
        elif done is not None:
            done(fut.result())
