"""Editing the interlock limits while the bench runs: validated like the config file, in force at
once (a tightened limit trips a running discharge), recorded, and saved into ``[safety]``."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from benchgui.config.loader import load_config
from benchgui.config.writer import ConfigFile
from benchgui.core.interlocks import Interlocks
from benchgui.core.limits import Limits
from benchgui.core.safety_settings import SafetySettings
from benchgui.errors import ConfigError
from benchgui.model import Sample
from tests.safety_kit import (
    NS,
    assert_load_off,
    load_on,
    sim_bench,
    slack_s,
    supervisor,
    wait_samples,
    wait_trip_off,
)

pytestmark = pytest.mark.timeout(60)


def settings_of(asm) -> SafetySettings:  # type: ignore[no-untyped-def]
    s = asm.bench.services.safety_settings
    assert isinstance(s, SafetySettings)
    return s


def config_file(tmp_path: Path, text: str = "[simulation]\nsun = false\n") -> ConfigFile:
    path = tmp_path / "benchgui.toml"
    path.write_text(text)
    os.chmod(path, 0o600)
    return ConfigFile(path)


async def test_lowering_the_current_limit_trips_a_running_discharge() -> None:
    async with sim_bench(speed=4) as asm:
        await wait_samples(asm, "battery.current.labjack")
        await load_on(asm, 5.0)
        events: list = []
        asm.bench.event_recorded.connect(events.append)
        changed_ns = asm.bench.clock.now_ns()
        changed = settings_of(asm).apply({"max_current_a": 3.0})
        assert changed == {"max_current_a": (20.0, 3.0)}
        assert supervisor(asm).limits.max_current_a == 3.0
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "overcurrent"
        # judged on samples after the change: the next LabJack sample, the 1 s debounce, the sample
        # that completes it (0.1 s apart)
        assert 1.0 <= (trip.t_ns - changed_ns) / NS <= 0.1 + 1.0 + 0.1 + slack_s(asm)
        assert_load_off(asm, trip)
        (ev,) = [e for e in events if e.kind == "safety.limits"]
        assert ev.data == {"max_current_a": {"old": 20.0, "new": 3.0}}


async def test_out_of_range_values_are_refused_and_nothing_changes() -> None:
    async with sim_bench(speed=4) as asm:
        before = supervisor(asm).limits
        with pytest.raises(ConfigError) as err:
            settings_of(asm).apply({"max_current_a": 0.01})
        assert err.value.key == "safety.max_current_a"
        with pytest.raises(ConfigError) as err:
            settings_of(asm).apply({"voltage_sources": []})
        assert err.value.key == "safety.voltage_sources"
        with pytest.raises(ConfigError):
            settings_of(asm).apply({"no_such_limit": 1.0})
        assert supervisor(asm).limits == before


async def test_apply_and_save_writes_the_safety_table(tmp_path: Path) -> None:
    async with sim_bench(speed=4) as asm:
        s = settings_of(asm)
        s.config_file = config_file(tmp_path)  # the file has no [safety] table yet
        path = await s.apply_and_save({"cutoff_voltage_v": 11.2, "disagreement_s": 30.0})
        assert supervisor(asm).limits.cutoff_voltage_v == 11.2
        data = tomllib.loads(path.read_text())
        assert data["safety"] == {"cutoff_voltage_v": 11.2, "disagreement_s": 30.0}
        assert data["simulation"] == {"sun": False}
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert path.with_name(path.name + ".bak").exists()
        reloaded = load_config(path).config.safety
        assert reloaded.cutoff_voltage_v == 11.2
        assert reloaded.disagreement_s == 30.0


async def test_without_a_config_file_the_limits_still_apply() -> None:
    async with sim_bench(speed=4) as asm:
        with pytest.raises(ConfigError, match="no configuration file"):
            await settings_of(asm).apply_and_save({"max_current_a": 7.5})
        assert supervisor(asm).limits.max_current_a == 7.5


def test_a_shorter_debounce_counts_the_time_already_held() -> None:
    """A cut-off condition that has held for 1.5 s trips at once when the debounce becomes 1 s."""
    names = ["battery.voltage.labjack"]
    lock = Interlocks(Limits(cutoff_voltage_v=11.0, cutoff_debounce_s=2.0), names)
    lock.arm(0)
    assert lock.on_samples([Sample(names[0], 0, 10.5)]) is None
    assert lock.on_samples([Sample(names[0], int(1.5 * NS), 10.5)]) is None
    lock.set_limits(Limits(cutoff_voltage_v=11.0, cutoff_debounce_s=1.0), names)
    v = lock.on_samples([Sample(names[0], int(1.6 * NS), 10.5)])
    assert v is not None
    assert v.reason == "cutoff_voltage"


def test_changing_the_voltage_sources_takes_effect() -> None:
    names = ["battery.voltage.labjack", "battery.voltage.mppt"]
    lock = Interlocks(Limits(), names)
    assert lock.candidates == names
    lock.set_limits(Limits(voltage_sources=("mppt",)), names)
    assert lock.candidates == ["battery.voltage.mppt"]
