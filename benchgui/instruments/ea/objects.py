"""Device profiles: an EA device family's object table, status bits and control actions.

A :class:`Profile` is data — loaded from ``profiles/*.toml`` by :mod:`.loader` — so that an
object number that turns out wrong is corrected in the file, never in the code. This module
holds the model and the pure logic on it (decoding status bits, looking objects up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from benchgui.errors import BenchError, ConfigError
from benchgui.instruments.ea.values import ObjectSpec, Scaling

ALARMS = ("ovp", "ocp", "opp", "otp")
MODES = ("CC", "CV", "CP", "CR")


class ProfileError(ConfigError):
    """A profile file is invalid; ``key`` names the TOML key."""


class NotSupported(BenchError):
    """The device profile has no object for what was asked (e.g. no Ah counter on a PS 2000 B)."""


@dataclass(frozen=True)
class FlagSpec:
    field: str
    mask: int
    on: int

    def test(self, value: int) -> bool:
        return (value & self.mask) == self.on


@dataclass(frozen=True)
class ModeSpec:
    field: str
    mask: int
    values: Mapping[int, str]

    @property
    def shift(self) -> int:
        return (self.mask & -self.mask).bit_length() - 1

    def decode(self, value: int) -> str | None:
        return self.values.get((value & self.mask) >> self.shift)

    def code(self, mode: str) -> int | None:
        return next((k for k, v in self.values.items() if v == mode), None)


@dataclass(frozen=True)
class DeviceStatus:
    """Status bits as decoded by the profile (None: the profile cannot tell)."""

    remote: bool | None = None
    input_on: bool | None = None
    mode: str | None = None  # CC, CV, CP, CR
    alarms: frozenset[str] = frozenset()  # subset of ovp, ocp, opp, otp
    raw: tuple[int, ...] = ()


@dataclass(frozen=True)
class StatusSpec:
    object: str
    flags: Mapping[str, FlagSpec]  # remote, input_on, ovp, ocp, opp, otp
    mode: ModeSpec | None = None
    confirmed: bool = True

    def decode(self, fields: Mapping[str, float]) -> DeviceStatus:
        def flag(name: str) -> bool | None:
            spec = self.flags.get(name)
            return None if spec is None else spec.test(int(fields[spec.field]))

        alarms = frozenset(a for a in ALARMS if flag(a))
        mode = self.mode.decode(int(fields[self.mode.field])) if self.mode else None
        return DeviceStatus(
            flag("remote"), flag("input_on"), mode, alarms, tuple(int(v) for v in fields.values())
        )

    def encode(
        self,
        fields: Mapping[str, int],
        *,
        remote: bool,
        input_on: bool,
        mode: str | None,
        alarms: frozenset[str] = frozenset(),
    ) -> dict[str, int]:
        """The inverse, for a simulator: set the bits of ``fields`` (a copy is returned)."""
        out = {k: int(v) for k, v in fields.items()}

        def put(name: str, on: bool) -> None:
            spec = self.flags.get(name)
            if spec is not None:
                out[spec.field] = (out[spec.field] & ~spec.mask) | (spec.on if on else 0)

        put("remote", remote)
        put("input_on", input_on)
        for a in ALARMS:
            put(a, a in alarms)
        if self.mode is not None and mode is not None:
            code = self.mode.code(mode)
            if code is not None:
                m = self.mode
                out[m.field] = (out[m.field] & ~m.mask) | ((code << m.shift) & m.mask)
        return out


@dataclass(frozen=True)
class ControlSpec:
    object: str
    actions: Mapping[str, tuple[int, int]]  # remote_on, input_off, mode_cc … → (mask, value)
    select_mode_on_set: bool = False

    def action(self, name: str) -> tuple[int, int]:
        try:
            return self.actions[name]
        except KeyError:
            raise NotSupported(f"the device profile has no control action {name!r}") from None


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    kind: str  # load | supply
    objects: Mapping[str, ObjectSpec]
    default_nominals: Mapping[str, float]
    full_scale: int = 25600
    max_node: int = 30
    aliases: tuple[str, ...] = ()
    status: StatusSpec | None = None
    control: ControlSpec | None = None
    path: str = ""

    def has(self, role: str) -> bool:
        return role in self.objects

    def obj(self, role: str) -> ObjectSpec:
        try:
            return self.objects[role]
        except KeyError:
            raise NotSupported(f"the {self.name} profile has no {role!r} object") from None

    def by_number(self, number: int) -> ObjectSpec | None:
        return next((o for o in self.objects.values() if o.number == number), None)

    def scaling(self, nominals: Mapping[str, float] | None = None) -> Scaling:
        return Scaling(dict(nominals if nominals is not None else self.default_nominals), self.full_scale)

    def unconfirmed(self) -> list[str]:
        """Roles of objects no EA document confirms for this family (for docs and tooltips)."""
        return [f"{o.role} (object {o.number})" for o in self.objects.values() if not o.confirmed]
