"""Read discharge programs from TOML, with errors that name the key (``step[2].current_a: …``).

The format (README, "Discharge programs and safety")::

    [program]
    name = "Discharge 5 A to cut-off"

    [[step]]
    kind = "cc"                        # cc | cp | rest | pulse | profile | loop
    current_a = 5.0
    until_voltage_below_v = "cutoff"   # or a number; also until_ah, until_wh, duration_s

Each kind is a small dataclass checked by :func:`benchgui.config.validate.from_dict`, so a
wrong type, an unknown key or a value out of range is reported exactly like a config error.
This is the only place that reads program files (the GUI panel calls it; widgets do no I/O).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from benchgui.config.loader import read_text_capped
from benchgui.config.validate import from_dict
from benchgui.core.programs.model import (
    CUTOFF,
    ConstantStep,
    LoopStep,
    ProfileStep,
    Program,
    ProgramError,
    PulseStep,
    RestStep,
    Step,
    Until,
    is_capacity_type,
)
from benchgui.core.programs.profile import read_profile_csv, resample
from benchgui.errors import ConfigError

_POS = {"min": 0.0}
_DUR = {"min": 0.001, "max": 10 * 86400.0}


@dataclass(frozen=True)
class _UntilSpec:
    until_voltage_below_v: float | str | None = None
    until_ah: float | None = field(default=None, metadata={"min": 0.0001, "max": 10000})
    until_wh: float | None = field(default=None, metadata={"min": 0.0001, "max": 1e6})
    voltage_debounce_s: float = field(default=0.5, metadata={"min": 0, "max": 60})
    label: str = ""

    def until(self, key: str) -> Until:
        v = self.until_voltage_below_v
        if isinstance(v, str) and v != CUTOFF:
            raise ProgramError(f"{key}.until_voltage_below_v", f'must be a number or "cutoff", got {v!r}')
        if isinstance(v, float) and not 0 < v < 1000:
            raise ProgramError(f"{key}.until_voltage_below_v", f"must be between 0 and 1000 V, got {v!r}")
        return Until(
            "cutoff" if isinstance(v, str) else v,  # a str is "cutoff" by now
            self.until_ah,
            self.until_wh,
            self.voltage_debounce_s,
        )


@dataclass(frozen=True)
class _CcSpec(_UntilSpec):
    current_a: float = field(default=-1.0, metadata=_POS)
    duration_s: float | None = field(default=None, metadata=_DUR)


@dataclass(frozen=True)
class _CpSpec(_UntilSpec):
    power_w: float = field(default=-1.0, metadata=_POS)
    duration_s: float | None = field(default=None, metadata=_DUR)


@dataclass(frozen=True)
class _RestSpec:
    duration_s: float = field(default=-1.0, metadata=_DUR)
    label: str = ""


@dataclass(frozen=True)
class _PulseSpec(_UntilSpec):
    current_a: float = field(default=-1.0, metadata=_POS)
    base_current_a: float = field(default=0.0, metadata=_POS)
    on_s: float = field(default=-1.0, metadata=_DUR)
    off_s: float = field(default=-1.0, metadata=_DUR)
    count: int = field(default=0, metadata={"min": 1, "max": 100000})


@dataclass(frozen=True)
class _ProfileSpec(_UntilSpec):
    csv: str = ""
    time_column: str = ""
    current_column: str = ""
    current_sign: str = field(default="load", metadata={"choices": ("load", "battery")})
    scale: float = field(default=1.0, metadata={"min": 0.0001, "max": 1000})
    interval_s: float = field(default=1.0, metadata={"min": 0.05, "max": 3600})
    repeat: int = field(default=1, metadata={"min": 1, "max": 100000})


@dataclass(frozen=True)
class _LoopSpec(_UntilSpec):
    count: int = field(default=0, metadata={"min": 1, "max": 100000})
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _ProgramSpec:
    name: str = ""
    description: str = ""
    voltage_channel: str = ""
    current_channel: str = ""
    # "off": charging switched off while the program runs; "allow": left alone; "auto" (the
    # default): off for capacity-type programs (those with a voltage end condition)
    charger: Literal["auto", "off", "allow"] = "auto"


KINDS: dict[str, type] = {
    "cc": _CcSpec,
    "cp": _CpSpec,
    "rest": _RestSpec,
    "pulse": _PulseSpec,
    "profile": _ProfileSpec,
    "loop": _LoopSpec,
}

# keys without a usable default: (field, sentinel)
_REQUIRED = {
    "cc": ("current_a",),
    "cp": ("power_w",),
    "rest": ("duration_s",),
    "pulse": ("current_a", "on_s", "off_s", "count"),
    "profile": ("csv",),
    "loop": ("count", "steps"),
}


def _spec(kind_cls: type, table: dict[str, Any], key: str, kind: str) -> Any:
    try:
        spec: Any = from_dict(kind_cls, table, key)  # unknown keys, wrong types first: a typo is the cause
    except ProgramError:
        raise
    except ConfigError as exc:
        raise ProgramError(exc.key, exc.problem) from None
    for name in _REQUIRED[kind]:
        if name not in table:
            known = ", ".join(f.name for f in fields(kind_cls))
            raise ProgramError(f"{key}.{name}", f"required for a {kind!r} step (keys: kind, {known})")
    return spec


def parse_step(table: Any, key: str, base_dir: Path | None) -> Step:
    """One ``[[step]]`` table → a step (``key`` is its name in error messages)."""
    if not isinstance(table, dict):
        raise ProgramError(key, f"must be a table, got {type(table).__name__}")
    rest = dict(table)
    kind = rest.pop("kind", None)
    if kind is None:
        raise ProgramError(f"{key}.kind", f"missing (one of {', '.join(KINDS)})")
    if kind not in KINDS:
        raise ProgramError(f"{key}.kind", f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    spec = _spec(KINDS[kind], rest, key, kind)
    if kind == "rest":
        return RestStep(spec.duration_s, spec.label)
    until = spec.until(key)
    if kind in ("cc", "cp"):
        if spec.duration_s is None and not until.any():
            raise ProgramError(
                key, "needs duration_s or an until_… condition (until_voltage_below_v, until_ah, until_wh)"
            )
        value = spec.current_a if kind == "cc" else spec.power_w
        return ConstantStep(kind, value, spec.duration_s, until, spec.label)
    if kind == "pulse":
        return PulseStep(
            spec.current_a, spec.on_s, spec.off_s, spec.count, spec.base_current_a, until, spec.label
        )
    if kind == "profile":
        return _profile(spec, until, key, base_dir)
    steps = tuple(parse_step(t, f"{key}.steps[{i}]", base_dir) for i, t in enumerate(spec.steps))
    if not steps:
        raise ProgramError(f"{key}.steps", "a loop needs at least one step")
    return LoopStep(steps, spec.count, until, spec.label)


def _profile_path(csv_path: str, base_dir: Path | None, key: str) -> Path:
    """The profile CSV, which must lie in the program's folder or below it (links resolved).

    A program someone hands you must not read other files: ``csv = "../../etc/shadow"`` used to
    quote a line of that file in the error (issue 22)."""
    if base_dir is None:
        raise ProgramError(
            key, "a profile CSV needs the program to be saved in a file first (it is read from its folder)"
        )
    root = base_dir.resolve()
    path = (root / Path(csv_path).expanduser()).resolve()
    if not path.is_relative_to(root):
        shown = repr(csv_path[:80])
        raise ProgramError(
            key, f"{shown} is outside the program's folder {root}: copy the profile next to the program"
        )
    return path


def _profile(spec: _ProfileSpec, until: Until, key: str, base_dir: Path | None) -> ProfileStep:
    path = _profile_path(spec.csv, base_dir, f"{key}.csv")
    try:
        prof = read_profile_csv(
            path,
            time_column=spec.time_column,
            current_column=spec.current_column,
            current_sign=spec.current_sign,
            key=f"{key}.csv",
        )
    except ProgramError:
        raise
    except ConfigError as exc:
        raise ProgramError(exc.key, exc.problem) from None
    segments, clipped = resample(prof, spec.interval_s, spec.scale)
    return ProfileStep(tuple(segments), spec.csv, spec.interval_s, spec.repeat, until, spec.label, clipped)


def parse_program(
    data: dict[str, Any], *, base_dir: Path | None = None, name: str = "", text: str = "", path: str = ""
) -> Program:
    """A parsed TOML document → :class:`Program`."""
    unknown = sorted(set(data) - {"program", "step"})
    if unknown:
        raise ProgramError(unknown[0], "unknown table (a program has [program] and [[step]] tables)")
    head = _spec_program(data.get("program", {}))
    steps_data = data.get("step")
    if not isinstance(steps_data, list) or not steps_data:
        raise ProgramError("step", "a program needs at least one [[step]] table")
    steps = tuple(parse_step(t, f"step[{i}]", base_dir) for i, t in enumerate(steps_data))
    charger = head.charger
    if charger == "auto":
        charger = "off" if is_capacity_type(steps) else "allow"
    return Program(
        name=head.name or name or "program",
        steps=steps,
        description=head.description,
        voltage_channel=head.voltage_channel,
        current_channel=head.current_channel,
        charger=charger,
        path=path,
        text=text,
    )


def _spec_program(table: Any) -> _ProgramSpec:
    if not isinstance(table, dict):
        raise ProgramError("program", "must be a table")
    try:
        return from_dict(_ProgramSpec, table, "program")
    except ConfigError as exc:
        raise ProgramError(exc.key, exc.problem) from None


def parse_program_text(text: str, *, base_dir: Path | None = None, name: str = "", path: str = "") -> Program:
    """Program from TOML text (the GUI editor); relative CSV paths are taken from ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgramError("", f"not valid TOML: {exc}", path or None) from None
    except RecursionError:  # tomllib recurses per nesting level: [[[[…]]]] exhausts the stack
        raise ProgramError("", "not valid TOML: nested too deeply", path or None) from None
    try:
        return parse_program(data, base_dir=base_dir, name=name, text=text, path=path)
    except ProgramError as exc:
        raise ProgramError(exc.key, exc.problem, path or None) from None
    except RecursionError:  # loops inside loops inside loops…
        raise ProgramError("step", "nested too deeply", path or None) from None


def load_program(path: str | Path) -> Program:
    """Read a program file (TOML, at most 1 MiB of UTF-8); profile CSVs are found relative to it."""
    p = Path(path).expanduser()
    try:  # size-capped, UTF-8, every read failure one line (as for the config file)
        text = read_text_capped(p)
    except ConfigError as exc:
        raise ProgramError(exc.key, exc.problem, exc.path) from None
    return parse_program_text(text, base_dir=p.resolve().parent, name=p.stem, path=str(p))


def save_program_text(path: str | Path, text: str) -> Program:
    """Check and write a program edited in the GUI; returns it parsed from its new place."""
    p = Path(path).expanduser()
    program = parse_program_text(text, base_dir=p.resolve().parent, name=p.stem, path=str(p))
    try:
        p.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ProgramError("", f"cannot write: {exc.strerror or exc}", str(p)) from None
    return program


def list_examples() -> list[Path]:
    """The example programs shipped in ``resources/programs`` (for the panel's menu)."""
    d = examples_dir()
    return sorted(d.glob("*.toml")) if d.is_dir() else []


def examples_dir() -> Path:
    """``benchgui/resources/programs``, in the wheel too (``resources/programs`` in the
    checkout links there)."""
    return Path(__file__).resolve().parents[2] / "resources" / "programs"
