"""The charger interlock and the supervisor's margin, on the simulated bench (the MPPT on its wire:
ThingSet ``input/DcdcEn`` in the real driver and the simulator)."""

from __future__ import annotations

import asyncio

import pytest

from benchgui.core.programs.charging import ChargerNotOff
from benchgui.core.programs.loader import parse_program_text
from benchgui.core.programs.model import ProgramError
from tests.helpers import async_wait_until
from tests.safety_kit import runner, sim_bench, source, supervisor, wait_samples

pytestmark = pytest.mark.timeout(90)

CAPACITY = "[[step]]\nkind='cc'\ncurrent_a=2\nduration_s=20\nuntil_voltage_below_v='cutoff'\n"
SUNNY = {"simulation": {"sun": True}}  # 10:00 solar time: the charger charges from the start


def charger_enabled(asm) -> bool:  # type: ignore[no-untyped-def]
    """The simulated MPPT's DC/DC enable as its firmware model holds it."""
    return bool(source(asm, "mppt").simulator.model.tree["input"]["DcdcEn"].value)


async def test_a_capacity_program_switches_charging_off_and_back_on() -> None:
    async with sim_bench(wire=True, speed=20, config=SUNNY) as asm:
        await wait_samples(asm, "battery.current.mppt")
        r = runner(asm)
        program = parse_program_text(CAPACITY)
        assert program.charger == "off"  # the default for a program with a voltage condition
        await r.start(program)
        assert charger_enabled(asm) is False
        assert r.result is not None
        assert r.result.charger_off is True
        # the margin: the supervisor judges 0.2 V below the program's own condition while it runs
        assert supervisor(asm).interlocks.cutoff_v() == pytest.approx(10.3)
        result = await asyncio.wait_for(r.wait(), 60)
        assert result.end_reason == "completed"
        assert charger_enabled(asm) is True  # restored
        assert supervisor(asm).interlocks.cutoff_v() == pytest.approx(10.5)


async def test_charger_allow_leaves_charging_alone() -> None:
    async with sim_bench(wire=True, speed=20, config=SUNNY) as asm:
        await wait_samples(asm, "battery.current.mppt")
        r = runner(asm)
        program = parse_program_text("[program]\ncharger = 'allow'\n" + CAPACITY)
        await r.start(program)
        assert charger_enabled(asm) is True
        result = await asyncio.wait_for(r.wait(), 60)
        assert (result.charger, result.charger_off) == ("allow", False)


async def test_a_charger_that_cannot_be_switched_off_refuses_the_program() -> None:
    async with sim_bench(wire=True, speed=20, config=SUNNY) as asm:
        await wait_samples(asm, "battery.current.mppt")
        # firmware without the DC/DC enable (e.g. a PWM board: PwmEn instead)
        del source(asm, "mppt").simulator.model.tree["input"]["DcdcEn"]
        await async_wait_until(
            lambda: (asm.bench.display.latest("battery.current.mppt") or (0, 0))[1] > 0.1, 30
        )
        r = runner(asm)
        with pytest.raises(ChargerNotOff) as err:
            await r.start(parse_program_text(CAPACITY))
        text = str(err.value)
        assert 'charger = "off"' in text
        assert "it is charging at +" in text
        assert "A on battery.current.mppt" in text
        assert 'charger = "allow"' in text
        assert not r.running
        assert asm.bench.load.input_on is False


async def test_cutoff_below_an_explicit_safety_cutoff_is_refused() -> None:
    """The margin may only lower the supervisor's cut-off below a program condition that is at
    or above the safety limit: "cutoff" (10.5 V) under [safety] cutoff_voltage_v = 11 is refused."""
    async with sim_bench(speed=20, config={"safety": {"cutoff_voltage_v": 11.0}}) as asm:
        await wait_samples(asm, "battery.voltage.labjack")
        with pytest.raises(ProgramError) as err:
            await runner(asm).start(parse_program_text(CAPACITY))
        assert err.value.key == "step[0].until_voltage_below_v"
        assert '"cutoff" (10.5 V) is below the safety cut-off 11 V' in str(err.value)
        assert asm.bench.load.input_on is False
