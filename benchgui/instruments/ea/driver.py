"""asyncio driver for EA devices speaking binary telegrams (EL 3000 A load; PS 2000 B supply).

Transactions are serialized by a lock, so polling and setpoints never interleave bytes on the
line. Within one locked operation (identify, read_actual with status, mode + setpoint) the
queries follow each other back to back: the next telegram goes out the moment the previous
answer is complete, with no waits of the driver's own. ``pipeline_depth`` > 1 goes further and
keeps several queries outstanding (full-duplex RS232; whether the real EL buffers them is
UNCONFIRMED, so the default is 1).

Every answer has a per-transaction timeout; timeouts, corrupted answers and the device's own
"checksum wrong"/"start delimiter wrong" codes are retried up to ``retries`` times after a
resync (input discarded). Other error codes raise their :class:`~.protocol.EaDeviceError`
subclass at once. Values outside the device's nominal range raise
:class:`~benchgui.errors.ValueOutOfRange` before anything is sent.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchgui.errors import InstrumentTimeout, ValueOutOfRange
from benchgui.instruments.ea.objects import DeviceStatus, NotSupported, Profile, load_profile
from benchgui.instruments.ea.protocol import (
    CHECKSUM,
    ERROR_OBJECT,
    LINE_ERROR_CODES,
    NEED_DATA,
    Direction,
    Discarded,
    EaDeviceError,
    EaProtocolError,
    MalformedData,
    Telegram,
    TelegramReader,
    device_error,
    query,
    send,
)
from benchgui.instruments.ea.values import ObjectSpec, Scaling, decode, encode
from benchgui.instruments.transport import SerialSettings, Transport, transport_for

log = logging.getLogger(__name__)

#: (direction, bytes): "tx" a telegram sent, "rx" a telegram received, "discarded" skipped bytes
TelegramTrace = Callable[[str, bytes], None]

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


@dataclass
class DriverStats:
    transactions: int = 0
    telegrams_sent: int = 0
    answers: int = 0
    retries: int = 0
    timeouts: int = 0
    corrupt_answers: int = 0
    stale_answers: int = 0
    discarded_bytes: int = 0
    refusals: int = 0


@dataclass(frozen=True)
class _Request:
    telegram: Telegram
    raw: bytes
    spec: ObjectSpec | None
    label: str

    @property
    def is_query(self) -> bool:
        return self.telegram.data == b""

    def matches(self, t: Telegram) -> bool:
        if t.obj == ERROR_OBJECT:
            return True
        return self.is_query and t.obj == self.telegram.obj


class _Corrupt(Exception):
    def __init__(self, error: EaProtocolError) -> None:
        self.error = error


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
        if pipeline_depth < 1:
            raise ValueError("pipeline_depth must be >= 1")
        self.transport = transport
        self.profile = profile
        self.node = node
        self.timeout_s = timeout_s
        self.retries = retries
        self.pipeline_depth = pipeline_depth
        self.cast = cast
        self.trace: TelegramTrace | None = None
        self.stats = DriverStats()
        self.identity: Identity | None = None
        self.selected_mode: str | None = None  # last mode we selected (cleared on (re)open)
        self._reader = TelegramReader(Direction.FROM_DEVICE, max_node=max(31, profile.max_node))
        self._lock = asyncio.Lock()
        self._dirty = False
        self._queries: dict[str, _Request] = {}
        self._nominals: dict[str, float] | None = None  # read before identify(), until reopened

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
        self._reader.clear()
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
    async def remote(self, on: bool) -> None:
        await self._control("remote_on" if on else "remote_off")

    async def input(self, on: bool) -> None:
        await self._control("input_on" if on else "input_off")

    async def set_mode(self, mode: str) -> None:
        """Select the operating mode (CC, CV, CP, CR) where the profile has such an action."""
        await self._control(f"mode_{mode.lower()}")
        self.selected_mode = mode.upper()

    async def _control(self, action: str) -> None:
        ctl = self.profile.control
        if ctl is None:
            raise NotSupported(f"the {self.profile.name} profile has no control object")
        await self.write(ctl.object, ctl.action(action))

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
            await self._transact(reqs)
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
        if status_spec is not None and status_spec.object != actual.role:
            reqs.append(self._query_request(self.profile.obj(status_spec.object)))
        answers = await self._transact(reqs)
        fields = decode(actual, answers[0].data, scaling)
        status = None
        if status_spec is not None:
            sfields = fields if len(answers) == 1 else decode(reqs[1].spec, answers[1].data, scaling)  # type: ignore[arg-type]
            status = status_spec.decode(sfields)
        try:
            return Actual(fields["voltage"], fields["current"], fields.get("power"), status)
        except KeyError as exc:
            raise MalformedData(f"the profile's actual object has no {exc} field") from None

    async def read_status(self) -> DeviceStatus:
        spec = self.profile.status
        if spec is None:
            raise NotSupported(f"the {self.profile.name} profile has no status object")
        scaling = await self._scaling()
        obj = self.profile.obj(spec.object)
        (t,) = await self._transact([self._query_request(obj)])
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
        answers = await self._transact([self._query_request(s) for s in specs])
        return [decode(s, t.data, scaling) for s, t in zip(specs, answers, strict=True)]

    async def write(self, role: str, value: Any) -> None:
        """Write an object by role (mask objects take ``(mask, value)``); scaled values in SI units."""
        spec = self.profile.obj(role)
        scaled = spec.scale is not None
        scaling = await self._scaling() if scaled else self.profile.scaling({})
        await self._transact([self._write_request(spec, value, scaling)])

    async def exchange_raw(self, data: bytes, timeout_s: float | None = None) -> Telegram:
        """Send arbitrary bytes and return the next telegram received (no retries) — for tests
        and for probing unconfirmed objects."""
        async with self._lock:
            self._resync()
            self._dirty = True
            req = _Request(Telegram(0, 0, ERROR_OBJECT), bytes(data), None, f"raw {data.hex(' ')}")
            await self._send(req)
            loop = asyncio.get_running_loop()
            t = await self._receive(req, loop.time() + (timeout_s or self.timeout_s), any_answer=True)
            self._dirty = False
            return t

    # -- requests ------------------------------------------------------------------------------
    def _query_request(self, spec: ObjectSpec) -> _Request:
        req = self._queries.get(spec.role)
        if req is None or req.telegram.node != self.node:
            if not spec.readable:
                raise NotSupported(f"object {spec.role} is write-only")
            t = query(spec.number, spec.query_length, self.node, cast=self.cast)
            req = _Request(t, t.encode(), spec, f"query {spec.role} (object {spec.number})")
            self._queries[spec.role] = req
        return req

    def _write_request(self, spec: ObjectSpec, value: Any, scaling: Scaling) -> _Request:
        if not spec.writable:
            raise NotSupported(f"object {spec.role} is read-only")
        t = send(spec.number, encode(spec, value, scaling), self.node, cast=self.cast)
        shown = f"{value:g}" if isinstance(value, float) else repr(value)
        return _Request(t, t.encode(), spec, f"write {spec.role} (object {spec.number}) = {shown}")

    # -- transactions --------------------------------------------------------------------------
    async def _transact(self, reqs: Sequence[_Request]) -> list[Telegram]:
        """Run ``reqs`` in order under the lock; return their answers (errors raised)."""
        async with self._lock:
            if self._dirty:  # a previous exchange was interrupted (cancelled): bytes may be pending
                self._resync()
            self._dirty = True
            answers: list[Telegram] = []
            failures = 0
            while len(answers) < len(reqs):
                problem = await self._batch(reqs[len(answers) :], answers)
                if problem is None:
                    break
                failures += 1
                if failures > self.retries:
                    raise problem
                self.stats.retries += 1
                log.debug("%s: %s; retry %d of %d", self.transport.name, problem, failures, self.retries)
                self._resync()
            self._dirty = False
            self.stats.transactions += len(reqs)
            return answers

    async def _batch(self, todo: Sequence[_Request], answers: list[Telegram]) -> Exception | None:
        """Send ``todo`` (up to ``pipeline_depth`` outstanding) and collect answers into
        ``answers``. Returns a retryable problem, raises a refusal, None when all answered."""
        loop = asyncio.get_running_loop()
        sent = got = 0
        while got < len(todo):
            while sent < len(todo) and sent - got < self.pipeline_depth:
                await self._send(todo[sent])
                sent += 1
            req = todo[got]
            try:
                t = await self._receive(req, loop.time() + self.timeout_s)
            except InstrumentTimeout as exc:
                return exc
            except _Corrupt as exc:
                return exc.error
            if t.obj == ERROR_OBJECT and (req.is_query or t.error_code != 0):
                err = self._refusal(req, t)
                if err.code in LINE_ERROR_CODES:
                    return err
                await self._drain(sent - got - 1, loop.time() + self.timeout_s)
                raise err
            answers.append(t)
            got += 1
        return None

    def _refusal(self, req: _Request, t: Telegram) -> EaDeviceError:
        self.stats.refusals += 1
        if t.error_code is None:
            raise MalformedData(f"error answer to {req.label} without a single code byte: {t.describe()}")
        err = device_error(t.error_code, f"{self.model}: {req.label}")
        log.info("%s", err)
        return err

    async def _drain(self, outstanding: int, deadline: float) -> None:
        """Collect the answers to requests already sent after a refusal (keeps the stream aligned)."""
        drain = _Request(Telegram(0, 0, ERROR_OBJECT), b"", None, "outstanding answers")
        for _ in range(outstanding):
            try:
                await self._receive(drain, deadline, any_answer=True)
            except (InstrumentTimeout, _Corrupt):
                self._resync()
                return

    async def _send(self, req: _Request) -> None:
        if self.trace is not None:
            self.trace("tx", req.raw)
        await self.transport.write(req.raw)
        self.stats.telegrams_sent += 1

    async def _receive(self, req: _Request, deadline: float, any_answer: bool = False) -> Telegram:
        reader = self._reader
        while True:
            ev = reader.next_event()
            if ev is NEED_DATA:
                try:
                    async with asyncio.timeout_at(deadline):
                        data = await self.transport.read()
                except TimeoutError:
                    data = await self._read_now()  # the loop may have stalled with the answer waiting
                    if not data:
                        self.stats.timeouts += 1
                        raise InstrumentTimeout(
                            f"{self.transport.name}: no answer to {req.label} within {self.timeout_s:g} s"
                        ) from None
                reader.feed(data)
                continue
            if isinstance(ev, Discarded):
                self.stats.discarded_bytes += len(ev.data)
                if self.trace is not None:
                    self.trace("discarded", ev.data)
                if ev.reason == CHECKSUM:
                    self.stats.corrupt_answers += 1
                    raise _Corrupt(
                        EaProtocolError(
                            f"{self.transport.name}: corrupted answer to {req.label} "
                            f"(checksum mismatch): {ev.data.hex(' ')}"
                        )
                    )
                log.debug("%s: skipped %d byte(s) of garbage", self.transport.name, len(ev.data))
                continue
            assert isinstance(ev, Telegram)
            if self.trace is not None:
                self.trace("rx", ev.encode())
            if any_answer or req.matches(ev):
                self.stats.answers += 1
                return ev
            self.stats.stale_answers += 1
            log.info("%s: discarding %s while waiting for %s", self.transport.name, ev.describe(), req.label)

    async def _read_now(self) -> bytes:
        """What has arrived already, without waiting. After a stalled event loop (a GUI busy
        for a second) the timeout fires in the same turn as the answer's readiness; this gives
        the answer a last chance instead of counting a timeout that did not happen on the line."""
        try:
            async with asyncio.timeout(0):
                return await self.transport.read()
        except TimeoutError:
            return b""

    def _resync(self) -> None:
        self._reader.clear()
        self.transport.discard_input()
