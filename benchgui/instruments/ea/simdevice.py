"""What the simulated EA device does with a telegram: the device logic without I/O or timing.

:class:`SimEaDevice` answers one request telegram exactly as the device would — data answers,
acknowledgements and error codes — following the same device profile as the driver, and drives
a :class:`~benchgui.simbench.load.SimLoadStage` on the shared simulated battery. Its answers are
checked against bytes captured from a real EL 3160-60A in the tests, so a bug shared with the
driver cannot hide. Rules modelled (reference §3, §4, §6):

* DN: queries for nodes outside ``accept_nodes`` → error 0x05; answers carry ``answer_node``
  (the real EL answered DN 1 to DN 0);
* unknown object → 0x07; a fixed-length object queried with another SD length field → 0x08
  (the EL did that for object 69), unless the profile lets it accept length field 0 (the
  PS 2000 B: :meth:`~.values.ObjectSpec.accepts_query`); writes with the wrong data length → 0x08; writes to
  read-only objects → 0x09;
* set values and control bits other than remote are refused (0x09) unless remote is on;
  raw values above the object's ``max_raw`` → 0x30;
* input off → zero current.

Fault modes (:class:`SimFaults`, for tests; each is an INFERENCE of how a real line or device
misbehaves, none is from a capture): a late acknowledgement held back and sent just before the
next answer, duplicated answers, answers to queries lost, and a device that acknowledges
"input off" yet keeps its input on. :attr:`SimEaDevice.received` keeps the telegrams the device
was sent, in order, so tests judge "what went out next" by what the device saw, not by time.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from benchgui.instruments.ea.objects import MODES, Profile
from benchgui.instruments.ea.protocol import (
    CHECKSUM,
    ERROR_OBJECT,
    Discarded,
    Kind,
    Telegram,
    answer,
    status_answer,
)
from benchgui.instruments.ea.values import ObjectSpec, decode, encode
from benchgui.simbench.load import LoadRatings, SimLoadStage
from benchgui.simbench.sensors import SensorModel
from benchgui.simbench.world import SimWorld

log = logging.getLogger(__name__)

OK, CHECKSUM_WRONG, WRONG_NODE, UNDEFINED, BAD_LENGTH, NO_ACCESS, UPPER_LIMIT = (
    0x00,
    0x03,
    0x05,
    0x07,
    0x08,
    0x09,
    0x30,
)


@dataclass
class SimIdentity:
    """What the simulated device says about itself (defaults: an EL 3160-60A as captured)."""

    device_type: str = "EL 3160-60A"
    serial: str = "SIM0000001"
    firmware: str = "V5.05 02.08.12"
    nominal_voltage: float = 160.0
    nominal_current: float = 60.0
    nominal_power: float = 400.0
    strings: dict[str, str] = field(
        default_factory=lambda: {
            "article": "35320200",
            "manufacturer": "EA-VIERSEN",
            "interface_type": "IF-U1",
            "interface_serial": "SIM0000002",
        }
    )

    @property
    def nominals(self) -> dict[str, float]:
        return {"voltage": self.nominal_voltage, "current": self.nominal_current, "power": self.nominal_power}


@dataclass
class SimFaults:
    """Misbehaviour to inject (counts are used up one answer at a time)."""

    #: the next n answers are each preceded by an extra ACK (0x00): the late acknowledgement
    #: of an earlier request, arriving while the driver waits for the current answer
    late_acks: int = 0
    #: the next n answers are sent twice (a repeater or a device repeating itself)
    duplicate_answers: int = 0
    #: answers to queries are lost (writes are still answered): a poll stuck in its retries
    drop_query_answers: bool = False
    #: "input off" is acknowledged and ignored (stuck power stage): the status keeps input on
    ignore_input_off: bool = False
    #: this fraction of answers arrives with a damaged checksum (a noisy line), seeded
    corrupt_ratio: float = 0.0
    seed: int = 17
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class SimEaDevice:
    def __init__(
        self,
        world: SimWorld,
        profile: Profile,
        identity: SimIdentity | None = None,
        *,
        answer_node: int = 1,
        accept_nodes: frozenset[int] | None = None,
        seed: int = 31,
    ) -> None:
        self.world = world
        self.profile = profile
        self.identity = identity or SimIdentity()
        self.answer_node = answer_node
        self.accept_nodes = accept_nodes if accept_nodes is not None else frozenset({0, 1, answer_node})
        self.scaling = profile.scaling(self.identity.nominals)
        noms = self.identity.nominals
        self.stage = SimLoadStage(world, LoadRatings(noms["voltage"], noms["current"], noms["power"]))
        self.remote = False
        self.mode = "CC"
        self.raw: dict[str, int] = {}  # raw words of writable objects by role
        self.alarms: set[str] = set()
        fs = profile.full_scale
        self.v_sensor = SensorModel(gain=1.0, offset=-0.02, noise=0.003, lsb=noms["voltage"] / fs, seed=seed)
        self.i_sensor = SensorModel(noise=0.002, lsb=noms["current"] / fs, lo=0.0, seed=seed + 1)
        self.requests = 0
        self.refusals = 0
        self.faults = SimFaults()
        #: telegrams received (damaged ones as None), oldest first, bounded
        self.received: deque[Telegram | None] = deque(maxlen=10_000)

    # -- state helpers -----------------------------------------------------------------------------
    @property
    def input_on(self) -> bool:
        return self.stage.input_on

    def setpoint(self, quantity: str) -> float:
        return self.scaling.to_physical(self.raw.get(f"set_{quantity}", 0), quantity)

    def force_local(self) -> None:
        """Remote dropped by the device (operator pressed Local, analogue interface took over)."""
        self.remote = False

    def _sync_stage(self) -> None:
        st = self.stage
        st.mode = self.mode
        st.set_current_a = self.setpoint("current")
        st.set_power_w = self.setpoint("power")
        st.set_voltage_v = self.setpoint("voltage")
        st.update()

    def regulation(self) -> str:
        return self.stage.regulation or self.mode

    # -- telegrams ---------------------------------------------------------------------------------
    def on_discarded(self, d: Discarded) -> Telegram | None:
        """A damaged telegram: the device answers 'checksum wrong'; garbage gets no answer."""
        if d.reason == CHECKSUM:
            self.received.append(None)
            self.refusals += 1
            return status_answer(CHECKSUM_WRONG, self.answer_node)
        return None

    def wire_answers(self, reply: Telegram, request: Telegram | None) -> list[Telegram]:
        """What goes on the line for ``reply`` under the fault modes (nothing: it is lost)."""
        f = self.faults
        if f.drop_query_answers and request is not None and request.kind is Kind.QUERY:
            return []
        out = []
        if f.late_acks:
            f.late_acks -= 1
            out.append(status_answer(OK, self.answer_node))
        out.append(reply)
        if f.duplicate_answers:
            f.duplicate_answers -= 1
            out.append(reply)
        return out

    def wire_bytes(self, reply: Telegram, request: Telegram | None) -> bytes:
        """:meth:`wire_answers` encoded, each damaged with the probability ``corrupt_ratio``."""
        out = bytearray()
        for t in self.wire_answers(reply, request):
            raw = bytearray(t.encode())
            if self.faults.corrupt_ratio and self.faults.rng.random() < self.faults.corrupt_ratio:
                raw[-1] ^= 0x5A
            out += raw
        return bytes(out)

    def handle(self, t: Telegram) -> Telegram | None:
        self.requests += 1
        self.received.append(t)
        code = self._check(t)
        if code is not None:
            self.refusals += 1
            return status_answer(code, self.answer_node)
        spec = self.profile.by_number(t.obj)
        assert spec is not None
        if t.kind is Kind.QUERY:
            self.stage.update()
            return answer(spec.number, encode(spec, self._read(spec), self.scaling), self.answer_node)
        code = self._write(spec, t.data)
        if code:
            self.refusals += 1
        return status_answer(code, self.answer_node)

    def _check(self, t: Telegram) -> int | None:
        if t.node not in self.accept_nodes:
            return WRONG_NODE
        spec = self.profile.by_number(t.obj) if t.obj != ERROR_OBJECT else None
        if spec is None:
            return UNDEFINED
        if t.kind is Kind.QUERY:
            if not spec.readable:
                return NO_ACCESS
            if not spec.accepts_query(t.length_field):
                return BAD_LENGTH
            return None
        if not spec.writable:
            return NO_ACCESS
        if len(t.data) != spec.length:
            return BAD_LENGTH
        return None

    # -- reads -------------------------------------------------------------------------------------
    def _read(self, spec: ObjectSpec) -> Any:
        role, ident = spec.role, self.identity
        if spec.type == "string":
            own = {"device_type": ident.device_type, "serial": ident.serial, "firmware": ident.firmware}
            return own.get(role, ident.strings.get(role, ""))
        if role.startswith("nominal_"):
            return ident.nominals.get(role.removeprefix("nominal_"), 0.0)
        if role == "ah_counter":
            return self.stage.ah
        if spec.type == "mask":
            return (0x00, self._control_byte())
        if spec.type == "struct":
            return self._struct(spec)
        if spec.type == "bytes":
            words = [self.raw.get(f"set_{q}", 0) for q in ("voltage", "current", "power")]
            data = b"".join(w.to_bytes(2, "big") for w in words)
            return data[: spec.length].ljust(spec.length, b"\0")
        if spec.type == "float":
            return 0.0
        return self.scaling.to_physical(self.raw.get(role, 0), spec.scale)

    def _struct(self, spec: ObjectSpec) -> dict[str, float]:
        values: dict[str, float] = {f.name: 0 for f in spec.fields}
        noms = self.identity.nominals
        top = 65535 * 1.0 / self.profile.full_scale  # largest value a word can carry, per unit nominal
        if spec.role == "actual":
            v = self.v_sensor.measure(self.world.voltage())
            i = self.i_sensor.measure(self.stage.sink_a) if self.stage.sink_a > 0 else 0.0
            measured = {"voltage": v, "current": i, "power": v * i}
            for q, x in measured.items():
                values[q] = min(max(x, 0.0), noms[q] * top)
        elif spec.role == "set_values":
            for q in ("voltage", "current", "power"):
                values[q] = self.setpoint(q)
        status = self.profile.status
        if status is not None and status.object == spec.role:
            ints = status.encode(
                {k: int(v) for k, v in values.items() if (fs := spec.field(k)) and fs.scale is None},
                remote=self.remote,
                input_on=self.input_on,
                mode=self.regulation(),
                alarms=frozenset(self.alarms),
            )
            values.update(ints)
        return {k: v for k, v in values.items() if spec.field(k) is not None}

    def _control_byte(self) -> int:
        ctl = self.profile.control
        if ctl is None:
            return 0
        out = 0
        for name, on in (("remote_on", self.remote), ("input_on", self.input_on)):
            if on and name in ctl.actions:
                out |= ctl.actions[name][1]
        mode = ctl.actions.get(f"mode_{self.mode.lower()}")
        if mode is not None:
            out |= mode[1]
        return out

    # -- writes ------------------------------------------------------------------------------------
    def _write(self, spec: ObjectSpec, data: bytes) -> int:
        ctl = self.profile.control
        if ctl is not None and spec.role == ctl.object:
            return self._apply_control(data[0], data[1])
        if not self.remote:
            return NO_ACCESS
        if spec.type == "u16":
            raw = int.from_bytes(data, "big")
            if spec.max_raw is not None and raw > spec.max_raw:
                return UPPER_LIMIT
            self.raw[spec.role] = raw
        else:
            self.raw[spec.role] = int(decode(spec, data, self.scaling)) if spec.type == "u8" else 0
        self._sync_stage()
        return OK

    def _apply_control(self, mask: int, value: int) -> int:
        ctl = self.profile.control
        assert ctl is not None
        acts = ctl.actions
        rmask, ron = acts.get("remote_on", (0, 0))
        remote = (value & rmask) == ron if mask & rmask else self.remote
        if mask & ~rmask and not remote:
            return NO_ACCESS
        self.remote = remote
        imask, ion = acts.get("input_on", (0, 0))
        if imask and mask & imask:
            on = (value & imask) == ion
            if on or not self.faults.ignore_input_off:
                self.stage.input_on = on
        for m in MODES:
            sel = acts.get(f"mode_{m.lower()}")
            if sel is not None and mask & sel[0] == sel[0] and value & sel[0] == sel[1]:
                self.mode = m
                break
        ack = acts.get("acknowledge_alarms")
        if ack is not None and mask & ack[0] == ack[0] and value & ack[0] == ack[1]:
            self.alarms.clear()
        self._sync_stage()
        return OK
