"""The simulated MPPT 1210 HUS as a device model: data items, sensors, answers — no I/O.

:class:`MpptModel` holds the ThingSet data tree of the 2021 firmware (``info``, ``conf``,
``input``, ``output``, ``rec``, ``cal``, ``exec``, ``auth``, ``pub/serial``), measures the shared
:class:`~benchgui.simbench.SimWorld` through its own sensor models, runs the charger state
machine (:class:`~benchgui.simbench.charger.SimCharger`) and answers requests with the firmware's
status codes. :mod:`benchgui.instruments.mppt.sim` puts it on a pseudo-terminal.

The MPPT's own view differs from the truth as a real one does: a 12-bit divider and shunt with
an offset and a gain error on current, noise, and values printed with the firmware's fixed
decimals (0.01 V / 0.01 A). Its ``SOC_pct`` is its own coulomb counter (reset to 100 % at the
end of topping), so it drifts from the battery's true state of charge.

Extension over the 2021 firmware (marked in the README): ``pub/serial/Period_s`` sets the
publication period (that firmware publishes every second, fixed).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from benchgui.instruments.mppt.protocol import (
    NO_PAYLOAD,
    InvalidRequest,
    Method,
    Request,
    encode_response,
    encode_statement,
)
from benchgui.instruments.mppt.sim_tree import DEFAULT_PUB_IDS, Item, SimOptions, build_tree
from benchgui.instruments.mppt.status import (
    BAD_REQUEST,
    CHANGED,
    CONTENT,
    CREATED,
    DELETED,
    FORBIDDEN,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    UNAUTHORIZED,
    VALID,
)
from benchgui.simbench.charger import ChargerParams, SimCharger
from benchgui.simbench.sensors import SensorModel
from benchgui.simbench.world import SimWorld

BOOT_BANNER = b"*** Booting Zephyr OS build v2.5.0 (simulated MPPT 1210 HUS) ***\r\n"
MAKER_PASSWORD, EXPERT_PASSWORD = "maker456", "expert123"  # the firmware's public Kconfig defaults


class MpptModel:
    """Data tree + physics + request handling of one simulated MPPT."""

    def __init__(self, world: SimWorld, options: SimOptions | None = None) -> None:
        self.world = world
        self.options = options or SimOptions()
        o = self.options
        self.charger = SimCharger(world, ChargerParams())
        s = o.seed
        # 12-bit ADCs: 16 V / 4096 on the battery divider, a shunt with ~5 mA steps, a gain
        # error and an offset on current (as the real bench showed against the LabJack)
        self.v_sensor = SensorModel(gain=1.0015, offset=-0.02, noise=0.004, lsb=16 / 4096, seed=s)
        self.i_sensor = SensorModel(gain=1.01, offset=0.02, noise=0.01, lsb=20 / 4096, seed=s + 1)
        self.sv_sensor = SensorModel(gain=0.998, offset=0.0, noise=0.02, lsb=40 / 4096, lo=0.0, seed=s + 2)
        self.si_sensor = SensorModel(gain=1.02, offset=0.0, noise=0.008, lsb=10 / 4096, lo=0.0, seed=s + 3)
        self.li_sensor = SensorModel(gain=1.0, offset=0.0, noise=0.004, lsb=10 / 4096, lo=0.0, seed=s + 4)
        self.authenticated = ""  # "", "maker", "expert"
        self.force_error_flags = 0  # fault injection: OR-ed into ErrorFlags
        self.output_queue: list[bytes] = []  # unsolicited lines (banner after reset)
        self.period_changed = False
        self.lvd = False  # load disconnected for low voltage
        self._t_boot = world.now_s()
        self._t_last = self._t_boot
        self._was_dark = world.irradiance() <= 0.0
        self._int_temp = world.params.ambient_c + 2.0
        self.tree = build_tree(world, self.options)
        self._order = {n: i for i, n in enumerate(n for g in self.tree.values() for n in g)}
        cap = float(self.tree["conf"]["BatNom_Ah"].value)
        self.dis_ah = max(0.0, (1.0 - world.battery.soc) * cap)  # as if it had been counting all along
        self.pub_ids = list(DEFAULT_PUB_IDS)
        self._apply_conf()
        self.tick()

    GROUP_CHILDREN: ClassVar[dict[str, list[str]]] = {
        "": ["info", "conf", "input", "output", "rec", "cal", "exec", "auth", "pub"],
        "pub": ["serial"],
        "exec": ["reset", "bootloader-stm", "save-settings"],
    }
    EXEC_NODES = ("exec/reset", "exec/bootloader-stm", "exec/save-settings", "auth")

    def item(self, name: str) -> Item | None:
        for group in ("output", "rec", "info", "input", "conf", "cal"):
            it = self.tree[group].get(name)
            if it is not None:
                return it
        return None

    def value(self, name: str) -> Any:
        it = self.item(name)
        return None if it is None else it.value

    @property
    def publication_enabled(self) -> bool:
        return bool(self.tree["pub/serial"]["Enable"].value)

    @property
    def period_s(self) -> float:
        item = self.tree["pub/serial"].get("Period_s")
        return float(item.value) if item is not None else self.options.period_s

    # -- physics and measurement -------------------------------------------------------------
    def _apply_conf(self) -> None:
        c, p = self.tree["conf"], self.charger.p
        p.topping_v = float(c["Topping_V"].value)
        p.trickle_v = float(c["Trickle_V"].value)
        p.recharge_v = float(c["BatRecharge_V"].value)
        p.topping_cutoff_a = float(c["ToppingCutoff_A"].value)
        p.topping_cutoff_s = float(c["ToppingCutoff_s"].value)
        p.trickle_enabled = bool(c["TrickleEn"].value)
        p.max_current_a = float(c["BatChgMax_A"].value)

    def tick(self) -> None:
        """Advance the device to the world's now: charger, load output, sensors, counters."""
        w, o = self.world, self.options
        now = w.now_s()
        dt = max(0.0, now - self._t_last)
        self._t_last = now
        out, rec, conf, inp = self.tree["output"], self.tree["rec"], self.tree["conf"], self.tree["input"]
        bat_temp = w.temperature_c()
        flags = 0
        if bat_temp < conf["BatDisMin_degC"].value:
            flags |= 0x10
        if bat_temp > conf["BatDisMax_degC"].value:
            flags |= 0x20
        if bat_temp < conf["BatChgMin_degC"].value:
            flags |= 0x40
        if bat_temp > conf["BatChgMax_degC"].value:
            flags |= 0x80
        # input/DcdcEn (node 0x63, bound to dcdc.enable in the firmware's data_nodes.cpp): off
        # stops the DC/DC at once and keeps it from starting (dcdc.cpp: DCDCState 0, off); the
        # program runner's charger interlock relies on it. Firmware without the item (older
        # releases, or a test that removes it to play one) has no such switch: always enabled.
        dcdc_en = inp.get("DcdcEn")
        self.charger.enabled = True if dcdc_en is None else bool(dcdc_en.value)
        self.charger.charge_allowed = not flags & 0xC0
        # load output: switched off below the disconnect voltage, back on above reconnect
        v_rest = w.voltage()
        if v_rest < conf["LoadDisconnect_V"].value and not self.lvd:
            self.lvd = True
            rec["DeepDisCount"].value += 1
        elif v_rest > conf["LoadReconnect_V"].value:
            self.lvd = False
        load_on = bool(inp["LoadEn"].value) and not self.lvd
        w.set_current("mppt_load", -o.load_output_a if load_on else 0.0)
        full_before = self.charger.full_charges
        self.charger.update()
        if self.charger.full_charges != full_before:  # end of topping: the battery is full
            self.dis_ah = 0.0
            rec["FullChgCount"].value += 1
        bat_v = round(self.v_sensor.measure(w.voltage()), 2)
        bat_a = round(self.i_sensor.measure(w.current()), 2)
        ch = self.charger
        solar_v = round(self.sv_sensor.measure(ch.solar_v), 2) if ch.solar_v > 0 else 0.0
        solar_a = round(self.si_sensor.measure(ch.solar_a), 2) if ch.current > 0 else 0.0
        load_a = round(self.li_sensor.measure(o.load_output_a), 2) if load_on and o.load_output_a > 0 else 0.0
        # internal temperature: a first-order lag towards ambient + DC/DC losses
        loss_w = solar_v * solar_a * (1.0 - ch.p.efficiency)
        target = w.params.ambient_c + 2.0 + 1.5 * loss_w
        self._int_temp = target + (self._int_temp - target) * math.exp(-dt / 600.0)
        if self._int_temp > 80.0:
            flags |= 0x2000
        if self.lvd:
            flags |= 0x1
        if bat_v > 15.5:
            flags |= 0x2
        # coulomb counter and the MPPT's own SOC
        usable = max(0.1, float(rec["BatUsable_Ah"].value))
        self.dis_ah = min(usable * 1.5, max(0.0, self.dis_ah - bat_a * dt / 3600.0))
        soc = round(max(0.0, min(100.0, 100.0 * (usable - self.dis_ah) / usable)))
        # daily energy counters, reset at sunrise (the firmware starts a new day then)
        dark = w.irradiance() <= 0.0
        if self._was_dark and not dark:
            rec["DayCount"].value += 1
            for k in ("SolarInDay_Wh", "LoadOutDay_Wh", "BatChgDay_Wh", "BatDisDay_Wh"):
                rec[k].value = 0.0
        self._was_dark = dark
        h = dt / 3600.0
        rec["SolarInDay_Wh"].value += solar_v * solar_a * h
        rec["LoadOutDay_Wh"].value += bat_v * load_a * h
        rec["BatChgDay_Wh"].value += max(0.0, bat_v * bat_a) * h
        rec["BatDisDay_Wh"].value += max(0.0, -bat_v * bat_a) * h
        for day, total in (
            ("SolarInDay_Wh", "SolarInTotal_Wh"),
            ("LoadOutDay_Wh", "LoadOutTotal_Wh"),
            ("BatChgDay_Wh", "BatChgTotal_Wh"),
            ("BatDisDay_Wh", "BatDisTotal_Wh"),
        ):
            rec[total].value = max(int(rec[total].value), int(rec[day].value))
        rec["Dis_Ah"].value = self.dis_ah
        out["Uptime_s"].value = int(now - self._t_boot)
        out["Bat_V"].value, out["Bat_A"].value, out["Bat_W"].value = bat_v, bat_a, bat_v * bat_a
        out["Bat_degC"].value = round(bat_temp, 1)
        out["SOC_pct"].value = soc
        out["Int_degC"].value = round(self._int_temp, 1)
        out["ChgTarget_V"].value, out["ChgTarget_A"].value = ch.target_v, ch.target_a
        out["ChgState"].value, out["DCDCState"].value = ch.state, ch.dcdc_state
        out["Solar_V"].value, out["Solar_A"].value = solar_v, solar_a
        out["Solar_W"].value = solar_v * solar_a
        out["Load_A"].value, out["Load_W"].value = load_a, bat_v * load_a
        out["LoadInfo"].value = (-1 if self.lvd else 1) if inp["LoadEn"].value else 0
        out["UsbInfo"].value = (-1 if self.lvd else 1) if inp["UsbEn"].value else 0
        out["ErrorFlags"].value = flags | self.force_error_flags

    def statement(self) -> bytes:
        """The publication line with the items in ``pub/serial/IDs`` (in data-table order)."""
        found = {n: item for n in self.pub_ids if (item := self.item(n)) is not None}
        values = {n: found[n].rendered() for n in sorted(found, key=self._order.__getitem__)}
        return encode_statement(values, "serial" if self.options.firmware == "new" else "")

    # -- requests ----------------------------------------------------------------------------------
    def _answer(self, status: int, payload: Any = NO_PAYLOAD) -> bytes:
        return encode_response(status, payload, self.options.verbose_status)

    def handle(self, request: Request | InvalidRequest) -> bytes:
        """The response line for one request."""
        if isinstance(request, InvalidRequest):
            return self._answer(request.status)
        m = request.method
        if m is Method.GET:
            return self._get(request.path)
        if m is Method.FETCH:
            return self._fetch(request.path, request.payload)
        if m is Method.UPDATE:
            return self._update(request.path.strip("/"), request.payload)
        if m is Method.EXEC:
            return self._exec(request.path.strip("/"), request.payload)
        return self._pubsub(request.path.strip("/"), m, request.payload)

    def _group_values(self, path: str) -> dict[str, Any] | None:
        if path in self.tree:
            return {n: it.rendered() for n, it in self.tree[path].items()}
        if path == "pub/serial/IDs":
            return None
        if path in self.GROUP_CHILDREN:
            return {c: self._group_values(f"{path}/{c}" if path else c) for c in self.GROUP_CHILDREN[path]}
        return None

    def _names(self, path: str) -> list[str] | None:
        if path in self.tree:
            names = list(self.tree[path])
            return [*names, "IDs"] if path == "pub/serial" else names
        return self.GROUP_CHILDREN.get(path)

    def _get(self, raw: str) -> bytes:
        path = raw.strip("/")
        if raw.endswith("/"):
            names = self._names(path)
            return self._answer(CONTENT, names) if names is not None else self._answer(NOT_FOUND)
        if path == "pub/serial/IDs":
            return self._answer(CONTENT, list(self.pub_ids))
        values = self._group_values(path)
        if values is not None:
            return self._answer(CONTENT, values)
        group, _, name = path.rpartition("/")
        if group in self.tree and name in self.tree[group]:
            return self._answer(CONTENT, self.tree[group][name].rendered())
        return self._answer(NOT_FOUND)

    def _fetch(self, raw: str, payload: Any) -> bytes:
        path = raw.strip("/")
        if path not in self.tree:
            return self._answer(NOT_FOUND)
        group = self.tree[path]
        if isinstance(payload, str):
            return (
                self._answer(CONTENT, group[payload].rendered())
                if payload in group
                else self._answer(NOT_FOUND)
            )
        if not isinstance(payload, list) or not all(isinstance(n, str) for n in payload):
            return self._answer(BAD_REQUEST)
        if any(n not in group for n in payload):
            return self._answer(NOT_FOUND)
        return self._answer(CONTENT, [group[n].rendered() for n in payload])

    def _update(self, path: str, payload: Any) -> bytes:
        if path not in self.tree:
            return self._answer(METHOD_NOT_ALLOWED if path in self.EXEC_NODES else NOT_FOUND)
        if not isinstance(payload, dict) or not payload:
            return self._answer(BAD_REQUEST)
        group = self.tree[path]
        for name, value in payload.items():  # all or nothing: check everything first
            it = group.get(name)
            if it is None:
                return self._answer(NOT_FOUND)
            if it.access == "r":
                return self._answer(FORBIDDEN)
            if it.access == "mkr" and not self.authenticated:
                return self._answer(UNAUTHORIZED)
            if not _same_type(it.value, value):
                return self._answer(BAD_REQUEST)
            if name == "Period_s" and not value > 0:
                return self._answer(BAD_REQUEST)
        for name, value in payload.items():
            group[name].value = float(value) if isinstance(group[name].value, float) else value
        if path == "conf":
            self._apply_conf()
        if path == "pub/serial" and "Period_s" in payload:
            self.period_changed = True
        return self._answer(CHANGED)

    def _exec(self, path: str, payload: Any) -> bytes:
        if path == "auth":
            pw = payload[0] if isinstance(payload, list) and payload else payload
            self.authenticated = {MAKER_PASSWORD: "maker", EXPERT_PASSWORD: "expert"}.get(str(pw), "")
            return self._answer(VALID)
        if path in self.EXEC_NODES:
            if path == "exec/reset":
                self._t_boot = self.world.now_s()
                self.authenticated = ""
                self.output_queue.append(BOOT_BANNER)
            return self._answer(VALID)
        if path in self.tree or path in self.GROUP_CHILDREN or self._is_item(path):
            return self._answer(METHOD_NOT_ALLOWED)
        return self._answer(NOT_FOUND)

    def _is_item(self, path: str) -> bool:
        group, _, name = path.rpartition("/")
        return group in self.tree and name in self.tree[group]

    def _pubsub(self, path: str, method: Method, payload: Any) -> bytes:
        if path != "pub/serial/IDs":
            exists = path in self.tree or path in self.GROUP_CHILDREN or self._is_item(path)
            return self._answer(METHOD_NOT_ALLOWED if exists else NOT_FOUND)
        if not isinstance(payload, str):
            return self._answer(BAD_REQUEST)
        if method is Method.CREATE:
            if self.item(payload) is None:
                return self._answer(NOT_FOUND)
            if payload not in self.pub_ids:
                self.pub_ids.append(payload)
            return self._answer(CREATED)
        if payload not in self.pub_ids:
            return self._answer(NOT_FOUND)
        self.pub_ids.remove(payload)
        return self._answer(DELETED)


def _same_type(old: Any, new: Any) -> bool:
    if isinstance(old, bool):
        return isinstance(new, bool)
    if isinstance(old, int):
        return isinstance(new, int) and not isinstance(new, bool)
    if isinstance(old, float):
        return isinstance(new, int | float) and not isinstance(new, bool) and math.isfinite(new)
    return isinstance(new, type(old))
