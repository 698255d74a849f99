"""The banner says so when the load keeps reporting its input on after the safety off."""

from __future__ import annotations

from benchgui.core.safety import SafetyState, Trip
from benchgui.widgets.safety_banner import SafetyBanner


class _Supervisor:
    def acknowledge(self) -> None:
        pass


def test_an_escalated_trip_tells_the_operator_to_act(qtbot) -> None:  # type: ignore[no-untyped-def]
    banner = SafetyBanner(_Supervisor())  # type: ignore[arg-type]
    qtbot.addWidget(banner)
    trip = Trip("operator_abort", "emergency stop (button)", {}, 1_000_000_000, escalated=True)
    assert banner.show_state(SafetyState(trip=trip))
    assert "STILL REPORTS ITS INPUT ON" in banner.text.text()
    off = Trip("operator_abort", "emergency stop (button)", {}, 1, load_off=True, off_t_ns=2, escalated=True)
    banner.show_state(SafetyState(trip=off))
    assert "switched OFF" in banner.text.text()  # once the device reports it off, that stands
