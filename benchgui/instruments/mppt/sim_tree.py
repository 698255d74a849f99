"""The simulated MPPT's data tree: the 2021 firmware's ThingSet items with their defaults.

Groups and names follow ``data_nodes.cpp`` of the firmware the bench ran (May 2021): ``info``,
``conf`` (battery and load settings, per chemistry), ``input`` (run-time switches), ``output``
and ``rec`` (measurements and counters, filled in by the model's tick), ``cal`` (maker only) and
``pub/serial``. Each :class:`Item` knows how the firmware prints it (fixed decimals) and who may
write it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from benchgui.instruments.mppt.protocol import Fixed
from benchgui.simbench.world import SimWorld

#: published on serial by default (PUB_SER in the 2021 firmware's data_nodes.cpp)
DEFAULT_PUB_IDS = (
    "Uptime_s",
    "Bat_V",
    "Bat_A",
    "SOC_pct",
    "ChgState",
    "DCDCState",
    "Solar_V",
    "Solar_A",
    "Load_A",
    "LoadInfo",
    "UsbInfo",
    "ErrorFlags",
    "DeepDisCount",
    "BatUsable_Ah",
    "SolarInDay_Wh",
    "LoadOutDay_Wh",
    "BatChgDay_Wh",
    "BatDisDay_Wh",
    "Dis_Ah",
)


@dataclass
class SimOptions:
    period_s: float = 1.0
    firmware: Literal["old", "new"] = "old"  # statement form: "# {…}" or "#serial {…}"
    load_output_a: float = 0.0  # a small consumer on the MPPT's load terminals
    seed: int = 21
    verbose_status: bool = True  # ":84 Changed." (False: ":84.")
    device_id: str = "SIM1210H"
    fixed_period: bool = False  # True: no pub/serial/Period_s, as the 2021 firmware (1 s)


@dataclass
class Item:
    value: Any
    decimals: int | None = None  # floats are printed with this many decimals
    access: str = "r"  # "r" read-only, "rw" anyone may write, "mkr" maker/expert may write

    def rendered(self) -> Any:
        if (
            self.decimals is not None
            and isinstance(self.value, int | float)
            and not isinstance(self.value, bool)
        ):
            return Fixed(float(self.value), self.decimals)
        return self.value


def _f(value: float, decimals: int, access: str = "r") -> Item:
    return Item(float(value), decimals, access)


def build_tree(world: SimWorld, options: SimOptions) -> dict[str, dict[str, Item]]:
    """A fresh data tree (group path → item name → item), in data-table order."""
    w, o = world, options
    lfp = w.params.chemistry.startswith("lifepo4")
    cap = w.params.capacity_ah
    t = {
        "info": {
            "DeviceID": Item(o.device_id, None, "mkr"),
            "Manufacturer": Item("Libre Solar"),
            "DeviceType": Item("MPPT 1210 HUS"),
            "HardwareVersion": Item("v0.7.1"),
            "FirmwareVersion": Item("0.1"),
            "FirmwareCommit": Item("eafb081" if o.firmware == "old" else "cc1d426"),
        },
        "conf": {
            "BatNom_Ah": _f(cap, 1, "rw"),
            "BatRecharge_V": _f(13.2 if lfp else 12.6, 2, "rw"),
            "BatAbsMin_V": _f(10.0, 2, "rw"),
            "BatChgMax_A": _f(10.0, 1, "rw"),
            "Topping_V": _f(14.2 if lfp else 14.4, 2, "rw"),
            "ToppingCutoff_A": _f(max(0.1, round(cap * 0.04, 1)), 1, "rw"),
            "ToppingCutoff_s": Item(7200, None, "rw"),
            "TrickleEn": Item(not lfp, None, "rw"),
            "Trickle_V": _f(13.6 if lfp else 13.8, 2, "rw"),
            "TrickleRecharge_s": Item(1800, None, "rw"),
            "EqlEn": Item(False, None, "rw"),
            "BatTempComp_mV-K": _f(0.0 if lfp else -18.0, 3, "rw"),
            "BatInt_Ohm": _f(w.battery.params.r0_ohm, 3, "rw"),
            "BatWire_Ohm": _f(0.0, 3, "rw"),
            "BatChgMax_degC": _f(50.0, 1, "rw"),
            "BatChgMin_degC": _f(0.0 if lfp else -10.0, 1, "rw"),
            "BatDisMax_degC": _f(50.0, 1, "rw"),
            "BatDisMin_degC": _f(-10.0, 1, "rw"),
            "LoadEnDefault": Item(True, None, "rw"),
            "LoadDisconnect_V": _f(12.0 if lfp else 11.7, 2, "rw"),
            "LoadReconnect_V": _f(12.8 if lfp else 12.6, 2, "rw"),
            "UsbEnDefault": Item(True, None, "rw"),
        },
        "input": {
            "LoadEn": Item(True, None, "rw"),
            "UsbEn": Item(True, None, "rw"),
            "DcdcEn": Item(True, None, "rw"),
        },
        "output": {
            "Uptime_s": Item(0),
            "Bat_V": _f(0, 2),
            "Bat_A": _f(0, 2),
            "Bat_W": _f(0, 2),
            "Bat_degC": _f(25, 1),
            "BatTempExt": Item(True),
            "SOC_pct": Item(0),
            "NumBatteries": Item(1),
            "Int_degC": _f(25, 1),
            "ChgTarget_V": _f(0, 2),
            "ChgTarget_A": _f(0, 2),
            "ChgState": Item(0),
            "DCDCState": Item(0),
            "Solar_V": _f(0, 2),
            "Solar_A": _f(0, 2),
            "Solar_W": _f(0, 2),
            "Load_A": _f(0, 2),
            "Load_W": _f(0, 2),
            "LoadInfo": Item(0),
            "UsbInfo": Item(0),
            "ErrorFlags": Item(0),
        },
        "rec": {
            "SolarInTotal_Wh": Item(0, None, "mkr"),
            "LoadOutTotal_Wh": Item(0, None, "mkr"),
            "BatChgTotal_Wh": Item(0, None, "mkr"),
            "BatDisTotal_Wh": Item(0, None, "mkr"),
            "FullChgCount": Item(0, None, "mkr"),
            "DeepDisCount": Item(0, None, "mkr"),
            "BatUsable_Ah": _f(cap, 1, "mkr"),
            "SolarInDay_Wh": _f(0, 2, "mkr"),
            "LoadOutDay_Wh": _f(0, 2, "mkr"),
            "BatChgDay_Wh": _f(0, 2, "mkr"),
            "BatDisDay_Wh": _f(0, 2, "mkr"),
            "Dis_Ah": _f(0, 0, "mkr"),
            "SOH_pct": Item(100, None, "mkr"),
            "DayCount": Item(0, None, "mkr"),
        },
        "cal": {
            "DcdcMin_W": _f(1.0, 1, "mkr"),
            "SolarAbsMax_V": _f(40.0, 1, "mkr"),
            "DcdcRestart_s": Item(60, None, "mkr"),
        },
        "pub/serial": {"Enable": Item(True, None, "rw")},
    }
    if not o.fixed_period:
        t["pub/serial"]["Period_s"] = Item(o.period_s, None, "rw")
    return t
