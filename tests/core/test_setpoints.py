"""One validation path for load setpoints and Input on (issue 23 item 2), without Qt."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from benchgui.core.limits import Limits
from benchgui.core.programs.checks import check_program
from benchgui.core.programs.loader import parse_program_text
from benchgui.core.programs.model import ProgramError
from benchgui.core.safety import InterlockTripped
from benchgui.core.setpoints import CURRENT, POWER, LoadCommands, SetpointRefused, check_setpoint


class Load:
    """Records what would go to the device."""

    nominal_current_a = 60.0
    nominal_power_w = 400.0

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def set_current(self, amps: float) -> None:
        self.sent.append(("current", amps))

    async def set_power(self, watts: float) -> None:
        self.sent.append(("power", watts))

    async def set_input(self, on: bool) -> None:
        self.sent.append(("input", on))


def test_the_tightest_limit_refuses_with_its_name() -> None:
    limits = Limits(max_current_a=20.0, cutoff_voltage_v=10.5)
    with pytest.raises(SetpointRefused, match=r"25 A exceeds \[safety\] max_current_a \(20 A\)"):
        check_setpoint(CURRENT, 25.0, Load(), limits)
    with pytest.raises(SetpointRefused, match=r"70 A exceeds the load's rating \(60 A\)"):
        check_setpoint(CURRENT, 70.0, Load(), Limits(max_current_a=100.0))
    # constant power draws P/V, most at the cut-off: 20 A × 10.5 V = 210 W (inference)
    with pytest.raises(SetpointRefused, match="max_current_a at the cut-off voltage"):
        check_setpoint(POWER, 250.0, Load(), limits)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(SetpointRefused, match="must be a number"):
            check_setpoint(CURRENT, bad, Load(), limits)


def test_a_setpoint_near_its_limit_asks_first() -> None:
    limits = Limits(max_current_a=20.0, confirm_fraction=0.8)
    assert not check_setpoint(CURRENT, 16.0, Load(), limits).confirm
    near = check_setpoint(CURRENT, 17.0, Load(), limits)
    assert near.confirm
    assert "85% of [safety] max_current_a (20 A)" in near.question()
    assert not check_setpoint(CURRENT, 20.0, Load(), Limits(max_current_a=20.0, confirm_fraction=1.0)).confirm


def test_programs_go_through_the_same_check() -> None:
    p = parse_program_text('[[step]]\nkind = "cp"\npower_w = 300\nduration_s = 10\n')
    with pytest.raises(ProgramError, match=r"step\[0\]\.power_w: 300 W exceeds \[safety\] max_current_a at"):
        check_program(p, Load(), max_current_a=20.0, safety_cutoff_v=10.5)
    check_program(p, Load(), max_current_a=40.0, safety_cutoff_v=10.5)


class Services:
    def __init__(self, supervisor: object) -> None:
        self.supervisor = supervisor


class Bench:
    def __init__(self, load: Load, supervisor: object = None) -> None:
        self.load = load
        self.services = Services(supervisor)


class LatchedSupervisor:
    limits = Limits(max_current_a=20.0)

    def check_may_switch_on(self) -> None:
        raise InterlockTripped("safety trip not acknowledged: current +25.00 A beyond ±20 A")


def test_commands_refused_before_anything_is_sent() -> None:
    load = Load()
    cmds = LoadCommands(Bench(load, LatchedSupervisor()))  # type: ignore[arg-type]

    async def scenario() -> None:
        with pytest.raises(SetpointRefused):
            await cmds.set_setpoint(CURRENT, 25.0)
        with pytest.raises(InterlockTripped, match="not acknowledged"):
            await cmds.set_input(True)
        await cmds.set_input(False)  # off always goes out
        await cmds.set_setpoint(CURRENT, 5.0)

    asyncio.run(scenario())
    assert load.sent == [("input", False), ("current", 5.0)]
