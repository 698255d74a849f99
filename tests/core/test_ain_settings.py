"""The ``ain_settings`` core service: validate channel tables like the config file, apply them to
the DAQ first and save them second, and compute two-point calibrations — without a GUI and
without a T7 (a LabJack source that never connects takes channels "at the next connect")."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from benchgui.config.loader import load_config
from benchgui.config.schema import LabJackChannelSection, LabJackSection
from benchgui.config.writer import ConfigFile
from benchgui.core.ain_settings import AinSettings
from benchgui.errors import BenchError, ConfigError, DeviceRefused, ValueOutOfRange
from benchgui.instruments.labjack.source import LabJackSource


class Daq(LabJackSource):
    """A LabJack source that is never connected; it can refuse, and has canned readings."""

    def __init__(self, section: LabJackSection) -> None:
        super().__init__(section)
        self.refuse = False
        self.means: dict[str, float] = {}

    async def apply_channels(self, channels: Sequence[LabJackChannelSection]) -> bool:
        if self.refuse:
            raise DeviceRefused("T7 refused the range")
        return await super().apply_channels(channels)

    def uncalibrated_mean(self, quantity: str, n: int = 10) -> float | None:
        return self.means.get(quantity)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[bench]\nname = "test"\n\n[instruments.labjack]\naddress = "10.0.0.5"\n')
    return path


def _settings(path: Path | None) -> tuple[AinSettings, Daq]:
    section = load_config(path).config.instruments.labjack if path is not None else None
    daq = Daq(section or LabJackSection())
    return AinSettings(daq, ConfigFile(path)), daq


def test_validation_names_the_key_as_the_config_file_would(tmp_path: Path) -> None:
    settings, _ = _settings(_config(tmp_path))
    tables = settings.working_copy()
    assert [t["quantity"] for t in tables] == [c.quantity for c in settings.channels]
    assert settings.validate(tables) == list(settings.channels)
    tables[1]["differential"] = True
    tables[1]["ain"] = 1  # a T7 pairs even inputs only
    with pytest.raises(BenchError, match=r"channels\[1\]\.differential"):
        settings.validate(tables)
    tables = settings.working_copy()
    tables[0]["transfer"] = {"kind": "la55p", "r_m_ohm": 0.0}
    with pytest.raises((BenchError, ValueError), match="r_m_ohm"):
        settings.validate(tables)
    tables = settings.working_copy()
    tables[0]["range_v"] = 3.0
    with pytest.raises(ConfigError, match=r"instruments\.labjack\.channels\[0\]\.range_v"):
        settings.validate(tables)


def test_applied_first_then_saved_keeping_the_rest_of_the_table(tmp_path: Path) -> None:
    path = _config(tmp_path)
    settings, _ = _settings(path)
    tables = settings.working_copy()
    tables[0]["range_v"] = 1.0
    outcome = asyncio.run(settings.apply_and_save(settings.validate(tables)))
    assert outcome.applied is False  # not connected: the source applies them at the next connect
    assert outcome.saved_to == path
    assert outcome.save_error is None
    assert settings.channels[0].range_v == 1.0  # in force now
    saved = load_config(path).config.instruments.labjack
    assert saved is not None
    assert saved.channels[0].range_v == 1.0
    assert saved.address == "10.0.0.5"


def test_in_force_even_when_the_file_cannot_be_written(tmp_path: Path) -> None:
    settings, _ = _settings(None)  # no configuration file in use (built-in defaults)
    tables = settings.working_copy()
    tables[0]["range_v"] = 1.0
    outcome = asyncio.run(settings.apply_and_save(settings.validate(tables)))
    assert outcome.saved_to is None
    assert isinstance(outcome.save_error, ConfigError)
    assert "no configuration file" in str(outcome.save_error)
    assert settings.channels[0].range_v == 1.0

    unsaved = AinSettings(Daq(LabJackSection()), None)  # no file service at all: nothing to report
    outcome = asyncio.run(unsaved.apply_and_save(unsaved.validate(unsaved.working_copy())))
    assert (outcome.saved_to, outcome.save_error) == (None, None)


def test_a_refusal_changes_nothing_and_saves_nothing(tmp_path: Path) -> None:
    path = _config(tmp_path)
    before = path.read_text()
    settings, daq = _settings(path)
    daq.refuse = True
    tables = settings.working_copy()
    tables[0]["range_v"] = 1.0
    with pytest.raises(DeviceRefused):
        asyncio.run(settings.apply_and_save(settings.validate(tables)))
    assert settings.channels[0].range_v != 1.0
    assert path.read_text() == before


def test_two_point_calibration_from_captured_points(tmp_path: Path) -> None:
    settings, daq = _settings(_config(tmp_path))
    assert settings.capture("battery.current", 0.0) is None  # no reading yet
    daq.means["battery.current"] = 0.005  # reads 4 % low with a 5 mA offset
    p1 = settings.capture("battery.current", 0.0)
    daq.means["battery.current"] = -4.0 * 0.96 + 0.005
    p2 = settings.capture("battery.current", -4.0)
    assert p1 is not None
    assert p2 is not None
    assert p2 == (pytest.approx(-3.835), -4.0)
    cal = settings.calibration(p1, p2)
    assert cal["gain"] == pytest.approx(1 / 0.96)
    assert cal["offset"] == pytest.approx(-0.005 / 0.96)
    assert cal["calibrated_at"].endswith("Z")
    assert len(cal["points"]) == 2
    tables = settings.working_copy()
    tables[1]["calibration"] = cal
    assert settings.validate(tables)[1].calibration.gain == pytest.approx(1 / 0.96)
    with pytest.raises(ValueOutOfRange, match="too close"):
        settings.calibration((1.0, 1.0), (1.001, 2.0))
