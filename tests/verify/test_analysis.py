"""Whole verification runs on synthetic sessions with known injected errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from benchgui.config.schema import ToleranceSection, VerifySection, VoltageTolerance
from benchgui.verify.analysis import FAIL, NO_DATA, PASS, analyse
from tests.verify import synth


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    channels = synth.session(
        seed=1,
        i_dev=synth.Sensor(gain=1.03, offset=0.02, noise=0.01, period_s=1.0, phase_s=0.37),
        v_dev=synth.Sensor(gain=1.002, offset=-0.03, noise=0.005, period_s=1.0, phase_s=0.37),
        v_load=synth.Sensor(offset=0.015, noise=0.004, period_s=0.5, phase_s=0.11),
    )
    return analyse(channels, VerifySection())


def test_current_gain_offset_and_noise_are_recovered(result) -> None:  # type: ignore[no-untyped-def]
    c = result.get("battery.current", "mppt")
    st = c.summary
    assert st.gain.contains(1.03), st.gain
    assert st.offset_method == "rest"
    assert st.offset.contains(0.02), st.offset
    assert st.noise == pytest.approx(0.01, rel=0.15)
    assert st.gain.half_width < 0.002
    assert c.by_region["rest"].offset.contains(0.02)
    # every operating region sees the same gain; the −3 A bin's point gain is the injected one
    for region in ("charge", "discharge"):
        assert c.by_region[region].gain.contains(1.03), region
    assert c.by_bin["-5…-2 A"].point_gain == pytest.approx(1.03, abs=0.002)
    assert c.by_bin["-5…-2 A"].mean_ref == pytest.approx(-3.0, abs=0.01)


def test_voltage_offset_gain_and_cable_drop_are_recovered(result) -> None:  # type: ignore[no-untyped-def]
    v = result.get("battery.voltage", "mppt")
    st = v.summary
    # the device reads the same terminal voltage as the reference: no drop between them
    assert st.series_r_ohm.contains(0.0), st.series_r_ohm
    assert st.gain.contains(1.002), st.gain
    # at rest the error is gain·V + offset − V = 0.002·V_rest − 0.03
    rest = v.by_region["rest"]
    expected = 0.002 * rest.mean_ref - 0.03
    assert st.offset.contains(expected), (st.offset, expected)
    assert st.noise == pytest.approx(0.005, rel=0.15)


def test_the_load_is_a_third_opinion(result) -> None:  # type: ignore[no-untyped-def]
    load = result.get("battery.voltage", "load")
    assert load.summary.offset.contains(0.015)
    both = result.get("battery.voltage", "mppt-vs-load")
    assert both.reference == "load"
    assert both.device == "mppt"
    rest = both.by_region["rest"]
    assert both.summary.offset.contains(0.002 * rest.mean_ref - 0.03 - 0.015)


def averaging_device_session() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The device averages over its 1 s period: at a current step it reads a mix of both sides."""
    return synth.session(
        seed=1, i_dev=synth.Sensor(gain=1.03, offset=0.02, noise=0.01, phase_s=0.37, average_s=1.0)
    )


@pytest.mark.parametrize("exclude", [True, False])
def test_steps_are_excluded_and_counted(exclude: bool) -> None:
    s = dataclasses.replace(
        VerifySection(),
        comparisons=["battery.current.mppt vs battery.current.labjack"],
        transient_threshold_a=0.5 if exclude else 0.0,
    )
    c = analyse(averaging_device_session(), s).comparisons[0]
    residual = c.aligned.dev - c.summary.fit.predict(c.aligned.ref)
    if exclude:
        assert 4 <= c.excluded_steps <= 60  # four current steps, a few pairs around each
        assert np.max(np.abs(residual)) < 0.06  # nothing left of the transitions (σ = 0.01)
    else:
        assert c.excluded_steps == 0
        assert np.max(np.abs(residual)) > 0.5


def test_regions_cover_the_profile(result) -> None:  # type: ignore[no-untyped-def]
    c = result.get("battery.current", "mppt")
    assert set(c.by_region) == {"charge", "rest", "discharge"}
    n = sum(st.n for st in c.by_region.values())
    assert n <= c.summary.n
    assert c.summary.n > 5000


def test_tolerances_decide_the_verdict() -> None:
    channels = synth.session(seed=2)
    ok = analyse(channels, VerifySection())
    assert ok.get("battery.current", "mppt").verdict == FAIL  # 3 % gain error > 2 %
    assert ok.verdict == FAIL
    loose = dataclasses.replace(
        VerifySection(),
        comparisons=["battery.voltage.mppt vs battery.voltage.labjack"],
        tolerance=ToleranceSection(voltage=VoltageTolerance(offset_v=0.05)),
    )
    res = analyse(channels, loose)
    v = res.get("battery.voltage", "mppt")
    assert v.verdict == PASS
    assert res.verdict == PASS
    assert {c.metric for c in v.checks} == {"offset", "gain_error_pct", "rms", "max_abs", "noise"}
    strict = dataclasses.replace(loose, tolerance=ToleranceSection(voltage=VoltageTolerance(offset_v=0.01)))
    failed = analyse(channels, strict).get("battery.voltage", "mppt")
    assert failed.verdict == FAIL
    assert [c.metric for c in failed.checks if not c.ok] == ["offset"]


def test_missing_channels_are_reported_not_fatal() -> None:
    channels = synth.session(seed=3)
    del channels["battery.current.labjack"]
    res = analyse(channels, VerifySection())
    assert any("battery.current.labjack" in m for m in res.missing)
    assert any("battery.voltage.load" in m for m in res.missing)
    v = res.get("battery.voltage", "mppt")
    assert v.region_channel == "battery.current.mppt"  # regions from the device's own current


def test_no_pairs_means_no_data() -> None:
    t = np.arange(100) * 10**9
    channels = {
        "battery.current.labjack": (t, np.zeros(100)),
        "battery.current.mppt": (t + 500 * 10**9, np.zeros(100)),  # never overlap
    }
    s = dataclasses.replace(VerifySection(), comparisons=["battery.current.mppt vs battery.current.labjack"])
    res = analyse(channels, s)
    c = res.comparisons[0]
    assert c.verdict == NO_DATA
    assert c.summary.n == 0
    assert res.verdict == NO_DATA
    assert math.isnan(c.summary.rms)
    assert c.unpaired == 100


def test_latency_setting_removes_a_known_delay() -> None:
    # the device reports 0.8 s late: without the setting, steps smear; with it, they do not
    dev = synth.Sensor(gain=1.0, offset=0.0, noise=0.001, period_s=1.0, phase_s=0.8)
    channels = synth.session(seed=4, i_dev=dev)
    channels["battery.current.mppt"] = (
        channels["battery.current.mppt"][0],
        channels["battery.current.mppt"][1],
    )
    t, v = channels["battery.current.mppt"]
    late = (t + 800_000_000, v)  # stamped 0.8 s after the instant it describes
    base = dataclasses.replace(
        VerifySection(),
        comparisons=["battery.current.mppt vs battery.current.labjack"],
        transient_threshold_a=0.0,  # keep the step pairs: they show the timing error
    )
    no_lat = analyse({**channels, "battery.current.mppt": late}, base).comparisons[0]
    with_lat = analyse(
        {**channels, "battery.current.mppt": late}, dataclasses.replace(base, latency_s={"mppt": 0.8})
    ).comparisons[0]
    assert no_lat.summary.max_abs > 0.5
    assert with_lat.summary.max_abs < 0.05


def test_voltage_readings_below_the_floor_are_excluded_and_counted() -> None:
    channels = synth.session(seed=5)
    t, v = channels["battery.voltage.mppt"]
    v = v.copy()
    v[:50] = 0.0  # instrument off
    channels["battery.voltage.mppt"] = (t, v)
    s = dataclasses.replace(VerifySection(), comparisons=["battery.voltage.mppt vs battery.voltage.labjack"])
    c = analyse(channels, s).comparisons[0]
    assert c.excluded_invalid == 50
    assert c.summary.max_abs < 0.1


def test_a_statistic_less_certain_than_its_tolerance_is_not_judged() -> None:
    channels = synth.session(seed=6)
    s = dataclasses.replace(
        VerifySection(),
        comparisons=["battery.voltage.mppt vs battery.voltage.labjack"],
        tolerance=ToleranceSection(voltage=VoltageTolerance(gain_error_pct=1e-4)),
    )
    c = analyse(channels, s).comparisons[0]
    gain = next(k for k in c.checks if k.metric == "gain_error_pct")
    assert gain.ok is None
    assert gain.half_width > 1e-4
    assert c.verdict == PASS  # decided by what is determined: offset, rms, max, noise
