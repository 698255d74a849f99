"""Flagged readings (OVER_RANGE, SUSPECT) are never judged as values (issue 23 item 3)."""

from __future__ import annotations

from benchgui.core.interlocks import Interlocks
from benchgui.core.limits import CUTOFF_VOLTAGE, SENSOR_LOST
from benchgui.model import Sample, SampleFlag
from tests.core.test_interlocks import CHANNELS, armed, at, i, lim, v

OVER = int(SampleFlag.OVER_RANGE)


def clipped(t_s: float, value: float = 5.0) -> Sample:
    return Sample("battery.voltage.labjack", at(t_s), value, OVER)


def feed_clipped_reference(il: Interlocks, seconds: float, mppt_v: float = 13.5) -> list[object]:
    """The issue's bench: the LabJack reads a clipped 5.000 V at 10 Hz, the MPPT the truth."""
    found = []
    for n in range(int(seconds * 10)):
        t = n / 10
        found.append(il.on_samples([clipped(t)]))
        if n % 10 == 0:
            found.append(il.on_samples([v("mppt", t, mppt_v)]))
        found.append(il.on_tick(at(t)))
    return [f for f in found if f is not None]


def test_a_clipped_reference_never_trips_the_cutoff_and_the_mppt_is_judged() -> None:
    """Reproduction: a ±1 V range made the reference read 5.000 V and the cut-off tripped while
    the battery was at 13.5 V. Old code: a CUTOFF_VOLTAGE violation after 2 s."""
    il = armed(lim())
    il.on_samples([v("labjack", 0.0, 13.5), v("mppt", 0.0, 13.5)])
    assert il.judged_channel(at(0.0)) == "battery.voltage.labjack"
    assert feed_clipped_reference(il, 20.0) == []
    assert il.judged_channel(at(20.0)) == "battery.voltage.mppt"
    assert il.flagged_count["battery.voltage.labjack"] == 200
    kinds = [k for k, _, _ in il.notices]
    assert kinds.count("safety.flagged") == 1  # once per transition, not per sample
    fallback = [(text, data) for k, text, data in il.notices if k == "safety.fallback"]
    assert len(fallback) == 1
    text, data = fallback[0]
    assert "battery.voltage.mppt" in text
    assert "over range" in text
    assert data["why"] == "battery.voltage.labjack over range"


def test_the_fallback_sensor_still_trips_the_true_cutoff() -> None:
    il = armed(lim())
    found = feed_clipped_reference(il, 10.0, mppt_v=10.0)  # below the 10.5 V cut-off
    assert found
    assert getattr(found[0], "reason", None) == CUTOFF_VOLTAGE
    assert "battery.voltage.mppt" in found[0].text  # type: ignore[attr-defined]


def test_a_reference_reading_valid_again_is_judged_again() -> None:
    il = armed(lim())
    il.on_samples([clipped(0.0), v("mppt", 0.0, 13.5)])
    assert il.judged_channel(at(0.0)) == "battery.voltage.mppt"
    il.on_samples([v("labjack", 0.1, 13.4)])
    assert il.judged_channel(at(0.1)) == "battery.voltage.labjack"
    assert any(k == "safety.valid" for k, _, _ in il.notices)


def test_with_only_a_clipped_source_the_voltage_is_lost_and_says_why() -> None:
    il = armed(lim(voltage_sources=("labjack",)), ["battery.voltage.labjack"])
    found = [il.on_samples([clipped(n / 10)]) or il.on_tick(at(n / 10)) for n in range(80)]
    trips = [f for f in found if f is not None]
    assert trips
    assert trips[0].reason == SENSOR_LOST
    assert "battery.voltage.labjack over range" in trips[0].text


def test_flagged_currents_are_neither_judged_nor_counted() -> None:
    il = armed(lim(max_current_a=20.0, limit_debounce_s=0.0), CHANNELS)
    for n in range(50):
        t = n / 10
        assert il.on_samples([Sample("battery.current.labjack", at(t), -30.0, OVER)]) is None
        assert il.on_samples([i("load", t, -5.0)]) is None
    assert il.discharged_ah < 5.0 * 5.0 / 3600 * 1.01  # the load's 5 A, not the clipped 30 A
    assert il.flagged_count["battery.current.labjack"] == 50
