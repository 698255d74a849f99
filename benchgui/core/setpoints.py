"""One validation path for load setpoints and for switching the input on, whatever sends them.

The Load panel, a program (GUI or ``run-program``) and anything else that commands the load ask
here *before* anything goes out. A setpoint above the load's nominal rating or the safety limits
is refused with a sentence naming the limit: sent anyway, the supervisor would trip seconds
after Input on (issue 23: 25 A typed with a 20 A limit). A setpoint above ``[safety]
confirm_fraction`` of its limit is allowed but marked, so the GUI asks first. Switching the
input on is refused while a safety trip is latched: the supervisor would switch it off again
milliseconds later, a current spike on the battery with nothing said.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchgui.errors import BenchError, ValueOutOfRange

if TYPE_CHECKING:
    from benchgui.core.bench import Bench
    from benchgui.core.limits import Limits
    from benchgui.core.safety import Supervisor

CURRENT = "current"
POWER = "power"
UNITS = {CURRENT: "A", POWER: "W"}


class SetpointRefused(ValueOutOfRange):
    """A setpoint beyond the load's rating or the safety limits; nothing was sent.

    ``reason`` is the bare judgement ("25 A exceeds [safety] max_current_a (20 A)"), for
    callers that say where the value came from (a program's key)."""

    def __init__(self, quantity: str, reason: str) -> None:
        self.quantity = quantity
        self.reason = reason
        super().__init__(f"{quantity} setpoint {reason}; nothing sent")


@dataclass(frozen=True)
class SetpointCheck:
    """A setpoint that may be sent: how close it is to the tightest limit that applies."""

    quantity: str
    value: float
    limit: float | None  # the tightest limit (None: nothing known to judge by)
    limit_name: str
    fraction: float  # value / limit (0.0 without a limit)
    confirm: bool  # above the confirmation fraction: the GUI asks before sending

    def question(self) -> str:
        """The sentence the GUI asks with."""
        unit = UNITS[self.quantity]
        return (
            f"{self.quantity.capitalize()} setpoint {self.value:g} {unit} is {self.fraction:.0%} of "
            f"{self.limit_name} ({self.limit:g} {unit}). Send it?"
        )


def rating(load: object, name: str) -> float | None:
    """A nominal of the load (``nominal_current_a``…), None while unknown (not identified)."""
    try:
        v = float(getattr(load, name))
    except (AttributeError, TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def limits_for(quantity: str, load: object, limits: Limits | None) -> list[tuple[float, str]]:
    """Every limit that applies to a setpoint of ``quantity``, as (value, name)."""
    found: list[tuple[float, str]] = []
    if quantity == CURRENT:
        nominal = rating(load, "nominal_current_a")
        if nominal is not None:
            found.append((nominal, "the load's rating"))
        if limits is not None:  # the operator's limit, even with the interlocks off for debugging
            found.append((limits.max_current_a, "[safety] max_current_a"))
    elif quantity == POWER:
        nominal = rating(load, "nominal_power_w")
        if nominal is not None:
            found.append((nominal, "the load's rating"))
        if limits is not None and limits.cutoff_voltage_v > 0:
            # inference: constant power draws P/V, most at the lowest voltage the supervisor
            # allows, so the over-current interlock would trip above max_current_a × cut-off
            found.append(
                (
                    limits.max_current_a * limits.cutoff_voltage_v,
                    "[safety] max_current_a at the cut-off voltage",
                )
            )
    else:
        raise ValueError(f"unknown setpoint quantity {quantity!r}")
    return found


def check_setpoint(
    quantity: str, value: float, load: object, limits: Limits | None, *, confirm_fraction: float | None = None
) -> SetpointCheck:
    """Judge a setpoint against the load's rating and the safety limits; raises
    :class:`SetpointRefused` with the reason when it must not be sent."""
    unit = UNITS.get(quantity, "")
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise SetpointRefused(quantity, f"{value!r} {unit}: must be a number ≥ 0")
    found = limits_for(quantity, load, limits)
    if not found:
        return SetpointCheck(quantity, float(value), None, "", 0.0, False)
    limit, name = min(found, key=lambda x: x[0])
    if value > limit:
        raise SetpointRefused(quantity, f"{value:g} {unit} exceeds {name} ({limit:g} {unit})")
    fraction = value / limit
    if confirm_fraction is None:
        confirm_fraction = limits.confirm_fraction if limits is not None else 1.0
    return SetpointCheck(quantity, float(value), limit, name, fraction, fraction > confirm_fraction)


def check_input_on(supervisor: Supervisor | None) -> None:
    """Refuse switching the load input on while a safety trip is latched (raises
    :class:`~benchgui.core.safety.InterlockTripped` naming the trip)."""
    if supervisor is not None:
        supervisor.check_may_switch_on()


class LoadCommands:
    """The load's commands with the checks in front: what the Load panel sends through."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench

    @property
    def limits(self) -> Limits | None:
        sup = self.bench.services.supervisor
        return sup.limits if sup is not None else None

    def check(self, quantity: str, value: float) -> SetpointCheck:
        """Raises :class:`SetpointRefused`; the result says whether to ask first."""
        return check_setpoint(quantity, value, self.bench.load, self.limits)

    def check_input_on(self) -> None:
        check_input_on(self.bench.services.supervisor)

    async def set_setpoint(self, quantity: str, value: float) -> None:
        """Check again (limits may have changed while the operator was asked), then send."""
        self.check(quantity, value)
        load = self.bench.load
        if load is None:
            raise BenchError("there is no electronic load on this bench")
        if quantity == CURRENT:
            await load.set_current(value)
        else:
            await load.set_power(value)

    async def set_input(self, on: bool) -> None:
        """Input off always goes out; input on only without a latched trip."""
        if on:
            self.check_input_on()
        load = self.bench.load
        if load is None:
            raise BenchError("there is no electronic load on this bench")
        await load.set_input(on)
