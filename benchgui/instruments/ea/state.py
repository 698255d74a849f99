"""The load's latest decoded state, and a tiny observer to announce changes (no Qt, no core).

The load source announces state changes with :class:`benchgui.signals.Signal` (a foundation
module, so instruments need not import the core); the load panel bridges it to a Qt signal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from benchgui.instruments.ea.driver import Identity

log = logging.getLogger(__name__)


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
