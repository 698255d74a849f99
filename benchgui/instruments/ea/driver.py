"""asyncio driver for EA devices speaking binary telegrams (EL 3000 A load; PS 2000 B supply).

The driver speaks in objects and SI units — identify, remote/input, set values, actual values
with status bits, the Ah counter — as the device profile describes them; the transaction layer
underneath (:mod:`.transactions`) serializes exchanges, pipelines them without waits of its own,
times out and retries. Values outside the device's nominal range raise
:class:`~benchgui.errors.ValueOutOfRange` before anything is sent.

Status bits come from object 70 on the EL (remote, input, regulation mode — UNCONFIRMED, one
EL 9000 driver only) and the OVP/OCP/OPP/OTP bits are placed as in the PS 2000 B status byte
(UNCONFIRMED for the EL); the profile says so and can be corrected without code changes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from benchgui.errors import ValueOutOfRange
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.objects import DeviceStatus, NotSupported, Profile
from benchgui.instruments.ea.protocol import MalformedData, Telegram, query, send
from benchgui.instruments.ea.transactions import LinkStats, Request, TelegramLink, TelegramTrace
from benchgui.instruments.ea.values import ObjectSpec, Scaling, decode, encode
from benchgui.instruments.transport import SerialSettings, Transport, transport_for

log = logging.getLogger(__name__)

#: the EL's IF-R1 / IF-U1 interface cards: 57600 baud, 8 data bits, odd parity, 1 stop bit
DEFAULT_SERIAL = SerialSettings(baud=57600, bytesize=8, parity="O", stopbits=1)

IDENTIFY_ROLES = ("device_type", "serial", "firmware", "article", "manufacturer")
NOMINAL_ROLES = {"voltage": "nominal_voltage", "current": "nominal_current", "power": "nominal_power"}
UNITS = {"voltage": "V", "current": "A", "power": "W"}


@dataclass(frozen=True)
class Identity:
    device_type: str
    serial: str
    firmware: str
    nominal_voltage_v: float
    nominal_current_a: float
    nominal_power_w: float
    extra: dict[str, str] = field(default_factory=dict)  # article, manufacturer …

    @property
    def nominals(self) -> dict[str, float]:
        return {
            "voltage": self.nominal_voltage_v,
            "current": self.nominal_current_a,
            "power": self.nominal_power_w,
        }


@dataclass(frozen=True)
class Actual:
    """One reading. ``current_a`` is the device's own sense: a load reports its sink current."""

    voltage_v: float
    current_a: float
    power_w: float | None
    status: DeviceStatus | None


class EaDriver:
    def __init__(
        self,
        transport: Transport,
        profile: Profile,
        *,
        node: int = 0,
        timeout_s: float = 0.5,
        retries: int = 2,
        pipeline_depth: int = 1,
        cast: bool = True,
    ) -> None:
        self.transport = transport
        self.profile = profile
        self.node = node
        self.cast = cast
        self.link = TelegramLink(
            transport,
            max_node=max(31, profile.max_node),
            timeout_s=timeout_s,
            retries=retries,
            pipeline_depth=pipeline_depth,
        )
        self.identity: Identity | None = None
        self.selected_mode: str | None = None  # last mode we selected (cleared on (re)open)
        self._queries: dict[str, Request] = {}
        self._nominals: dict[str, float] | None = None  # read before identify(), until reopened

    # transaction settings live in the link; these keep them reachable from the driver
    @property
    def timeout_s(self) -> float:
        return self.link.timeout_s

    @timeout_s.setter
    def timeout_s(self, value: float) -> None:
        self.link.timeout_s = value

    @property
    def retries(self) -> int:
        return self.link.retries

    @retries.setter
    def retries(self, value: int) -> None:
        self.link.retries = value

    @property
    def pipeline_depth(self) -> int:
        return self.link.pipeline_depth

    @pipeline_depth.setter
    def pipeline_depth(self, value: int) -> None:
        self.link.pipeline_depth = max(1, int(value))

    @property
    def trace(self) -> TelegramTrace | None:
        """Called with ("tx" | "rx" | "discarded", bytes) for every raw telegram."""
        return self.link.trace

    @trace.setter
    def trace(self, hook: TelegramTrace | None) -> None:
        self.link.trace = hook

    @property
    def stats(self) -> LinkStats:
        return self.link.stats

    @classmethod
    def for_port(
        cls,
        port: str,
        profile: Profile | str = "el3000",
        settings: SerialSettings = DEFAULT_SERIAL,
        **kwargs: Any,
    ) -> EaDriver:
        """A driver on a serial port (or ``tcp://host:port``) with the EL's 57600 8O1 defaults."""
        prof = profile if isinstance(profile, Profile) else load_profile(profile)
        return cls(transport_for(port, settings), prof, **kwargs)

    # -- connection --------------------------------------------------------------------------
    async def open(self) -> None:
        await self.transport.open()
        self.link.reset()
        self.selected_mode = None
        self._nominals = None

    async def close(self) -> None:
        await self.transport.close()

    @property
    def nominals(self) -> dict[str, float] | None:
        return self.identity.nominals if self.identity else None

    @property
    def model(self) -> str:
        return self.identity.device_type if self.identity else self.profile.name

    # -- identification ----------------------------------------------------------------------
    async def identify(self) -> Identity:
        """Read type, serial, firmware (and article/manufacturer when the profile has them)
        and the nominal values U, I, P."""
        roles = [r for r in IDENTIFY_ROLES if self.profile.has(r)]
        nom_roles = list(NOMINAL_ROLES.values())
        values = await self.read(*roles, *nom_roles)
        texts = dict(zip(roles, values[: len(roles)], strict=True))
        noms = dict(zip(NOMINAL_ROLES, values[len(roles) :], strict=True))
        for q, v in noms.items():
            if not (math.isfinite(v) and v > 0):
                raise MalformedData(f"nominal {q} {v!r} is not a positive number")
        self.identity = Identity(
            device_type=texts.pop("device_type", ""),
            serial=texts.pop("serial", ""),
            firmware=texts.pop("firmware", ""),
            nominal_voltage_v=noms["voltage"],
            nominal_current_a=noms["current"],
            nominal_power_w=noms["power"],
            extra=texts,
        )
        self.link.device = self.identity.device_type
        self.selected_mode = None
        log.info(
            "%s: %s serial %s firmware %s, %g V %g A %g W",
            self.transport.name,
            self.identity.device_type,
            self.identity.serial,
            self.identity.firmware,
            noms["voltage"],
            noms["current"],
            noms["power"],
        )
        return self.identity

    async def _scaling(self) -> Scaling:
        if self.identity is not None:
            return self.profile.scaling(self.identity.nominals)
        if self._nominals is None:
            noms = await self.read(*NOMINAL_ROLES.values())
            if not all(math.isfinite(v) and v > 0 for v in noms):
                raise MalformedData(f"nominal values {noms!r} are not positive numbers")
            self._nominals = dict(zip(NOMINAL_ROLES, noms, strict=True))
        return self.profile.scaling(self._nominals)

    # -- control -------------------------------------------------------------------------------
    async def remote(self, on: bool, *, urgent: bool = False) -> None:
        await self._control("remote_on" if on else "remote_off", urgent=urgent)

    async def input(self, on: bool, *, urgent: bool = False) -> None:
        """``urgent`` (safety): goes before everything else on the line, see :mod:`.transactions`."""
        await self._control("input_on" if on else "input_off", urgent=urgent)

    async def set_mode(self, mode: str) -> None:
        """Select the operating mode (CC, CV, CP, CR) where the profile has such an action."""
        await self._control(f"mode_{mode.lower()}")
        self.selected_mode = mode.upper()

    async def _control(self, action: str, *, urgent: bool = False) -> None:
        ctl = self.profile.control
        if ctl is None:
            raise NotSupported(f"the {self.profile.name} profile has no control object")
        await self.write(ctl.object, ctl.action(action), urgent=urgent)

    async def set_current(self, amps: float) -> None:
        await self._set("current", amps, "CC")

    async def set_power(self, watts: float) -> None:
        await self._set("power", watts, "CP")

    async def set_voltage(self, volts: float) -> None:
        await self._set("voltage", volts, "CV")

    async def _set(self, quantity: str, value: float, mode: str) -> None:
        role = f"set_{quantity}"
        spec = self.profile.obj(role)
        scaling = await self._scaling()
        nominal = scaling.nominals[quantity]
        unit = UNITS[quantity]
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= nominal):
            raise ValueOutOfRange(
                f"{quantity} setpoint {value!r} {unit} is outside 0…{nominal:g} {unit} "
                f"(nominal of the {self.model}); nothing was sent"
            )
        reqs = []
        ctl = self.profile.control
        select = f"mode_{mode.lower()}"
        if (
            ctl is not None
            and ctl.select_mode_on_set
            and select in ctl.actions
            and self.selected_mode != mode
        ):
            reqs.append(self._write_request(self.profile.obj(ctl.object), ctl.actions[select], scaling))
        reqs.append(self._write_request(spec, value, scaling))
        try:
            await self.link.transact(reqs)
        except BaseException:
            self.selected_mode = None
            raise
        if len(reqs) == 2:
            self.selected_mode = mode

    # -- readings ------------------------------------------------------------------------------
    async def read_actual(self, with_status: bool = True) -> Actual:
        """U, I, P (+ status bits, where the profile says how to read them)."""
        scaling = await self._scaling()
        actual = self.profile.obj("actual")
        status_spec = self.profile.status if with_status else None
        reqs = [self._query_request(actual)]
        status_obj = None  # the status lives in its own object (else in "actual")
        if status_spec is not None and status_spec.object != actual.role:
            status_obj = self.profile.obj(status_spec.object)
            reqs.append(self._query_request(status_obj))
        answers = await self.link.transact(reqs)
        fields = decode(actual, answers[0].data, scaling)
        status = None
        if status_spec is not None:
            sfields = fields if status_obj is None else decode(status_obj, answers[1].data, scaling)
            status = status_spec.decode(sfields)
        try:
            return Actual(fields["voltage"], fields["current"], fields.get("power"), status)
        except KeyError as exc:
            raise MalformedData(f"the profile's actual object has no {exc} field") from None

    async def read_status(self, *, urgent: bool = False) -> DeviceStatus:
        """The status bits; ``urgent``: the supervisor confirming the input off."""
        spec = self.profile.status
        if spec is None:
            raise NotSupported(f"the {self.profile.name} profile has no status object")
        scaling = await self._scaling()
        obj = self.profile.obj(spec.object)
        (t,) = await self.link.transact([self._query_request(obj)], urgent=urgent)
        return spec.decode(decode(obj, t.data, scaling))

    async def read_ah(self) -> float:
        """The load's Ah counter (object 69 on the EL)."""
        (value,) = await self.read("ah_counter")
        return float(value)

    # -- generic object access -------------------------------------------------------------------
    async def read(self, *roles: str) -> list[Any]:
        """Query objects by role, in one locked exchange; return their decoded values."""
        specs = [self.profile.obj(r) for r in roles]
        scaled = any(s.scale or any(f.scale for f in s.fields) for s in specs)
        scaling = await self._scaling() if scaled else self.profile.scaling({})
        answers = await self.link.transact([self._query_request(s) for s in specs])
        return [decode(s, t.data, scaling) for s, t in zip(specs, answers, strict=True)]

    async def write(self, role: str, value: Any, *, urgent: bool = False) -> None:
        """Write an object by role (mask objects take ``(mask, value)``); scaled values in SI units."""
        spec = self.profile.obj(role)
        scaled = spec.scale is not None
        scaling = await self._scaling() if scaled else self.profile.scaling({})
        await self.link.transact([self._write_request(spec, value, scaling)], urgent=urgent)

    async def exchange_raw(self, data: bytes, timeout_s: float | None = None) -> Telegram:
        """Send arbitrary bytes and return the next telegram received (no retries) — for tests
        and for probing unconfirmed objects."""
        return await self.link.exchange_raw(data, timeout_s)

    # -- requests ------------------------------------------------------------------------------
    def _query_request(self, spec: ObjectSpec) -> Request:
        req = self._queries.get(spec.role)
        if req is None or req.telegram.node != self.node:
            if not spec.readable:
                raise NotSupported(f"object {spec.role} is write-only")
            t = query(spec.number, spec.query_length, self.node, cast=self.cast)
            req = Request.of(t, f"query {spec.role} (object {spec.number})", spec)
            self._queries[spec.role] = req
        return req

    def _write_request(self, spec: ObjectSpec, value: Any, scaling: Scaling) -> Request:
        if not spec.writable:
            raise NotSupported(f"object {spec.role} is read-only")
        t = send(spec.number, encode(spec, value, scaling), self.node, cast=self.cast)
        shown = f"{value:g}" if isinstance(value, float) else repr(value)
        return Request.of(t, f"write {spec.role} (object {spec.number}) = {shown}", spec)
