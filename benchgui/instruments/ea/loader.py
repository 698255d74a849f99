"""Load and validate device profiles from TOML (``profiles/*.toml`` or a corrected copy).

A profile is chosen by name (``el3000``, or an alias such as ``el3160-60``) among the files in
``profiles/``, or by the path of a TOML file — so a wrong object number is corrected by editing
(a copy of) the profile, never the code. Everything is validated on loading and a mistake names
the offending key (:class:`~.objects.ProfileError`, a :class:`~benchgui.errors.ConfigError`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchgui.instruments.ea.objects import (
    ALARMS,
    MODES,
    ControlSpec,
    FlagSpec,
    ModeSpec,
    Profile,
    ProfileError,
    StatusSpec,
)
from benchgui.instruments.ea.values import ACCESS, FIELD_TYPES, SCALES, TYPES, FieldSpec, ObjectSpec

PROFILE_DIR = Path(__file__).with_name("profiles")


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    """A profile name, alias or TOML path → the file."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ProfileError("instruments.ea.profile", f"profile file {path} not found")
        return path
    want = name_or_path.lower()
    for path in sorted(PROFILE_DIR.glob("*.toml")):
        if path.stem == want:
            return path
    for path in sorted(PROFILE_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            aliases = tomllib.load(fh).get("profile", {}).get("aliases", [])
        if want in [str(a).lower() for a in aliases]:
            return path
    raise ProfileError(
        "instruments.ea.profile",
        f"unknown profile {name_or_path!r}; known: {', '.join(available_profiles())} "
        "(or the path of a .toml file)",
    )


def load_profile(name_or_path: str = "el3000") -> Profile:
    path = resolve(name_or_path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError("", f"not valid TOML: {exc}", str(path)) from None
    except OSError as exc:
        raise ProfileError("", f"cannot read: {exc}", str(path)) from None
    return parse_profile(data, str(path))


def parse_profile(data: Mapping[str, Any], path: str = "<profile>") -> Profile:
    """Validate a profile table (as loaded from TOML)."""
    _Checker.unknown(data, ("profile", "objects", "status", "control"), "", path)
    head = _Checker(data.get("profile"), "profile", path)
    head.keys(
        (
            "name",
            "description",
            "aliases",
            "kind",
            "full_scale",
            "max_node",
            "default_nominals",
            "accept_length_0",
        )
    )
    name = head.string("name")
    full_scale = head.integer("full_scale", 25600, 1, 65535)
    max_node = head.integer("max_node", 30, 0, 255)
    kind = head.choice("kind", ("load", "supply"), "load")
    length_0 = head.boolean("accept_length_0", False)  # default of every object's own key
    aliases = tuple(str(a).lower() for a in head.list_of("aliases", str))
    noms = _Checker(head.table("default_nominals"), "profile.default_nominals", path)
    noms.keys(SCALES)
    nominals = {k: noms.number(k, None, 1e-9, 1e9) for k in noms.data}

    objects_tab = data.get("objects")
    if not isinstance(objects_tab, dict) or not objects_tab:
        raise ProfileError("objects", "must be a table of objects", path)
    objects: dict[str, ObjectSpec] = {}
    numbers: dict[int, str] = {}
    for role, table in objects_tab.items():
        spec = _parse_object(role, table, path, length_0)
        if spec.number in numbers:
            raise ProfileError(
                f"objects.{role}.number", f"{spec.number} is also used by {numbers[spec.number]}", path
            )
        numbers[spec.number] = role
        objects[role] = spec

    status = _parse_status(data.get("status"), objects, path) if "status" in data else None
    control = _parse_control(data.get("control"), objects, path) if "control" in data else None
    return Profile(
        name=name,
        description=head.string("description", ""),
        kind=kind,
        objects=objects,
        default_nominals=nominals,
        full_scale=full_scale,
        max_node=max_node,
        aliases=aliases,
        status=status,
        control=control,
        path=path,
    )


def _parse_object(role: str, table: Any, path: str, length_0: bool = False) -> ObjectSpec:
    key = f"objects.{role}"
    c = _Checker(table, key, path)
    c.keys(
        (
            "number",
            "type",
            "length",
            "access",
            "query_length",
            "scale",
            "max_raw",
            "fields",
            "confirmed",
            "description",
            "accept_length_0",
        )
    )
    number = c.integer("number", None, 0, 254)
    typ = c.choice("type", TYPES, None)
    length = c.integer("length", None, 1, 16)
    access = c.choice("access", ACCESS, "ro")
    scale = c.choice("scale", SCALES, None) if "scale" in c.data else None
    if scale is not None and typ != "u16":
        raise ProfileError(f"{key}.scale", "only u16 values are scaled", path)
    default_q = length if typ != "string" else 1
    query_length = c.integer("query_length", default_q, 1, 16)
    max_raw = c.integer("max_raw", None, 0, 65535) if "max_raw" in c.data else None
    fields: tuple[FieldSpec, ...] = ()
    if typ == "struct":
        raw_fields = c.data.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise ProfileError(f"{key}.fields", "a struct needs a list of fields", path)
        parsed = []
        for i, f in enumerate(raw_fields):
            fc = _Checker(f, f"{key}.fields[{i}]", path)
            fc.keys(("name", "type", "scale"))
            ftype = fc.choice("type", FIELD_TYPES, None)
            fscale = fc.choice("scale", SCALES, None) if "scale" in fc.data else None
            if fscale is not None and ftype != "u16":
                raise ProfileError(f"{key}.fields[{i}].scale", "only u16 fields are scaled", path)
            parsed.append(FieldSpec(fc.string("name"), ftype, fscale))
        names = [f.name for f in parsed]
        if len(set(names)) != len(names):
            raise ProfileError(f"{key}.fields", "field names must be unique", path)
        size = sum(f.size for f in parsed)
        if size != length:
            raise ProfileError(f"{key}.length", f"is {length} but the fields take {size} bytes", path)
        fields = tuple(parsed)
    elif "fields" in c.data:
        raise ProfileError(f"{key}.fields", "only struct objects have fields", path)
    fixed = {"float": 4, "u8": 1, "u16": 2, "mask": 2}.get(typ)
    if fixed is not None and length != fixed:
        raise ProfileError(f"{key}.length", f"a {typ} object has {fixed} data bytes, not {length}", path)
    return ObjectSpec(
        role=role,
        number=number,
        type=typ,
        length=length,
        access=access,
        query_length=query_length,
        scale=scale,
        max_raw=max_raw,
        fields=fields,
        confirmed=c.boolean("confirmed", True),
        description=c.string("description", ""),
        accept_length_0=c.boolean("accept_length_0", length_0),
    )


def _parse_status(table: Any, objects: Mapping[str, ObjectSpec], path: str) -> StatusSpec:
    c = _Checker(table, "status", path)
    c.keys(("object", "confirmed", "remote", "input_on", "mode", *ALARMS))
    obj_role = c.string("object")
    obj = objects.get(obj_role)
    if obj is None or obj.type != "struct":
        raise ProfileError("status.object", f"{obj_role!r} is not a struct object of this profile", path)

    def field_of(fc: _Checker) -> str:
        name = fc.string("field")
        if obj.field(name) is None:
            raise ProfileError(f"{fc.key}.field", f"object {obj_role} has no field {name!r}", path)
        return name

    flags: dict[str, FlagSpec] = {}
    for name in ("remote", "input_on", *ALARMS):
        if name not in c.data:
            continue
        fc = _Checker(c.data[name], f"status.{name}", path)
        fc.keys(("field", "mask", "on"))
        mask = fc.integer("mask", None, 1, 0xFFFF)
        on = fc.integer("on", mask, 0, 0xFFFF)
        if on & ~mask:
            raise ProfileError(f"status.{name}.on", "has bits outside the mask", path)
        flags[name] = FlagSpec(field_of(fc), mask, on)
    mode = None
    if "mode" in c.data:
        mc = _Checker(c.data["mode"], "status.mode", path)
        mc.keys(("field", "mask", "values"))
        mask = mc.integer("mask", None, 1, 0xFFFF)
        vc = _Checker(mc.table("values"), "status.mode.values", path)
        values: dict[int, str] = {}
        for k in vc.data:
            if not str(k).isdigit():
                raise ProfileError(f"status.mode.values.{k}", "keys are the numeric mode codes", path)
            values[int(k)] = vc.choice(k, MODES, None)
        mode = ModeSpec(field_of(mc), mask, values)
    return StatusSpec(obj_role, flags, mode, c.boolean("confirmed", True))


def _parse_control(table: Any, objects: Mapping[str, ObjectSpec], path: str) -> ControlSpec:
    c = _Checker(table, "control", path)
    obj_role = c.string("object")
    obj = objects.get(obj_role)
    if obj is None or obj.type != "mask" or not obj.writable:
        raise ProfileError("control.object", f"{obj_role!r} is not a writable mask object", path)
    actions: dict[str, tuple[int, int]] = {}
    for name, value in c.data.items():
        if name in ("object", "select_mode_on_set"):
            continue
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)
        ):
            raise ProfileError(f"control.{name}", f"must be [mask, value] bytes, got {value!r}", path)
        if value[1] & ~value[0]:
            raise ProfileError(f"control.{name}", "the value has bits outside the mask", path)
        actions[name] = (value[0], value[1])
    return ControlSpec(obj_role, actions, c.boolean("select_mode_on_set", False))


class _Checker:
    """Typed access to one TOML table with errors naming the key."""

    def __init__(self, data: Any, key: str, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ProfileError(key, f"must be a table, got {type(data).__name__}", path)
        self.data, self.key, self.path = data, key, path

    @staticmethod
    def unknown(data: Mapping[str, Any], known: tuple[str, ...], key: str, path: str) -> None:
        for k in data:
            if k not in known:
                where = f"{key}.{k}" if key else k
                raise ProfileError(where, f"unknown key (known keys: {', '.join(known)})", path)

    def keys(self, known: tuple[str, ...]) -> None:
        self.unknown(self.data, known, self.key, self.path)

    def _get(self, name: str, default: Any) -> Any:
        if name in self.data:
            return self.data[name]
        if default is None:
            raise ProfileError(f"{self.key}.{name}", "missing", self.path)
        return default

    def _err(self, name: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.key}.{name}", problem, self.path)

    def string(self, name: str, default: str | None = None) -> str:
        v = self._get(name, default)
        if not isinstance(v, str) or (default is None and not v):
            raise self._err(name, f"must be a non-empty string, got {v!r}")
        return v

    def boolean(self, name: str, default: bool) -> bool:
        v = self.data.get(name, default)
        if not isinstance(v, bool):
            raise self._err(name, f"must be true or false, got {v!r}")
        return v

    def integer(self, name: str, default: int | None, lo: int, hi: int) -> int:
        v = self._get(name, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self._err(name, f"must be an integer in {lo}..{hi}, got {v!r}")
        return v

    def number(self, name: str, default: float | None, lo: float, hi: float) -> float:
        v = self._get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise self._err(name, f"must be a number in {lo:g}..{hi:g}, got {v!r}")
        return float(v)

    def choice(self, name: str, choices: tuple[str, ...], default: str | None) -> str:
        v = self._get(name, default)
        if v not in choices:
            raise self._err(name, f"must be one of {', '.join(choices)}, got {v!r}")
        return str(v)

    def table(self, name: str) -> dict[str, Any]:
        v = self.data.get(name, {})
        if not isinstance(v, dict):
            raise self._err(name, "must be a table")
        return v

    def list_of(self, name: str, typ: type) -> list[Any]:
        v = self.data.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, typ) for x in v):
            raise self._err(name, f"must be a list of {typ.__name__}")
        return v
