"""Sensor scaling against worked numbers from the reference (LA 55-P, LJTick-Divider)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from benchgui.config.schema import CalibrationSection, LabJackChannelSection, TransferSection
from benchgui.errors import ValueOutOfRange
from benchgui.instruments.labjack.plan import AcquisitionPlan
from benchgui.instruments.labjack.scaling import (
    Scaler,
    channel_affine,
    la55p_amps_per_volt,
    transfer_affine,
    two_point,
)
from benchgui.model import SampleFlag


@pytest.mark.parametrize(("r_m", "amps_per_volt"), [(100.0, 10.0), (150.0, 6.6667), (50.0, 20.0)])
def test_la55p_sensitivity_table(r_m: float, amps_per_volt: float) -> None:
    assert la55p_amps_per_volt(r_m) == pytest.approx(amps_per_volt, rel=1e-4)


def test_la55p_50_amps_at_100_ohm_is_5_volts() -> None:
    a, b = transfer_affine(TransferSection(kind="la55p", r_m_ohm=100.0))
    assert a * 5.0 + b == pytest.approx(50.0)


def test_la55p_sign_turns_and_zero_offset() -> None:
    t = TransferSection(kind="la55p", r_m_ohm=100.0, primary_turns=2, sign=-1, zero_offset_v=0.002)
    a, b = transfer_affine(t)
    # I = −(V − 2 mV) × 1000 / (100 Ω × 2 turns)
    assert a * 0.502 + b == pytest.approx(-2.5)
    assert a * 0.002 + b == pytest.approx(0.0)


def test_divider_by_five() -> None:
    a, b = transfer_affine(TransferSection(kind="divider", ratio=5.0))
    assert a * 2.5 + b == pytest.approx(12.5)
    a, b = transfer_affine(TransferSection(kind="divider", ratio=4.0, offset_v=0.1))
    assert a * 3.1 + b == pytest.approx(12.0)


def test_linear_defaults_to_identity() -> None:
    assert transfer_affine(TransferSection()) == (1.0, 0.0)
    assert transfer_affine(TransferSection(kind="linear", gain=2.0, offset=-1.0)) == (2.0, -1.0)


def test_calibration_is_applied_after_the_transfer_function() -> None:
    ch = LabJackChannelSection(
        quantity="battery.current",
        transfer=TransferSection(kind="la55p", r_m_ohm=100.0),
        calibration=CalibrationSection(gain=1.04, offset=-0.01),
    )
    a, b = channel_affine(ch)
    assert a * 0.3 + b == pytest.approx(1.04 * 3.0 - 0.01)
    assert channel_affine(ch, calibrated=False) == (10.0, 0.0)


def test_two_point_calibration_worked_example() -> None:
    # the real bench: the LabJack read 2.88 A where the reference said 3.00 A, and 0.005 A at 0 A
    when = dt.datetime(2024, 5, 28, 12, 0, tzinfo=dt.UTC)
    cal = two_point(0.005, 0.0, -2.875, -3.0, at=when)
    assert cal.gain == pytest.approx(3.0 / 2.88)
    assert cal.gain * 0.005 + cal.offset == pytest.approx(0.0)
    assert cal.gain * -2.875 + cal.offset == pytest.approx(-3.0)
    assert cal.calibrated_at == "2024-05-28T12:00:00Z"
    assert cal.points == ((0.005, 0.0), (-2.875, -3.0))


def test_two_point_refuses_points_too_close_or_implausible() -> None:
    with pytest.raises(ValueOutOfRange, match="too close"):
        two_point(1.0, 1.0, 1.001, 2.0)
    with pytest.raises(ValueOutOfRange, match="implausible"):
        two_point(0.0, 0.0, 1.0, 5.0)


def _bench_channels() -> list[LabJackChannelSection]:
    return [
        LabJackChannelSection(
            quantity="battery.voltage", unit="V", ain=2, transfer=TransferSection(kind="divider", ratio=5.0)
        ),
        LabJackChannelSection(
            quantity="battery.current",
            unit="A",
            ain=1,
            range_v=1.0,
            transfer=TransferSection(kind="la55p", r_m_ohm=100.0),
        ),
    ]


def test_vectorised_scaling_equals_per_sample_scaling() -> None:
    chans = _bench_channels()
    scaler = Scaler.for_channels(chans)
    volts = np.random.default_rng(1).uniform(-1, 3, size=(1000, 2))
    got = scaler.values(volts)
    for j, ch in enumerate(chans):
        a, b = channel_affine(ch)
        assert np.allclose(got[:, j], [a * v + b for v in volts[:, j]])


def test_over_range_flag_within_two_percent_of_the_selected_range() -> None:
    scaler = Scaler.for_channels(_bench_channels())  # ±10 V, ±1 V
    flags = scaler.flags(np.array([[9.79, 0.979], [9.8, -0.98], [10.0, 1.0]]))
    assert flags.tolist() == [[0, 0], [SampleFlag.OVER_RANGE] * 2, [SampleFlag.OVER_RANGE] * 2]


def test_plan_publishes_power_with_the_flags_of_both_inputs() -> None:
    plan = AcquisitionPlan.build(_bench_channels())
    assert plan.ains == (2, 1)
    assert [c.name for c in plan.bench_channels(10.0)] == [
        "battery.voltage.labjack",
        "battery.current.labjack",
        "battery.power.labjack",
    ]
    values, raw, flags = plan.scale([2.5, 0.99])
    samples = plan.samples(values, flags, 123)
    assert [s.value for s in samples] == pytest.approx([12.5, 9.9, 12.5 * 9.9])
    assert [s.flags for s in samples] == [0, SampleFlag.OVER_RANGE, SampleFlag.OVER_RANGE]
    assert all(s.t_ns == 123 for s in samples)
    assert raw.tolist() == pytest.approx([12.5, 9.9])
