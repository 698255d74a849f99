"""The interlocks as a pure state machine, fed sample by sample (deterministic timing)."""

from __future__ import annotations

import pytest

from benchgui.config.loader import parse_config
from benchgui.core.interlocks import Interlocks
from benchgui.core.limits import Debounce, Limits, battery_cutoff_v
from benchgui.errors import ConfigError
from benchgui.model import Sample

S = 1_000_000_000
T0 = 1_700_000_000 * S

CHANNELS = [
    "battery.voltage.labjack",
    "battery.voltage.mppt",
    "battery.voltage.load",
    "battery.current.labjack",
    "battery.current.load",
]


def lim(**kw: object) -> Limits:
    base = {"cutoff_voltage_v": 10.5, "cutoff_debounce_s": 2.0, "sensor_timeout_s": 5.0}
    return Limits(**{**base, **kw})  # type: ignore[arg-type]


def armed(limits: Limits, channels: list[str] = CHANNELS) -> Interlocks:
    il = Interlocks(limits, channels)
    il.arm(T0)
    return il


def at(t_s: float) -> int:
    return T0 + round(t_s * 1000) * 1_000_000  # whole milliseconds: no float drift


def v(src: str, t_s: float, value: float) -> Sample:
    return Sample(f"battery.voltage.{src}", at(t_s), value)


def i(src: str, t_s: float, value: float) -> Sample:
    return Sample(f"battery.current.{src}", at(t_s), value)


def test_debounce_needs_the_condition_to_hold_continuously() -> None:
    d = Debounce(2.0)
    assert not d.update(True, 0)
    assert not d.update(True, int(1.9 * S))
    assert not d.update(False, int(2.0 * S))  # broken: starts again
    assert not d.update(True, 21 * S // 10)
    assert not d.update(True, 41 * S // 10 - 1)
    assert d.update(True, 41 * S // 10)


def test_cutoff_trips_after_the_debounce_and_not_on_a_glitch() -> None:
    il = armed(lim())
    t = 0.0
    for _ in range(10):  # 1 s of 10 Hz below cut-off: a glitch
        assert il.on_samples([v("labjack", t, 10.3)]) is None
        t += 0.1
    assert il.on_samples([v("labjack", t, 11.0)]) is None
    for _ in range(30):
        t += 0.1
        got = il.on_samples([v("labjack", t, 10.3)])
        if got is not None:
            break
    assert got is not None
    assert got.reason == "cutoff_voltage"
    assert got.values["channel"] == "battery.voltage.labjack"
    assert t == pytest.approx(1.1 + 2.0, abs=0.11)


def test_cutoff_is_judged_on_the_reference_while_it_is_fresh() -> None:
    il = armed(lim())
    for k in range(40):  # MPPT reads low, the LabJack is fine: no cut-off trip
        t = k * 0.1
        got = il.on_samples([v("labjack", t, 12.0), v("mppt", t, 10.0)])
        assert got is None or got.reason != "cutoff_voltage"


def test_fallback_to_the_mppt_when_the_reference_goes_silent() -> None:
    il = armed(lim(disagreement_s=100.0))
    for k in range(10):
        il.on_samples([v("labjack", k * 0.1, 12.0), v("mppt", k * 0.1, 12.0)])
    assert il.judged == "battery.voltage.labjack"
    got = None
    t = 1.0
    while got is None and t < 20:  # the LabJack is silent from now on; the MPPT reads low
        got = il.on_samples([v("mppt", t, 10.2)])
        t += 1.0
    assert got is not None
    assert got.reason == "cutoff_voltage"
    assert got.values["channel"] == "battery.voltage.mppt"
    assert any(n[0] == "safety.fallback" for n in il.notices)
    assert t > 5.0  # only after the reference went stale (sensor_timeout_s)


def test_sensor_lost_after_the_timeout_with_a_grace_period_after_arming() -> None:
    il = armed(lim())
    assert il.on_tick(T0 + 4 * S) is None  # nothing yet, but within the grace period
    got = il.on_tick(T0 + int(5.1 * S))
    assert got is not None
    assert got.reason == "sensor_lost"
    il2 = armed(lim())
    il2.on_samples([v("mppt", 3.0, 12.0)])
    assert il2.on_tick(T0 + int(7.9 * S)) is None
    assert il2.on_tick(T0 + int(8.1 * S)) is not None


def test_only_the_load_voltmeter_is_used_when_nothing_else_is_on_the_bench() -> None:
    il = armed(lim(), ["battery.voltage.load", "battery.current.load"])
    assert il.candidates == ["battery.voltage.load"]
    got = None
    for k in range(30):
        got = got or il.on_samples([v("load", k * 0.5, 10.0)])
    assert got is not None
    assert got.reason == "cutoff_voltage"


def test_no_voltage_channel_at_all_is_sensor_lost_once_discharging() -> None:
    il = armed(lim(), ["battery.current.load"])
    assert il.candidates == []
    got = il.on_tick(T0 + 6 * S)
    assert got is not None
    assert got.reason == "sensor_lost"


def test_disagreement_beyond_tolerance_for_the_set_time() -> None:
    il = armed(lim(voltage_disagreement_v=0.3, disagreement_s=3.0))
    got = None
    t = 0.0
    while got is None and t < 10:
        got = il.on_samples([v("labjack", t, 12.4), v("mppt", t, 12.0)])
        t += 0.5
    assert got is not None
    assert got.reason == "sensor_disagreement"
    assert got.values["difference_v"] == pytest.approx(0.4)
    assert t == pytest.approx(3.5, abs=0.01)
    ok = armed(lim(voltage_disagreement_v=0.3, disagreement_s=3.0))
    for k in range(40):
        assert ok.on_samples([v("labjack", k * 0.5, 12.2), v("mppt", k * 0.5, 12.0)]) is None


def test_ah_counted_per_channel_and_judged_on_the_largest() -> None:
    il = armed(lim(max_discharge_ah=0.01))
    got = None
    t = 0.0
    while got is None and t < 100:
        got = il.on_samples([i("labjack", t, -4.8), i("load", t, -5.0)])
        t += 0.5
    assert got is not None
    assert got.reason == "ah_limit"
    assert il.discharged_ah == pytest.approx(0.01, abs=5.0 * 0.5 / 3600)
    assert t == pytest.approx(0.01 * 3600 / 5.0 + 0.5, abs=0.6)


def test_overcurrent_and_temperature_with_their_debounce() -> None:
    il = armed(lim(max_current_a=10.0, limit_debounce_s=1.0, max_battery_temperature_c=45.0))
    assert il.on_samples([i("load", 0.0, -12.0)]) is None
    got = il.on_samples([i("load", 1.0, -12.0)])
    assert got is not None
    assert got.reason == "overcurrent"
    il = armed(lim(limit_debounce_s=1.0, max_battery_temperature_c=45.0, max_internal_temperature_c=70.0))
    t_ch = "battery.temperature.mppt"
    assert il.on_samples([Sample(t_ch, T0, 46.0)]) is None
    got = il.on_samples([Sample(t_ch, T0 + S, 46.0)])
    assert got is not None
    assert got.reason == "temperature"
    assert got.values["limit_c"] == 45.0
    il = armed(lim(limit_debounce_s=0.0, max_internal_temperature_c=70.0))
    got = il.on_samples([Sample("internal.temperature.mppt", T0, 71.0)])
    assert got is not None
    assert got.values["limit_c"] == 70.0


def test_discharge_time_counts_only_while_armed_until_reset() -> None:
    il = Interlocks(lim(max_discharge_time_s=10.0), CHANNELS)
    il.arm(T0)
    il.disarm(T0 + 6 * S)
    assert il.on_tick(T0 + 100 * S) is None  # disarmed: not judged
    il.arm(T0 + 100 * S)
    il.on_samples([v("labjack", 100.0, 12.0)])
    assert il.on_tick(T0 + 103 * S) is None  # 9 s so far
    got = il.on_tick(T0 + int(104.5 * S))
    assert got is not None
    assert got.reason == "time_limit"
    il.reset_counters(T0 + int(104.5 * S))
    assert il.discharge_time_s(T0 + 105 * S) == pytest.approx(0.5)


def test_nothing_is_judged_while_disarmed() -> None:
    il = Interlocks(lim(), CHANNELS)
    for k in range(100):
        assert il.on_samples([v("labjack", k * 0.1, 1.0), i("load", k * 0.1, -100.0)]) is None
    assert il.on_tick(T0 + 100 * S) is None


def test_limits_defaults_from_battery_and_chemistry() -> None:
    cfg = parse_config({"simulation": {"chemistry": "lifepo4-4s", "capacity_ah": 10.0}})
    lim_ = Limits.from_config(cfg)
    assert lim_.cutoff_voltage_v == 10.0
    assert lim_.max_discharge_ah == pytest.approx(12.0)
    cfg = parse_config({"battery": {"cutoff_voltage_v": 11.0}})
    assert battery_cutoff_v(cfg) == 11.0
    assert Limits.from_config(cfg).cutoff_voltage_v == 11.0
    cfg = parse_config({"battery": {"cutoff_voltage_v": 11.0}, "safety": {"cutoff_voltage_v": 10.8}})
    assert Limits.from_config(cfg).cutoff_voltage_v == 10.8
    assert Limits.from_config(parse_config({})).voltage_sources == ("labjack", "mppt")


def test_safety_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"safety\.cutoff_debounce_s"):
        parse_config({"safety": {"cutoff_debounce_s": -1}})
    with pytest.raises(ConfigError, match=r"safety\.max_current_amps"):
        parse_config({"safety": {"max_current_amps": 3}})
    with pytest.raises(ConfigError, match=r"safety\.voltage_sources"):
        parse_config({"safety": {"voltage_sources": []}})


def test_config_example_documents_every_safety_and_battery_key() -> None:
    import dataclasses
    import tomllib

    from benchgui.config.schema import BatterySection, SafetySection
    from tests.helpers import ROOT

    data = tomllib.loads((ROOT / "resources" / "config.example.toml").read_text())
    cfg = parse_config(data)
    for section, cls in (("safety", SafetySection), ("battery", BatterySection)):
        documented = set(data[section])
        assert documented == {f.name for f in dataclasses.fields(cls)}, section
        assert getattr(cfg, section) == cls(), f"[{section}] example values must be the defaults"


def test_sensor_timeout_is_at_least_half_a_real_second_at_speed() -> None:
    il = Interlocks(lim(sensor_timeout_s=2.0), CHANNELS, speed=200.0)
    il.arm(T0)
    il.on_samples([v("labjack", 0.0, 12.0)])
    assert il.on_tick(T0 + 99 * S) is None  # 99 bench s = 0.5 real s at --speed 200
    got = il.on_tick(T0 + 101 * S)
    assert got is not None
    assert got.reason == "sensor_lost"
