"""Discharge programs as values: steps, end conditions, and the results a run produces.

A program is a tuple of steps; a :class:`LoopStep` holds steps of its own. Steps are frozen
dataclasses so a program can be shown, validated and run without anyone changing it underneath.
Results are plain mutable dataclasses the runner fills in while it goes; ``as_dict()`` gives the
JSON that events and ``run-program`` print.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from benchgui.errors import ConfigError

CUTOFF = "cutoff"  # until_voltage_below_v = "cutoff": the battery's cut-off voltage


class ProgramError(ConfigError):
    """A discharge program is invalid; ``key`` names the offending key (``step[2].current_a``)."""


@dataclass(frozen=True)
class Until:
    """End conditions of a step or loop; whichever is met first ends it."""

    voltage_below_v: float | Literal["cutoff"] | None = None
    ah: float | None = None  # discharged Ah in this step/loop ≥ this
    wh: float | None = None
    voltage_debounce_s: float = 0.5  # the voltage must stay below this long (sample time)

    def any(self) -> bool:
        return self.voltage_below_v is not None or self.ah is not None or self.wh is not None

    def describe(self) -> str:
        parts = []
        if self.voltage_below_v == CUTOFF:
            parts.append("V < cut-off")
        elif self.voltage_below_v is not None:
            parts.append(f"V < {self.voltage_below_v:g} V")
        if self.ah is not None:
            parts.append(f"Ah ≥ {self.ah:g}")
        if self.wh is not None:
            parts.append(f"Wh ≥ {self.wh:g}")
        return " or ".join(parts)


def _fmt_s(s: float) -> str:
    if s >= 3600 and s % 60 == 0:
        return f"{s / 3600:g} h"
    if s >= 120 and s % 60 == 0:
        return f"{s / 60:g} min"
    return f"{s:g} s"


def _ends(duration_s: float | None, until: Until) -> str:
    parts = [f"for {_fmt_s(duration_s)}"] if duration_s is not None else []
    if until.any():
        parts.append(f"until {until.describe()}")
    return " ".join(parts)


@dataclass(frozen=True)
class ConstantStep:
    """Constant current (``cc``, ``value`` in A) or constant power (``cp``, W)."""

    mode: Literal["cc", "cp"]
    value: float
    duration_s: float | None = None
    until: Until = Until()
    label: str = ""

    @property
    def kind(self) -> str:
        return self.mode

    def describe(self) -> str:
        unit = "A" if self.mode == "cc" else "W"
        return f"{self.mode.upper()} {self.value:g} {unit} {_ends(self.duration_s, self.until)}".strip()


@dataclass(frozen=True)
class RestStep:
    """Load input off for a time (the battery relaxes)."""

    duration_s: float
    label: str = ""
    kind: str = "rest"

    def describe(self) -> str:
        return f"Rest {_fmt_s(self.duration_s)}"


@dataclass(frozen=True)
class PulseStep:
    """``count`` pulses of ``current_a`` for ``on_s``, ``base_current_a`` for ``off_s`` between.

    The DC internal resistance ΔV/ΔI is measured at every rising edge: the last samples before
    the edge against the last samples before the pulse ends.
    """

    current_a: float
    on_s: float
    off_s: float
    count: int
    base_current_a: float = 0.0
    until: Until = Until()
    label: str = ""
    kind: str = "pulse"

    def describe(self) -> str:
        s = (
            f"Pulse {self.current_a:g} A {_fmt_s(self.on_s)} / {self.base_current_a:g} A "
            f"{_fmt_s(self.off_s)} × {self.count}"
        )
        return f"{s} until {self.until.describe()}" if self.until.any() else s


@dataclass(frozen=True)
class ProfileStep:
    """A current profile (e.g. a drive cycle) played on the load: ``segments`` are
    (duration_s, current_a) after resampling to what the load can follow."""

    segments: tuple[tuple[float, float], ...]
    source: str = ""  # the CSV it came from (for display)
    interval_s: float = 1.0
    repeat: int = 1
    until: Until = Until()
    label: str = ""
    clipped: int = 0  # points below zero (regeneration) that a load cannot follow
    kind: str = "profile"

    @property
    def duration_s(self) -> float:
        return sum(d for d, _ in self.segments)

    @property
    def peak_a(self) -> float:
        return max((i for _, i in self.segments), default=0.0)

    def describe(self) -> str:
        name = self.source.rsplit("/", 1)[-1] or "profile"
        s = f"Profile {name}: {_fmt_s(round(self.duration_s, 1))}, ≤ {self.peak_a:.2f} A"
        if self.repeat > 1:
            s += f" × {self.repeat}"
        return f"{s} until {self.until.describe()}" if self.until.any() else s


@dataclass(frozen=True)
class LoopStep:
    """Run ``steps`` ``count`` times (or until a condition of the loop is met)."""

    steps: tuple[Step, ...]
    count: int
    until: Until = Until()
    label: str = ""
    kind: str = "loop"

    def describe(self) -> str:
        s = f"Loop × {self.count} ({len(self.steps)} steps)"
        return f"{s} until {self.until.describe()}" if self.until.any() else s


Step = ConstantStep | RestStep | PulseStep | ProfileStep | LoopStep


@dataclass(frozen=True)
class Program:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    voltage_channel: str = ""  # empty: the reference (LabJack), then MPPT, then load
    current_channel: str = ""
    charger: Literal["off", "allow"] = "allow"  # "off": no charging while it runs (see runner)
    path: str = ""  # the file it was loaded from, if any
    text: str = ""  # its TOML text (what the panel's editor shows)

    def leaf_count(self) -> int:
        return count_leaves(self.steps)


def count_leaves(steps: tuple[Step, ...]) -> int:
    """Steps that run (loops expanded), for progress."""
    n = 0
    for s in steps:
        n += s.count * count_leaves(s.steps) if isinstance(s, LoopStep) else 1
    return n


def is_capacity_type(steps: tuple[Step, ...]) -> bool:
    """A program that discharges to a voltage (and so gives a capacity result): any step or
    loop with ``until_voltage_below_v``. Its charger is off by default."""
    for s in steps:
        until = getattr(s, "until", None)
        if until is not None and until.voltage_below_v is not None:
            return True
        if isinstance(s, LoopStep) and is_capacity_type(s.steps):
            return True
    return False


def iter_steps(steps: tuple[Step, ...], prefix: str = "") -> list[tuple[str, Step, int]]:
    """(path, step, depth) for every step in display order (loops not expanded)."""
    out: list[tuple[str, Step, int]] = []
    for i, s in enumerate(steps, 1):
        path = f"{prefix}{i}"
        out.append((path, s, path.count(".")))
        if isinstance(s, LoopStep):
            out.extend(iter_steps(s.steps, path + "."))
    return out


# -- results --------------------------------------------------------------------------------------
@dataclass
class PulseResult:
    pulse: int
    t_ns: int
    v0: float | None = None
    i0: float | None = None
    v1: float | None = None
    i1: float | None = None
    dcir_ohm: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepResult:
    """One executed step (a step inside a loop gives one result per pass: path ``3.1#2``)."""

    path: str
    kind: str
    label: str
    started_ns: int
    duration_s: float = 0.0
    ah: float = 0.0
    wh: float = 0.0
    v_start: float | None = None
    v_end: float | None = None
    end: str = ""  # duration | voltage | ah | wh | abort | error | … ; empty while running
    pulses: list[PulseResult] = field(default_factory=list)

    @property
    def dcir_ohm(self) -> float | None:
        """Mean DC internal resistance over the pulses that gave one."""
        vals = [p.dcir_ohm for p in self.pulses if p.dcir_ohm is not None]
        return sum(vals) / len(vals) if vals else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dcir_ohm"] = self.dcir_ohm
        return d


@dataclass
class ProgramResult:
    name: str
    started_ns: int
    end_reason: str = ""  # completed | cutoff_voltage | … (see README)
    ah: float = 0.0
    wh: float = 0.0
    duration_s: float = 0.0
    capacity_ah: float | None = None  # set when the discharge ended on the cut-off voltage
    steps: list[StepResult] = field(default_factory=list)
    trip: dict[str, Any] | None = None
    error: str = ""
    load_input_on: bool | None = None
    voltage_channel: str = ""
    current_channel: str = ""
    charger: str = ""  # the program's setting: "off" | "allow"
    charger_off: bool | None = None  # charging was switched off for the run (None: no charger)
    charger_note: str = ""  # how (or why not)
    gaps: int = 0  # sample gaps the Ah/Wh integration could not bridge
    flagged: int = 0  # measuring-channel samples dropped as over range or suspect

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["steps"] = [s.as_dict() for s in self.steps]
        return d
