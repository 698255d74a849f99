"""Flagged readings are dropped and counted by the program meter; a program refuses to start on a
measuring channel whose latest reading is flagged."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from benchgui.core.display import DisplayBuffers
from benchgui.core.programs.meter import Meter
from benchgui.core.readings import ReadingInvalid, flag_words, require_valid_readings
from benchgui.model import Channel, Sample, SampleFlag

S = 1_000_000_000
OVER = int(SampleFlag.OVER_RANGE)
VCH, ICH = "battery.voltage.labjack", "battery.current.labjack"


def test_the_meter_neither_ends_steps_on_nor_integrates_flagged_samples() -> None:
    m = Meter(VCH, ICH)
    m.feed([Sample(VCH, 0, 12.5), Sample(ICH, 0, -5.0)])
    got = m.feed([Sample(VCH, S, 5.0, OVER), Sample(ICH, S, -50.0, OVER)])
    assert got == (False, False)
    assert m.v == 12.5  # the clipped 5 V never reaches a voltage condition
    m.feed([Sample(ICH, 2 * S, -5.0)])
    assert m.ah == pytest.approx(5.0 * 2 / 3600)  # bridged at 5 A, not the clipped 50 A
    assert m.flagged == 2


def test_flag_words() -> None:
    assert flag_words(OVER) == "over range"
    assert flag_words(int(SampleFlag.OVER_RANGE | SampleFlag.SUSPECT)) == "over range and suspect"


def test_a_clipped_measuring_channel_refuses_the_start() -> None:
    display = DisplayBuffers(60.0)
    bench = SimpleNamespace(display=display, channels={VCH: Channel.of("battery.voltage", "labjack", "V")})
    display.append([Sample(VCH, 0, 12.6), Sample(ICH, 0, -0.1)])
    asyncio.run(require_valid_readings(bench, (VCH, ICH), 1.0))  # type: ignore[arg-type]
    display.append([Sample(VCH, S, 5.0, OVER)])
    with pytest.raises(
        ReadingInvalid, match=r"battery\.voltage\.labjack reads 5 V, over range .*widen the range"
    ):
        asyncio.run(require_valid_readings(bench, (VCH, ICH), 1.0))  # type: ignore[arg-type]
