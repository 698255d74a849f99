"""Sensor scaling as data: AIN volts → physical values, vectorised with numpy.

Every transfer function the bench uses is affine in the measured voltage — a linear gain and
offset, a voltage divider (LJTick-Divider), a LEM LA 55-P current transducer into a measuring
resistor — and so is the two-point calibration applied after it. So each channel reduces to one
pair ``(a, b)`` with ``value = a·V + b``, and scaling a block of polls is one multiply-add over an
(N polls × M channels) array, whatever mix of sensors is configured.

Worked numbers (reference, LEM LA 55-P): the transducer's secondary current is I_P / 1000; through
R_M = 100 Ω that is 0.1 V per ampere, so I_P = V × 1000 / 100 = 10 A per volt. LJTick-Divider /5:
V_battery = 5 × V_AIN.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from benchgui.config.schema import CalibrationSection, LabJackChannelSection, TransferSection
from benchgui.errors import ValueOutOfRange
from benchgui.instruments.labjack.registers import OVER_RANGE_FRACTION
from benchgui.model import SampleFlag

FloatArray = npt.NDArray[np.float64]

LA55P_TURNS_RATIO = 1000.0  # K_N = 1 : 1000


def la55p_amps_per_volt(
    r_m_ohm: float, turns_ratio: float = LA55P_TURNS_RATIO, primary_turns: int = 1
) -> float:
    """Primary amperes per measured volt: turns_ratio / (R_M × primary turns) (100 Ω → 10 A/V)."""
    if r_m_ohm <= 0 or primary_turns < 1:
        raise ValueOutOfRange(f"R_M must be > 0 and primary turns ≥ 1 (got {r_m_ohm} Ω, {primary_turns})")
    return turns_ratio / (r_m_ohm * primary_turns)


def transfer_affine(t: TransferSection) -> tuple[float, float]:
    """(a, b) such that the transfer function is value = a·V + b."""
    if t.kind == "linear":
        gain = 1.0 if t.gain is None else t.gain
        return gain, 0.0 if t.offset is None else t.offset
    if t.kind == "divider":
        if t.ratio is None:
            raise ValueOutOfRange("a divider needs its ratio")
        v0 = 0.0 if t.offset_v is None else t.offset_v
        return t.ratio, -t.ratio * v0
    if t.kind == "la55p":
        if t.r_m_ohm is None:
            raise ValueOutOfRange("an LA 55-P needs R_M")
        k = la55p_amps_per_volt(
            t.r_m_ohm,
            LA55P_TURNS_RATIO if t.turns_ratio is None else t.turns_ratio,
            1 if t.primary_turns is None else t.primary_turns,
        )
        k *= 1 if t.sign is None else t.sign
        v0 = 0.0 if t.zero_offset_v is None else t.zero_offset_v
        return k, -k * v0
    raise ValueOutOfRange(f"unknown transfer function {t.kind!r}")


def channel_affine(ch: LabJackChannelSection, calibrated: bool = True) -> tuple[float, float]:
    """(a, b) for the whole chain: transfer function, then (optionally) the calibration."""
    a, b = transfer_affine(ch.transfer)
    if not calibrated:
        return a, b
    g, o = ch.calibration.gain, ch.calibration.offset
    return g * a, g * b + o


def two_point(
    reading_1: float, reference_1: float, reading_2: float, reference_2: float, at: _dt.datetime | None = None
) -> CalibrationSection:
    """The calibration mapping two uncalibrated readings onto two reference values.

    gain = Δreference / Δreading, offset = reference_1 − gain × reading_1. The readings must be
    apart (at least 1 % of the larger one) or the gain is noise.
    """
    span = abs(reading_2 - reading_1)
    if span < 1e-9 or span < 0.01 * max(abs(reading_1), abs(reading_2)):
        raise ValueOutOfRange(
            f"the two readings ({reading_1:.6g} and {reading_2:.6g}) are too close "
            "for a two-point calibration"
        )
    gain = (reference_2 - reference_1) / (reading_2 - reading_1)
    if not 0.5 <= gain <= 2.0:
        raise ValueOutOfRange(
            f"calibration gain {gain:.4g} is implausible (0.5…2): check the reference values"
        )
    offset = reference_1 - gain * reading_1
    when = (at or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC).replace(microsecond=0)
    return CalibrationSection(
        gain=gain,
        offset=offset,
        calibrated_at=when.isoformat().replace("+00:00", "Z"),
        points=((reading_1, reference_1), (reading_2, reference_2)),
    )


@dataclass(frozen=True)
class Scaler:
    """Per-channel ``value = a·V + b`` plus the selected range for over-range flags.

    Column ``j`` of every array belongs to channel ``j``.
    """

    a: FloatArray
    b: FloatArray
    limit_v: FloatArray  # |V| at or above this is flagged OVER_RANGE (98 % of the range)

    @classmethod
    def for_channels(cls, channels: Sequence[LabJackChannelSection], calibrated: bool = True) -> Scaler:
        pairs = [channel_affine(c, calibrated) for c in channels]
        return cls(
            np.array([p[0] for p in pairs], dtype=np.float64),
            np.array([p[1] for p in pairs], dtype=np.float64),
            np.array([(1.0 - OVER_RANGE_FRACTION) * c.range_v for c in channels], dtype=np.float64),
        )

    def values(self, volts: npt.ArrayLike) -> FloatArray:
        """Scale volts of shape (M,) or (N, M)."""
        return np.asarray(volts, dtype=np.float64) * self.a + self.b

    def flags(self, volts: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """SampleFlag.OVER_RANGE where a reading is within 2 % of its range limit."""
        over = np.abs(np.asarray(volts, dtype=np.float64)) >= self.limit_v
        return np.where(over, int(SampleFlag.OVER_RANGE), 0).astype(np.int64)
