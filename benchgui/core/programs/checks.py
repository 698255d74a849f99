"""Checks a program against the bench before it runs: the load's ratings and the safety limits.

A setpoint the load cannot do, or that the safety supervisor would trip on at once, is refused
before the load input is switched on — with the key that holds it, as for any program error.
"""

from __future__ import annotations

from benchgui.core.limits import Limits
from benchgui.core.programs.model import (
    CUTOFF,
    ConstantStep,
    LoopStep,
    ProfileStep,
    Program,
    ProgramError,
    PulseStep,
    Step,
)
from benchgui.core.setpoints import CURRENT, POWER, SetpointRefused, check_setpoint, limits_for


def check_program(
    program: Program,
    load: object,
    *,
    max_current_a: float | None = None,
    safety_cutoff_v: float | None = None,
    cutoff_v: float | None = None,
) -> None:
    """Raise :class:`ProgramError` naming the first step key the bench cannot run. Setpoints go
    through :func:`~benchgui.core.setpoints.check_setpoint`, the same path as the Load panel's."""
    limits = None
    if max_current_a is not None:
        cut = safety_cutoff_v if safety_cutoff_v is not None else 0.0
        limits = Limits(max_current_a=max_current_a, cutoff_voltage_v=cut)
    found = limits_for(CURRENT, load, limits)
    limit_i = min((v for v, _ in found), default=float("inf"))

    def check(key: str, quantity: str, value: float) -> None:
        try:
            check_setpoint(quantity, value, load, limits, confirm_fraction=1.0)
        except SetpointRefused as exc:
            raise ProgramError(key, exc.reason) from None

    def check_current(key: str, amps: float) -> None:
        check(key, CURRENT, amps)

    def walk(steps: tuple[Step, ...], prefix: str) -> None:
        for n, s in enumerate(steps):
            key = f"{prefix}[{n}]"
            if isinstance(s, ConstantStep):
                if s.mode == "cc":
                    check_current(f"{key}.current_a", s.value)
                else:
                    check(f"{key}.power_w", POWER, s.value)
            elif isinstance(s, PulseStep):
                check_current(f"{key}.current_a", s.current_a)
                check_current(f"{key}.base_current_a", s.base_current_a)
            elif isinstance(s, ProfileStep):
                if s.peak_a > limit_i:
                    raise ProgramError(
                        f"{key}.scale",
                        f"the resampled profile peaks at {s.peak_a:.2f} A, above {limit_i:g} A: "
                        "scale it down",
                    )
            elif isinstance(s, LoopStep):
                walk(s.steps, f"{key}.steps")
            until = getattr(s, "until", None)
            v = until.voltage_below_v if until is not None else None
            volts = cutoff_v if v == CUTOFF else v
            if safety_cutoff_v is not None and volts is not None and float(volts) < safety_cutoff_v:
                what = f'"cutoff" ({volts:g} V)' if v == CUTOFF else f"{volts:g} V"
                raise ProgramError(
                    f"{key}.until_voltage_below_v",
                    f"{what} is below the safety cut-off {safety_cutoff_v:g} V: "
                    "the supervisor would trip first",
                )

    walk(program.steps, "step")


def highest_voltage_condition(steps: tuple[Step, ...], cutoff_v: float) -> float | None:
    """The highest ``until_voltage_below_v`` anywhere in the program ("cutoff" resolved to
    ``cutoff_v``): the voltage condition that acts first, which the supervisor stays below."""
    found: list[float] = []
    for s in steps:
        until = getattr(s, "until", None)
        v = until.voltage_below_v if until is not None else None
        if v is not None:
            found.append(cutoff_v if v == CUTOFF else float(v))
        if isinstance(s, LoopStep):
            inner = highest_voltage_condition(s.steps, cutoff_v)
            if inner is not None:
                found.append(inner)
    return max(found, default=None)
