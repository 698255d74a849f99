"""A minimal observer: the core and the instruments announce things, the GUI (or a test) listens.

Qt-free on purpose: the core and the drivers must run headless. Widgets bridge these to Qt signals in
:mod:`benchgui.widgets.bridge`. A listener that raises is logged and does not stop the others —
a broken plot must never stop the recorder or the safety supervisor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, ParamSpec

log = logging.getLogger(__name__)

P = ParamSpec("P")


class Signal(Generic[P]):
    __slots__ = ("_listeners", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._listeners: list[Callable[P, object]] = []

    def connect(self, listener: Callable[P, object], *, first: bool = False) -> Callable[P, object]:
        """Add a listener; ``first`` puts it before those already connected (a program's own
        end conditions are judged before the safety supervisor's on the same samples)."""
        if first:
            self._listeners.insert(0, listener)
        else:
            self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Callable[P, object]) -> None:
        self._listeners.remove(listener)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in list(self._listeners):
            try:
                listener(*args, **kwargs)
            except Exception:
                log.exception("listener %r of %s failed", listener, self.name or "signal")
