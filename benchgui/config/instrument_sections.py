"""The ``[instruments.*]`` sections of the configuration file: the bench's devices (stdlib only).

One frozen dataclass per TOML table, as in :mod:`benchgui.config.schema` (which re-exports them
all): the EA load, the MPPT, and the LabJack with its channels, their transfer functions and
calibrations. A section is ``None`` in :class:`InstrumentsSection` when its table is absent:
that instrument is not on the bench.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from benchgui.errors import ConfigError


@dataclass(frozen=True)
class EaSection:
    """EA EL 3000 electronic load on RS232 (IF-R1) or USB (IF-U1)."""

    enabled: bool = True
    port: str = "/dev/ea-load"
    baud: int = field(default=57600, metadata={"choices": (9600, 19200, 38400, 57600, 115200)})
    parity: Literal["O", "E", "N"] = "O"
    node: int = field(default=0, metadata={"min": 0, "max": 30})
    poll_interval_s: float = field(default=0.5, metadata={"min": 0.003, "max": 60})
    timeout_s: float = field(default=0.5, metadata={"min": 0.01, "max": 10})
    retries: int = field(default=2, metadata={"min": 0, "max": 10})
    # device profile: a name in benchgui/instruments/ea/profiles (el3000, alias el3160-60) or the
    # path of a corrected copy (*.toml) — object numbers are data, not code
    profile: str = "el3160-60"
    # queries kept outstanding on the line; 1 = strict half duplex (whether the EL buffers a
    # second query is unconfirmed)
    pipeline_depth: int = field(default=1, metadata={"min": 1, "max": 4})
    # switch remote control on by itself before a setpoint or input command
    auto_remote: bool = True


@dataclass(frozen=True)
class MpptSection:
    """Libre Solar MPPT 1210 HUS speaking ThingSet text mode."""

    enabled: bool = True
    port: str = "/dev/mppt"
    baud: int = field(default=115200, metadata={"choices": (9600, 19200, 38400, 57600, 115200)})
    publication_period_s: float = field(default=1.0, metadata={"min": 0.001, "max": 3600})
    timeout_s: float = field(default=1.0, metadata={"min": 0.01, "max": 10})
    # items added to the serial publication at connect (+pub/serial/IDs), beyond the defaults
    extra_items: tuple[str, ...] = ("Bat_degC", "Int_degC")


LABJACK_RANGES_V = (10.0, 1.0, 0.1, 0.01)  # the ± ranges a T7 accepts (AIN#_RANGE)
_QUANTITY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
_TRANSFER_PARAMS = {
    "linear": ("gain", "offset"),
    "divider": ("ratio", "offset_v"),
    "la55p": ("r_m_ohm", "turns_ratio", "primary_turns", "sign", "zero_offset_v"),
}


@dataclass(frozen=True)
class TransferSection:
    """How AIN volts become the physical quantity (see README, LabJack T7 reference).

    * ``linear``: value = gain × V + offset
    * ``divider``: value = ratio × (V − offset_v) — an LJTick-Divider /4, /5, /10, /25 …
    * ``la55p``: LEM LA 55-P closed-loop current transducer whose secondary current flows
      through the measuring resistor R_M: I = sign × (V − zero_offset_v) × turns_ratio /
      (r_m_ohm × primary_turns). 100 Ω → 10 A per volt.

    Parameters a kind does not use must be left out (a typo must not pass silently); the ones
    left out take the defaults named in the docs (gain 1, offsets 0, turns_ratio 1000, one
    primary turn, sign +1). ``ratio`` and ``r_m_ohm`` have no default: they describe hardware.
    """

    kind: Literal["linear", "divider", "la55p"] = "linear"
    gain: float | None = None
    offset: float | None = None
    ratio: float | None = field(default=None, metadata={"min": 1e-6, "max": 1e6})
    offset_v: float | None = None
    r_m_ohm: float | None = field(default=None, metadata={"min": 0.001, "max": 1e6})
    turns_ratio: float | None = field(default=None, metadata={"min": 1e-3, "max": 1e6})
    primary_turns: int | None = field(default=None, metadata={"min": 1, "max": 1000})
    sign: int | None = field(default=None, metadata={"choices": (1, -1)})
    zero_offset_v: float | None = None

    def validate(self, key: str) -> None:
        used = _TRANSFER_PARAMS[self.kind]
        for name in (n for params in _TRANSFER_PARAMS.values() for n in params):
            if getattr(self, name) is not None and name not in used:
                raise ConfigError(
                    f"{key}.{name}", f"not a parameter of kind {self.kind!r} (it takes: {', '.join(used)})"
                )
        if self.kind == "divider" and self.ratio is None:
            raise ConfigError(f"{key}.ratio", "a divider needs its ratio (input/output, e.g. 5 for /5)")
        if self.kind == "la55p" and self.r_m_ohm is None:
            raise ConfigError(f"{key}.r_m_ohm", "an LA 55-P needs its measuring resistor R_M in ohms")
        if self.kind == "linear" and self.gain == 0:
            raise ConfigError(f"{key}.gain", "must not be 0")


@dataclass(frozen=True)
class CalibrationSection:
    """Two-point calibration applied after the transfer function: value' = gain × value + offset.

    ``points`` keeps the two (reading, reference) pairs it was computed from and
    ``calibrated_at`` when (ISO 8601, UTC), so a stale calibration can be spotted.
    """

    gain: float = field(default=1.0, metadata={"min": 0.5, "max": 2.0})
    offset: float = 0.0
    calibrated_at: str = ""
    points: tuple[tuple[float, ...], ...] = ()

    def validate(self, key: str) -> None:
        if self.points and (len(self.points) != 2 or any(len(p) != 2 for p in self.points)):
            raise ConfigError(f"{key}.points", "must be two [reading, reference] pairs")


@dataclass(frozen=True)
class LabJackChannelSection:
    """One physical channel: an analog input (or a differential pair) and its sensor scaling.

    The bench channel is named ``<quantity>.labjack`` (``battery.voltage.labjack``).
    """

    quantity: str
    unit: str = ""
    name: str = ""  # label shown to the operator; empty: the quantity
    ain: int = field(default=0, metadata={"min": 0, "max": 13})
    differential: bool = False  # AIN(n) − AIN(n+1); n even, 0…12
    range_v: float = field(default=10.0, metadata={"choices": LABJACK_RANGES_V})
    resolution_index: int = field(default=0, metadata={"min": 0, "max": 12})  # 0: default (8); T7 0–8
    settling_us: float = field(default=0.0, metadata={"min": 0.0, "max": 50000.0})  # 0: auto
    transfer: TransferSection = field(default_factory=TransferSection)
    calibration: CalibrationSection = field(default_factory=CalibrationSection)

    def validate(self, key: str) -> None:
        if not _QUANTITY.fullmatch(self.quantity):
            raise ConfigError(
                f"{key}.quantity",
                f"must be dotted lower-case words like 'battery.voltage', got {self.quantity!r}",
            )
        if self.differential and (self.ain % 2 or self.ain > 12):
            raise ConfigError(
                f"{key}.differential",
                f"AIN{self.ain} cannot be the positive input of a differential pair (even AIN0…AIN12 only)",
            )

    @property
    def negative_ch(self) -> int:
        """AIN#_NEGATIVE_CH: 199 single-ended, else the odd partner of the pair."""
        return self.ain + 1 if self.differential else 199

    @property
    def label(self) -> str:
        return self.name or self.quantity


def default_labjack_channels() -> tuple[LabJackChannelSection, ...]:
    """The bench as wired (seed script): battery current on AIN1 through a LEM LA 55-P,
    battery voltage on AIN2 through an LJTick-Divider. Which divider and which R_M are fitted
    is not documented; /5 and 100 Ω are the sensible guesses for a 12 V battery and ±50 A."""
    return (
        LabJackChannelSection(
            quantity="battery.voltage",
            unit="V",
            name="Battery voltage",
            ain=2,
            transfer=TransferSection(kind="divider", ratio=5.0),
        ),
        LabJackChannelSection(
            quantity="battery.current",
            unit="A",
            name="Battery current",
            ain=1,
            transfer=TransferSection(kind="la55p", r_m_ohm=100.0),
        ),
    )


@dataclass(frozen=True)
class LabJackSection:
    """LabJack T7 reference DAQ: LJM (USB, as on the bench) or Modbus TCP (Ethernet/WiFi)."""

    enabled: bool = True
    backend: Literal["modbus", "ljm"] = "modbus"
    address: str = "192.168.1.207"  # Modbus TCP: the T7's IP address or host name
    port: int = field(default=502, metadata={"min": 1, "max": 65535})
    unit_id: int = field(default=1, metadata={"min": 0, "max": 255})  # Modbus unit id (a T7 ignores it)
    identifier: str = "ANY"  # LJM: serial number, IP or name
    connection: Literal["USB", "ETHERNET", "WIFI", "ANY", "TCP"] = "USB"  # LJM connection type
    poll_interval_s: float = field(default=0.1, metadata={"min": 0.01, "max": 1.0})  # 1–100 Hz
    timeout_s: float = field(default=1.0, metadata={"min": 0.01, "max": 10})
    channels: tuple[LabJackChannelSection, ...] = field(default_factory=default_labjack_channels)

    def validate(self, key: str) -> None:
        quantities: dict[str, int] = {}
        ains: dict[int, int] = {}
        for i, ch in enumerate(self.channels):
            k = f"{key}.channels[{i}]"
            if ch.quantity in quantities:
                raise ConfigError(
                    f"{k}.quantity", f"{ch.quantity!r} is already channels[{quantities[ch.quantity]}]"
                )
            quantities[ch.quantity] = i
            used = [ch.ain, ch.ain + 1] if ch.differential else [ch.ain]
            for a in used:
                if a in ains:
                    raise ConfigError(f"{k}.ain", f"AIN{a} is already used by channels[{ains[a]}]")
                ains[a] = i
        if "battery.power" in quantities and {"battery.voltage", "battery.current"} <= set(quantities):
            raise ConfigError(
                f"{key}.channels[{quantities['battery.power']}].quantity",
                "battery.power is computed from battery.voltage × battery.current; remove this channel",
            )


@dataclass(frozen=True)
class InstrumentsSection:
    ea: EaSection | None = None
    mppt: MpptSection | None = None
    labjack: LabJackSection | None = None

    def any_enabled(self) -> bool:
        return any(s is not None and s.enabled for s in (self.ea, self.mppt, self.labjack))
