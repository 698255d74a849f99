"""What the MPPT's ThingSet items mean: channel mapping, units, state names, error flags.

Stdlib only, shared by the driver, the source, the simulator and the charger panel. Facts from
``shared/reference/thingset-text-mode.md`` §5–6 (firmware ``eafb081``, May 2021).

Channel names follow ``<quantity>.<source>`` with source ``mppt``; the InfluxDB schema
(:mod:`benchgui.recording.influx_schema`) turns ``battery.current`` [A] into measurement
``battery``, field ``current_a``, so every quantity here starts with the measurement it
belongs in. The MPPT's own load terminal is ``load_output.*`` so it can never be confused
with the EA electronic load (``*.load``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

SOURCE: Final = "mppt"

#: older firmware spellings → the 2021 names (2019 firmware: ``SOC_%``; before 2021-04-13:
#: ``info/Timestamp_s`` instead of ``output/Uptime_s``)
ALIASES: Final[dict[str, str]] = {
    "SOC_%": "SOC_pct",
    "SOH_%": "SOH_pct",
    "Timestamp_s": "Uptime_s",
}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def canonical_values(values: dict[str, Any]) -> dict[str, Any]:
    """Statement values under their 2021 names (an explicit new name wins over an alias)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        c = canonical(k)
        if c != k and c in values:
            continue
        out[c] = v
    return out


@dataclass(frozen=True)
class ItemChannel:
    """One published item and the channel it feeds."""

    item: str
    quantity: str
    unit: str
    label: str


#: item → channel. Units are SI symbols as the bench shows them; enums and flag words are unitless.
ITEM_CHANNELS: Final[tuple[ItemChannel, ...]] = (
    ItemChannel("Bat_V", "battery.voltage", "V", "Battery voltage (MPPT)"),
    ItemChannel("Bat_A", "battery.current", "A", "Battery current (MPPT)"),
    ItemChannel("Bat_W", "battery.power", "W", "Battery power (MPPT)"),
    ItemChannel("Solar_V", "solar.voltage", "V", "Solar voltage"),
    ItemChannel("Solar_A", "solar.current", "A", "Solar current"),
    ItemChannel("Solar_W", "solar.power", "W", "Solar power"),
    ItemChannel("Load_A", "load_output.current", "A", "MPPT load output current"),
    ItemChannel("Load_W", "load_output.power", "W", "MPPT load output power"),
    ItemChannel("LoadInfo", "load_output.info", "", "MPPT load output state/error code"),
    ItemChannel("UsbInfo", "usb_output.info", "", "MPPT USB output state/error code"),
    ItemChannel("SOC_pct", "soc", "%", "SOC (MPPT)"),
    ItemChannel("ChgState", "charger.state", "", "Charger state"),
    ItemChannel("DCDCState", "dcdc.state", "", "DC/DC state"),
    ItemChannel("ErrorFlags", "errors.flags", "", "MPPT error flags"),
    ItemChannel("ChgTarget_V", "charger.target_voltage", "V", "Charge target voltage"),
    ItemChannel("ChgTarget_A", "charger.target_current", "A", "Charge current limit"),
    ItemChannel("Dis_Ah", "battery.discharged", "Ah", "Discharged since full (MPPT)"),
    ItemChannel("BatUsable_Ah", "battery.usable_capacity", "Ah", "Usable capacity (MPPT)"),
    ItemChannel("DeepDisCount", "battery.deep_discharges", "", "Deep discharges"),
    ItemChannel("Bat_degC", "battery.temperature", "°C", "Battery temperature (MPPT)"),
    ItemChannel("Int_degC", "internal.temperature", "°C", "MPPT internal temperature"),
    ItemChannel("Mosfet_degC", "mosfet.temperature", "°C", "MPPT MOSFET temperature"),
    ItemChannel("SolarInDay_Wh", "energy.solar_in_day", "Wh", "Solar energy today"),
    ItemChannel("LoadOutDay_Wh", "energy.load_out_day", "Wh", "Load output energy today"),
    ItemChannel("BatChgDay_Wh", "energy.battery_charge_day", "Wh", "Battery charge energy today"),
    ItemChannel("BatDisDay_Wh", "energy.battery_discharge_day", "Wh", "Battery discharge energy today"),
    ItemChannel("Uptime_s", "uptime", "s", "MPPT uptime"),
)
BY_ITEM: Final[dict[str, ItemChannel]] = {c.item: c for c in ITEM_CHANNELS}

#: powers the firmware does not publish by default: computed from V × A when the item is absent
DERIVED_POWER: Final[dict[str, tuple[str, str]]] = {
    "Bat_W": ("Bat_V", "Bat_A"),
    "Solar_W": ("Solar_V", "Solar_A"),
    "Load_W": ("Bat_V", "Load_A"),
}


def channel_name(item: str) -> str:
    return f"{BY_ITEM[item].quantity}.{SOURCE}"


# -- enumerations ------------------------------------------------------------------------------

CHARGER_STATES: Final[dict[int, str]] = {
    0: "idle",
    1: "bulk (CC/MPPT)",
    2: "topping (CV/absorption)",
    3: "trickle (float)",
    4: "equalization",
}

DCDC_STATES: Final[dict[int, str]] = {
    0: "off",
    1: "MPPT",
    2: "CC at low side",
    3: "CV at low side",
    4: "CC at high side",
    5: "CV at high side",
    6: "derating",
}

ERROR_FLAGS: Final[dict[int, str]] = {
    0x1: "battery undervoltage",
    0x2: "battery overvoltage",
    0x4: "battery discharge overcurrent",
    0x8: "battery charge overcurrent",
    0x10: "battery below discharge temperature",
    0x20: "battery above discharge temperature",
    0x40: "battery below charge temperature",
    0x80: "battery above charge temperature",
    0x2000: "internal overtemperature",
    0x4000: "DC/DC high-side MOSFET short",
    0x8000: "DC/DC high-side overvoltage",
    0x10000: "PWM switch overvoltage",
}

LOAD_ERROR_FLAGS: Final[dict[int, str]] = {
    0x1: "load shedding (low battery)",
    0x2: "overvoltage",
    0x4: "overcurrent",
    0x8: "short circuit",
    0x10: "voltage dip",
    0x20: "bus source current",
}


def state_name(table: dict[int, str], value: float | int | None) -> str:
    if value is None:
        return "—"
    v = int(value)
    return table.get(v, f"unknown ({v})")


def charger_state_name(value: float | int | None) -> str:
    return state_name(CHARGER_STATES, value)


def dcdc_state_name(value: float | int | None) -> str:
    return state_name(DCDC_STATES, value)


def decode_flags(flags: int, table: dict[int, str] = ERROR_FLAGS) -> list[str]:
    """Names of the set bits (unknown bits as ``bit N``)."""
    names = []
    bit = 0
    flags = int(flags)
    while flags >> bit:
        mask = 1 << bit
        if flags & mask:
            names.append(table.get(mask, f"bit {bit}"))
        bit += 1
    return names


def decode_error_flags(flags: float | int | None) -> str:
    if flags is None:
        return "—"
    names = decode_flags(int(flags))
    return ", ".join(names) if names else "none"


def decode_output_info(info: float | int | None) -> str:
    """LoadInfo / UsbInfo: 0 off, 1 on, negative = the negated load error-flag word."""
    if info is None:
        return "—"
    v = int(info)
    if v < 0:
        return "error: " + ", ".join(decode_flags(-v, LOAD_ERROR_FLAGS))
    return {0: "off", 1: "on"}.get(v, f"state {v}")


# -- device information --------------------------------------------------------------------------

INFO_KEYS: Final[dict[str, str]] = {
    "Manufacturer": "manufacturer",
    "DeviceType": "type",
    "FirmwareVersion": "firmware",
    "DeviceID": "serial",
    "HardwareVersion": "hardware",
    "FirmwareCommit": "firmware_commit",
}


def device_info(info: dict[str, Any]) -> dict[str, str]:
    """``?info`` content → manufacturer, type, firmware, serial, hardware, firmware_commit."""
    return {ours: str(info[theirs]) for theirs, ours in INFO_KEYS.items() if theirs in info}
