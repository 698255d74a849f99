"""The instrument interfaces and state records that the widgets may use — the one door.

Widgets import nothing from :mod:`benchgui.instruments` (import-linter enforces it); what they
need of an instrument they get here: the typed command interfaces declared in
:mod:`benchgui.instruments.base`, the state records those interfaces publish, and the functions
that put a device's state codes into words (the MPPT's charger/DC-DC states and flags).
"""

from __future__ import annotations

from benchgui.instruments.base import AinConfigurable, ChargerControl, LoadControl, Source
from benchgui.instruments.ea.state import LoadState
from benchgui.instruments.labjack.source import Reading
from benchgui.instruments.mppt.items import (
    charger_state_name,
    dcdc_state_name,
    decode_error_flags,
    decode_output_info,
)
from benchgui.instruments.mppt.source import MpptSnapshot

__all__ = [
    "AinConfigurable",
    "ChargerControl",
    "LoadControl",
    "LoadState",
    "MpptSnapshot",
    "Reading",
    "Source",
    "charger_state_name",
    "dcdc_state_name",
    "decode_error_flags",
    "decode_output_info",
]
