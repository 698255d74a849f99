"""The simulated T7's insides: what its analog inputs see and what its registers hold.

The bench wiring is modelled as on the real bench: the battery voltage reaches an AIN through a
divider (LJTick-Divider), the battery current through the LEM LA 55-P and its measuring resistor.
Each wired AIN presents ``(true value − b) / a`` for the configured channel's transfer function
``value = a·V + b`` — the voltage the real front-end would put on the terminal — after the
sensor's own errors (the LA 55-P on the real bench reads about 4 % low: 2.88 A for 3.00 A in
the recorded data). Then the converter: noise that falls with the resolution index, 16-bit
quantisation of the selected range, clipping at the range limit.

The noise figures per resolution index are a *model* (shaped like LabJack's noise tables, not
copied from them): they only need to make a higher index visibly quieter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from benchgui.config.schema import LabJackChannelSection, LabJackSection
from benchgui.instruments.labjack import registers as reg
from benchgui.instruments.labjack.scaling import transfer_affine
from benchgui.simbench.sensors import SensorModel
from benchgui.simbench.world import SimWorld

#: ADC noise (rms, in LSBs of the selected range) per effective resolution index — a model.
NOISE_LSB = {1: 2.0, 2: 1.6, 3: 1.3, 4: 1.0, 5: 0.8, 6: 0.6, 7: 0.45, 8: 0.35}

#: Command-response overhead of every Modbus TCP request: 1.0 ms over Ethernet, "No I/O",
#: direct Modbus TCP (LabJack T-series datasheet A-1 Data Rates, Table A.1.1; reference [L3]).
RESPONSE_S = 0.001
#: Conversion time of one AIN per effective resolution index, in seconds. INFERENCE: rising with
#: the index as LabJack's sample-time tables do (not retrieved; the reference only says "on the
#: order of milliseconds" at the default index 8), figures UNCONFIRMED.
SAMPLE_S = {1: 4e-5, 2: 4e-5, 3: 1e-4, 4: 1e-4, 5: 2e-4, 6: 3e-4, 7: 6e-4, 8: 1.2e-3}

SIM_SERIAL = 470099999
SIM_FIRMWARE = 1.0299
SIM_HARDWARE = 1.30

# Register errors as Modbus exception codes (pymodbus ExcCodes values; kept numeric so this
# module does not import pymodbus).
ILLEGAL_ADDRESS = 2
ILLEGAL_VALUE = 3


@dataclass
class Wire:
    """One AIN wired to a bench quantity: V_ain = (true − b) / a."""

    quantity: str  # "battery.voltage" | "battery.current"
    a: float
    b: float


@dataclass
class Wiring:
    wires: dict[int, Wire] = field(default_factory=dict)

    @classmethod
    def from_channels(cls, channels: Sequence[LabJackChannelSection]) -> Wiring:
        wires = {}
        for ch in channels:
            if ch.quantity in ("battery.voltage", "battery.current"):
                a, b = transfer_affine(ch.transfer)
                wires[ch.ain] = Wire(ch.quantity, a, b)
        return cls(wires)

    @classmethod
    def bench(
        cls, divider_ratio: float = 5.0, r_m_ohm: float = 100.0, v_ain: int = 2, i_ain: int = 1
    ) -> Wiring:
        return cls(
            {
                v_ain: Wire("battery.voltage", divider_ratio, 0.0),
                i_ain: Wire("battery.current", 1000.0 / r_m_ohm, 0.0),
            }
        )


@dataclass
class AinState:
    range_v: float = reg.DEFAULT_RANGE_V
    negative_ch: int = reg.SINGLE_ENDED
    resolution_index: int = 0
    settling_us: float = 0.0


class SimT7:
    """A T7's register map over a :class:`SimWorld`, served by :mod:`.sim` over Modbus TCP."""

    def __init__(
        self,
        world: SimWorld,
        wiring: Wiring | None = None,
        seed: int = 11,
        truth: Callable[[], tuple[float, float]] | None = None,
    ) -> None:
        self.world = world
        #: (battery voltage, battery current) now; by default straight from the world, but a
        #: simulator serving from another thread reads a snapshot instead (see sim.WorldProbe)
        self.truth = truth or (lambda: (world.voltage(), world.current()))
        self.wiring = wiring or Wiring.from_channels(LabJackSection().channels)
        self.ains = [AinState() for _ in range(reg.T7_AIN_COUNT)]
        self.rng = np.random.default_rng(seed)
        # the sensors in front of the T7, in physical units (as SimLabJackSource models them)
        self.sensors = {
            "battery.voltage": SensorModel(gain=1.0, offset=0.0, noise=0.0015, seed=seed),
            "battery.current": SensorModel(gain=0.96, offset=0.005, noise=0.004, seed=seed + 1),
        }
        self.reads = 0
        self.refused = 0
        #: answer each request after the T7's command-response time (RESPONSE_S plus SAMPLE_S per
        #: AIN read, plus any settling asked for); False: at once, for tests where timing is
        #: irrelevant
        self.timing = True

    def power_cycle(self) -> None:
        """Back to power-up settings (the register store is rebuilt by the server's start)."""
        self.ains = [AinState() for _ in range(reg.T7_AIN_COUNT)]

    # -- the analog side -----------------------------------------------------------------------
    def terminal_volts(self, ain: int, truth: tuple[float, float]) -> float:
        """What the front-end puts on AIN ``ain`` against GND (0 V if nothing is wired)."""
        wire = self.wiring.wires.get(ain)
        if wire is None:
            return 0.0
        true = truth[0] if wire.quantity == "battery.voltage" else truth[1]
        return (self.sensors[wire.quantity].measure(true) - wire.b) / wire.a

    def convert(self, ain: int, truth: tuple[float, float] | None = None) -> float:
        """One conversion: input (single-ended or differential) + noise, quantised, clipped."""
        truth = truth or self.truth()
        st = self.ains[ain]
        v = self.terminal_volts(ain, truth)
        if st.negative_ch != reg.SINGLE_ENDED:
            v -= self.terminal_volts(st.negative_ch, truth)
        rng_v = reg.range_or_none(st.range_v) or reg.DEFAULT_RANGE_V
        lsb = reg.lsb_v(rng_v)
        v += float(self.rng.normal(0.0, NOISE_LSB[reg.effective_resolution_index(st.resolution_index)] * lsb))
        v = round(v / lsb) * lsb
        return min(rng_v, max(-rng_v, v))

    # -- the register side ---------------------------------------------------------------------
    def initial_blocks(self) -> list[tuple[int, list[int], bool]]:
        """(address, registers, read-only) blocks of the map as it is at power-up."""
        n = reg.T7_AIN_COUNT
        head = [*reg.encode_float32(reg.T7_PRODUCT_ID), *reg.encode_float32(SIM_HARDWARE)]
        head += reg.encode_float32(SIM_FIRMWARE)
        return [
            (reg.AIN_BASE, [0] * (2 * n), True),
            (reg.AIN_RANGE_BASE, [0] * (2 * n), False),
            (reg.AIN_NEGATIVE_CH_BASE, [reg.SINGLE_ENDED] * n, False),
            (reg.AIN_RESOLUTION_INDEX_BASE, [0] * n, False),
            (reg.AIN_SETTLING_US_BASE, [0] * (2 * n), False),
            (reg.PRODUCT_ID, head, True),
            (reg.SERIAL_NUMBER, list(reg.encode_uint32(SIM_SERIAL)), True),
        ]

    async def on_access(
        self, start: int, address: int, count: int, registers: list[int], values: list[int] | None
    ) -> int | None:
        """Called for every request before the register store answers it.

        Reads of AINs convert fresh values into the store; writes of settings are checked as
        a T7 checks them. Returns a Modbus exception code, or None to let the request proceed.
        """
        if values is None:
            end = address + count
            lo, hi = reg.AIN_BASE, reg.AIN_BASE + 2 * reg.T7_AIN_COUNT
            if address < hi and end > lo:
                first, last = max(address, lo) // 2, (min(end, hi) - 1) // 2
                await asyncio.sleep(self.response_s(range(first, last + 1)))
                truth = self.truth()  # one instant for every AIN of this read
                for a in range(first, last + 1):
                    hi_w, lo_w = reg.encode_float32(self.convert(a, truth))
                    registers[2 * a - start] = hi_w
                    registers[2 * a + 1 - start] = lo_w
                self.reads += 1
            return None
        if self.timing:
            await asyncio.sleep(RESPONSE_S)
        code = self.check_write(address, values)
        if code is not None:
            self.refused += 1
        return code

    def response_s(self, ains: Sequence[int]) -> float:
        """How long a read of ``ains`` takes the device: the command-response overhead and one
        conversion per AIN (with ``timing``), plus any settling time the host asked for (always:
        that one is the host's own setting)."""
        settle = sum(self.ains[a].settling_us for a in ains) * 1e-6
        if not self.timing:
            return settle
        conversions = sum(
            SAMPLE_S.get(reg.effective_resolution_index(self.ains[a].resolution_index), SAMPLE_S[8])
            for a in ains
        )
        return RESPONSE_S + conversions + settle

    def check_write(self, address: int, values: Sequence[int]) -> int | None:
        """Validate a write of ``values`` at ``address``; apply it to the state if good."""
        n = reg.T7_AIN_COUNT
        updates: list[tuple[int, str, float]] = []
        for base, name, width in (
            (reg.AIN_RANGE_BASE, "range_v", 2),
            (reg.AIN_NEGATIVE_CH_BASE, "negative_ch", 1),
            (reg.AIN_RESOLUTION_INDEX_BASE, "resolution_index", 1),
            (reg.AIN_SETTLING_US_BASE, "settling_us", 2),
        ):
            if base <= address < base + width * n:
                if (address - base) % width or len(values) % width:
                    return ILLEGAL_ADDRESS  # half a FLOAT32
                for i in range(0, len(values), width):
                    ain = (address - base + i) // width
                    if ain >= n:
                        return ILLEGAL_ADDRESS
                    if width == 2:
                        updates.append((ain, name, reg.decode_float32(values[i], values[i + 1])))
                    else:
                        updates.append((ain, name, float(values[i])))
                break
        else:
            return ILLEGAL_ADDRESS
        for ain, name, value in updates:
            if not self._ok(ain, name, value):
                return ILLEGAL_VALUE
        for ain, name, value in updates:
            st = self.ains[ain]
            if name == "range_v":
                st.range_v = reg.range_or_none(value) or reg.DEFAULT_RANGE_V
            elif name == "negative_ch":
                st.negative_ch = int(value)
            elif name == "resolution_index":
                st.resolution_index = int(value)
            else:
                st.settling_us = value
        return None

    @staticmethod
    def _ok(ain: int, name: str, value: float) -> bool:
        if name == "range_v":
            return reg.range_or_none(value) is not None
        if name == "negative_ch":
            return reg.negative_ch_ok(ain, int(value))
        if name == "resolution_index":
            return reg.resolution_index_ok(int(value))
        return reg.settling_us_ok(value)
