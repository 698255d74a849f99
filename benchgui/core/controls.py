"""The instrument interfaces and state records that the widgets may use — the one door.

Widgets import nothing from :mod:`benchgui.instruments` (import-linter enforces it); what they
need of an instrument they get here: the typed command interfaces declared in
:mod:`benchgui.instruments.base` and the state records those interfaces publish.
"""

from __future__ import annotations

from benchgui.instruments.base import AinConfigurable, ChargerControl, LoadControl, Source
from benchgui.instruments.ea.state import LoadState
from benchgui.instruments.labjack.source import Reading
from benchgui.instruments.mppt.source import MpptSnapshot

__all__ = [
    "AinConfigurable",
    "ChargerControl",
    "LoadControl",
    "LoadState",
    "MpptSnapshot",
    "Reading",
    "Source",
]
