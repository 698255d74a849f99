"""The load's latest decoded state, and a tiny observer to announce changes (no Qt, no core).

Instruments may not import :mod:`benchgui.core`, so the load source announces state changes
with :class:`Notifier`, which has the same ``connect``/``disconnect``/``emit`` surface as
:class:`benchgui.core.signals.Signal`; the load panel bridges it to a Qt signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, ParamSpec

from benchgui.instruments.ea.driver import Identity

log = logging.getLogger(__name__)

P = ParamSpec("P")


class Notifier(Generic[P]):
    """Call listeners in order; a listener that raises is logged and does not stop the others."""

    __slots__ = ("_listeners", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._listeners: list[Callable[P, object]] = []

    def connect(self, listener: Callable[P, object]) -> Callable[P, object]:
        self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Callable[P, object]) -> None:
        self._listeners.remove(listener)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in list(self._listeners):
            try:
                listener(*args, **kwargs)
            except Exception:
                log.exception("listener %r of %s failed", listener, self.name or "notifier")


@dataclass(frozen=True)
class LoadState:
    """What the load panel shows. ``None`` means unknown (not connected, or the profile cannot
    tell). Currents and powers are the load's own sense here (sink current positive); the bench
    channels carry the battery sign."""

    connected: bool = False
    identity: Identity | None = None
    remote: bool | None = None
    input_on: bool | None = None
    mode: str | None = None  # regulation reported by the device: CC, CV, CP, CR
    alarms: frozenset[str] = frozenset()  # ovp, ocp, opp, otp
    status_confirmed: bool = True  # False: the status bits come from an UNCONFIRMED object
    voltage_v: float | None = None
    current_a: float | None = None
    power_w: float | None = None
    ah: float | None = None
    set_mode: str | None = None  # what we last commanded: CC or CP
    set_current_a: float | None = None
    set_power_w: float | None = None
    last_error: str = ""
    link: str = ""  # connection status in words
