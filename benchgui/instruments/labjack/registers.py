"""The LabJack T7's Modbus register map and the arithmetic on it — pure, standard library only.

Facts from LabJack's ``ljm_constants.json`` (see ``shared/reference/labjack-t7-modbus.md``):
registers are 16 bit; a FLOAT32 or UINT32 occupies two consecutive registers, most significant
word first (big-endian word and byte order), so entry ``n`` of a 32-bit array sits at
``base + 2·n`` and entry ``n`` of a 16-bit array at ``base + n``.

Both the Modbus TCP backend and the simulator use this module, and its tests check it against
the address examples in the reference (AIN1 → 2, AIN1_RANGE → 40002, AIN1_NEGATIVE_CH → 41001,
AIN1_RESOLUTION_INDEX → 41501, AIN1_SETTLING_US → 42002) — so a shared mistake in the map cannot
hide behind a round trip between our own client and our own server.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

# -- addresses -------------------------------------------------------------------------------
AIN_BASE = 0  # AIN#(0:249), FLOAT32, volts, read-only
AIN_RANGE_BASE = 40000  # AIN#_RANGE, FLOAT32
AIN_NEGATIVE_CH_BASE = 41000  # AIN#_NEGATIVE_CH, UINT16
AIN_RESOLUTION_INDEX_BASE = 41500  # AIN#_RESOLUTION_INDEX, UINT16
AIN_SETTLING_US_BASE = 42000  # AIN#_SETTLING_US, FLOAT32
PRODUCT_ID = 60000  # FLOAT32, 7 for a T7 / T7-Pro
HARDWARE_VERSION = 60002  # FLOAT32
FIRMWARE_VERSION = 60004  # FLOAT32
SERIAL_NUMBER = 60028  # UINT32

T7_PRODUCT_ID = 7
#: AIN0–AIN13 are the T7's analog inputs on its terminals and DB37 (Mux80 extends further).
T7_AIN_COUNT = 14

# -- valid settings --------------------------------------------------------------------------
#: AIN#_RANGE values a T7 accepts, as ± volts (0 also means the default, ±10 V).
RANGES_V: tuple[float, ...] = (10.0, 1.0, 0.1, 0.01)
DEFAULT_RANGE_V = 10.0
SINGLE_ENDED = 199  # AIN#_NEGATIVE_CH for single-ended measurement
T7_MAX_RESOLUTION_INDEX = 8  # T7-Pro: 12
T7_PRO_MAX_RESOLUTION_INDEX = 12
DEFAULT_RESOLUTION_INDEX = 8  # what index 0 means in command-response mode on a T7
MAX_SETTLING_US = 50000.0
ADC_BITS = 16  # the T7 is a 16-bit converter (the 24-bit raw code ÷ 256)
#: A reading within this fraction of the selected range's limit is probably clipped.
OVER_RANGE_FRACTION = 0.02


# -- address arithmetic ----------------------------------------------------------------------
def ain_address(ain: int) -> int:
    return AIN_BASE + 2 * _check_ain(ain)


def range_address(ain: int) -> int:
    return AIN_RANGE_BASE + 2 * _check_ain(ain)


def negative_ch_address(ain: int) -> int:
    return AIN_NEGATIVE_CH_BASE + _check_ain(ain)


def resolution_index_address(ain: int) -> int:
    return AIN_RESOLUTION_INDEX_BASE + _check_ain(ain)


def settling_us_address(ain: int) -> int:
    return AIN_SETTLING_US_BASE + 2 * _check_ain(ain)


def _check_ain(ain: int) -> int:
    if not 0 <= ain <= 249:
        raise ValueError(f"AIN{ain} does not exist (AIN0…AIN249)")
    return ain


def ain_span(ains: Sequence[int]) -> tuple[int, int]:
    """One contiguous block that holds every AIN in ``ains``: (start address, register count).

    The T7 answers a multi-register read of AIN#(n:m) in one transaction, so a poll of AIN1 and
    AIN2 reads registers 2…5 at once. Channels in between are read and ignored: cheaper than a
    second transaction.
    """
    if not ains:
        raise ValueError("no AIN to read")
    lo, hi = min(ains), max(ains)
    return ain_address(lo), 2 * (hi - lo + 1)


def pick_ains(registers: Sequence[int], start_ain: int, ains: Sequence[int]) -> list[float]:
    """Decode the AINs ``ains`` from a block read starting at ``start_ain``."""
    out = []
    for a in ains:
        i = 2 * (a - start_ain)
        out.append(decode_float32(registers[i], registers[i + 1]))
    return out


# -- value coding ----------------------------------------------------------------------------
def encode_float32(value: float) -> tuple[int, int]:
    """A float as two registers, most significant word first."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return hi, lo


def decode_float32(hi: int, lo: int) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", hi & 0xFFFF, lo & 0xFFFF))[0])


def encode_uint32(value: int) -> tuple[int, int]:
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{value} does not fit in a UINT32")
    return (value >> 16) & 0xFFFF, value & 0xFFFF


def decode_uint32(hi: int, lo: int) -> int:
    return ((hi & 0xFFFF) << 16) | (lo & 0xFFFF)


def float32(value: float) -> float:
    """``value`` as the T7 stores it (rounded to single precision)."""
    return decode_float32(*encode_float32(value))


# -- checks (the rules a T7 enforces; the simulator refuses with ILLEGAL DATA VALUE) ------------
def range_or_none(value: float) -> float | None:
    """The ± range a written AIN#_RANGE value selects, or None if a T7 refuses it.

    Values arrive as FLOAT32, so 0.1 is compared after single-precision rounding.
    """
    if value == 0.0:
        return DEFAULT_RANGE_V
    for r in RANGES_V:
        if math.isclose(value, r, rel_tol=1e-6):
            return r
    return None


def negative_ch_ok(ain: int, negative_ch: int) -> bool:
    """Single-ended (199), or a differential pair: even positive 0–12, negative = positive + 1."""
    if negative_ch == SINGLE_ENDED:
        return True
    return ain % 2 == 0 and 0 <= ain <= 12 and negative_ch == ain + 1


def negative_ch_problem(ain: int, negative_ch: int) -> str | None:
    if negative_ch_ok(ain, negative_ch):
        return None
    if ain % 2 or ain > 12:
        return f"AIN{ain} cannot be the positive input of a differential pair (even AIN0…AIN12 only)"
    return f"AIN{ain}'s differential partner is AIN{ain + 1}, not AIN{negative_ch}"


def resolution_index_ok(index: int, max_index: int = T7_MAX_RESOLUTION_INDEX) -> bool:
    return 0 <= index <= max_index


def settling_us_ok(value: float) -> bool:
    return math.isfinite(value) and 0.0 <= value <= MAX_SETTLING_US


def effective_resolution_index(index: int) -> int:
    """Index 0 means the default (8 on a T7 in command-response mode)."""
    return DEFAULT_RESOLUTION_INDEX if index == 0 else index


def lsb_v(range_v: float) -> float:
    """One step of the 16-bit converter on a ± ``range_v`` range (305 µV at ±10 V)."""
    return 2.0 * range_v / (1 << ADC_BITS)


def over_range(volts: float, range_v: float) -> bool:
    """Within 2 % of the range limit (or beyond): the input is probably clipped."""
    return abs(volts) >= (1.0 - OVER_RANGE_FRACTION) * range_v


@dataclass(frozen=True)
class AinSettings:
    """How one analog input is to be measured (what the four AIN# registers hold)."""

    ain: int
    range_v: float = DEFAULT_RANGE_V
    negative_ch: int = SINGLE_ENDED
    resolution_index: int = 0
    settling_us: float = 0.0

    @property
    def differential(self) -> bool:
        return self.negative_ch != SINGLE_ENDED

    def problems(self, max_resolution_index: int = T7_PRO_MAX_RESOLUTION_INDEX) -> list[str]:
        """Everything a T7 would refuse, in words (empty: fine)."""
        out = []
        if not 0 <= self.ain < T7_AIN_COUNT:
            out.append(f"AIN{self.ain} does not exist on a T7 (AIN0…AIN{T7_AIN_COUNT - 1})")
        if range_or_none(self.range_v) is None:
            valid = ", ".join(f"±{r:g}" for r in RANGES_V)
            out.append(f"AIN{self.ain}_RANGE {self.range_v:g} V is not a T7 range ({valid} V)")
        if (p := negative_ch_problem(self.ain, self.negative_ch)) is not None:
            out.append(p)
        if not resolution_index_ok(self.resolution_index, max_resolution_index):
            out.append(
                f"AIN{self.ain}_RESOLUTION_INDEX {self.resolution_index} outside 0…{max_resolution_index}"
            )
        if not settling_us_ok(self.settling_us):
            out.append(f"AIN{self.ain}_SETTLING_US {self.settling_us:g} outside 0…{MAX_SETTLING_US:g} µs")
        return out

    def names(self) -> dict[str, float]:
        """Register names and values, as LJM's ``eWriteNames`` takes them."""
        n = self.ain
        return {
            f"AIN{n}_RANGE": self.range_v,
            f"AIN{n}_NEGATIVE_CH": float(self.negative_ch),
            f"AIN{n}_RESOLUTION_INDEX": float(self.resolution_index),
            f"AIN{n}_SETTLING_US": self.settling_us,
        }

    def writes(self) -> list[tuple[int, list[int]]]:
        """(address, registers) for the four Modbus writes that configure this input."""
        n = self.ain
        return [
            (range_address(n), list(encode_float32(self.range_v))),
            (negative_ch_address(n), [self.negative_ch]),
            (resolution_index_address(n), [self.resolution_index]),
            (settling_us_address(n), list(encode_float32(self.settling_us))),
        ]
