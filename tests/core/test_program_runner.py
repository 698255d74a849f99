"""The program runner on the simulated bench at ``--speed``: steps, conditions, results, load off."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from benchgui.core.programs.loader import examples_dir, load_program, parse_program_text
from benchgui.core.programs.runner import RunnerState
from benchgui.errors import BenchError, DeviceRefused
from benchgui.recording.store import Store
from tests.helpers import async_wait_until
from tests.safety_kit import WIRE_PARAMS, runner, sim_bench, slack_s, supervisor, wait_samples

pytestmark = pytest.mark.timeout(90)

# A small, nearly empty battery so a discharge to cut-off takes about a minute of bench time.
SMALL_EMPTY = {
    "simulation": {"capacity_ah": 2.0, "initial_soc_pct": 2.0},
    # the program's own condition (0.5 s debounce) must end the step before the supervisor's
    # cut-off trips; a long supervisor debounce keeps that margin large in real time too
    "safety": {"cutoff_debounce_s": 20.0},
}


async def run_to_end(asm, program, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    r = runner(asm)
    await r.start(program)
    return await asyncio.wait_for(r.wait(), timeout)


@pytest.mark.parametrize("wire", WIRE_PARAMS)
async def test_discharge_to_cutoff_example_stops_there_with_the_input_off(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=20, config=SMALL_EMPTY, record=True) as asm:
        await wait_samples(asm, "battery.voltage.labjack")
        program = load_program(examples_dir() / "discharge-5A-to-cutoff.toml")
        r = runner(asm)
        await r.start(program)
        # the first step ends on the cut-off voltage; abort the 10 min rest once it started
        await async_wait_until(lambda: len(r.result.steps) == 2, 60, what="rest step")  # type: ignore[union-attr]
        await async_wait_until(lambda: asm.bench.load.input_on is False, 30, what="input off at rest")
        r.abort()
        result = await asyncio.wait_for(r.wait(), 30)
        assert supervisor(asm).trip_state is None  # the program ended the step, not the supervisor
        session = asm.bench.session.id
        store_path = asm.bench.recorder.store_path
    discharge, rest = result.steps
    assert discharge.end == "voltage"
    assert discharge.v_end < 10.5
    assert discharge.v_end > 10.5 - 0.3
    assert result.capacity_ah == pytest.approx(discharge.ah, rel=0.01)
    assert discharge.ah == pytest.approx(5.0 * 0.96 * discharge.duration_s / 3600, rel=0.05)
    assert discharge.wh == pytest.approx(discharge.ah * 11.0, rel=0.1)
    assert rest.end == "operator_abort"
    assert result.end_reason == "operator_abort"
    assert result.load_input_on is False
    with Store(store_path, readonly=True) as store:
        kinds = [e.kind for e in store.events(session, "program.")]
    # a capacity program switches charging off for its run and back on at its end
    assert kinds[:3] == ["program.start", "program.charger", "program.step"]
    assert kinds[-2:] == ["program.charger", "program.end"]
    assert kinds.count("program.step.end") == 2
    assert kinds[-1] == "program.end"


async def test_supervisor_cutoff_ends_a_program_without_its_own_condition() -> None:
    cfg = {"simulation": {"capacity_ah": 2.0, "initial_soc_pct": 2.0}}
    async with sim_bench(speed=20, config=cfg) as asm:
        await wait_samples(asm, "battery.voltage.labjack")
        p = parse_program_text("[[step]]\nkind='cc'\ncurrent_a=5\nduration_s=36000\n")
        result = await run_to_end(asm, p)
        assert result.end_reason == "cutoff_voltage"
        assert result.capacity_ah == pytest.approx(result.ah)
        assert result.trip is not None
        assert result.trip["reason"] == "cutoff_voltage"
        assert result.load_input_on is False
        assert asm.bench.load.input_on is False


async def test_pulses_give_the_dc_internal_resistance() -> None:
    async with sim_bench(speed=20) as asm:
        await wait_samples(asm, "battery.voltage.labjack")
        p = parse_program_text(
            "[[step]]\nkind='pulse'\ncurrent_a=5\nbase_current_a=0.5\non_s=10\noff_s=20\ncount=3\n"
        )
        result = await run_to_end(asm, p)
        bat = asm.world.battery.params
    (step,) = result.steps
    assert result.end_reason == "completed"
    assert len(step.pulses) == 3
    # R0 + the RC branch charged for 10 s; the LabJack's LEM reads 4 % low (simulated gain 0.96)
    expected = (bat.r0_ohm + bat.r1_ohm * (1 - math.exp(-10 / bat.tau1_s))) / 0.96
    for pulse in step.pulses:
        assert pulse.dcir_ohm == pytest.approx(expected, rel=0.2)
    assert step.dcir_ohm == pytest.approx(expected, rel=0.15)
    # 3 × (10 s + 20 s); every hold may end late by the machine's latency × speed, but not by a
    # whole on period more
    assert 90 <= step.duration_s < 100


async def test_profile_plays_the_resampled_current(tmp_path: Path) -> None:
    (tmp_path / "cycle.csv").write_text("time_s,current_a\n0,1\n10,1\n10.5,4\n20,4\n25,-2\n30,0\n")
    prog = tmp_path / "cycle.toml"
    prog.write_text("[[step]]\nkind='profile'\ncsv='cycle.csv'\ninterval_s=2\nrepeat=2\n")
    async with sim_bench(speed=20) as asm:
        await wait_samples(asm, "battery.current.labjack")
        program = load_program(prog)
        true_ah0 = asm.world.battery.discharged_ah
        result = await run_to_end(asm, program)
        true_ah = asm.world.battery.discharged_ah - true_ah0
        slack = slack_s(asm)
    (step,) = result.steps
    seg = program.steps[0]
    planned_ah = 2 * sum(d * i for d, i in seg.segments) / 3600  # type: ignore[union-attr]
    assert seg.clipped > 0  # type: ignore[union-attr]
    assert result.end_reason == "completed"
    # the absolute schedule keeps the length (the end may come late by a busy machine's latency)
    assert 60 <= step.duration_s <= 60 + slack
    # what the battery really gave, as the LabJack measures it (gain 0.96)
    assert step.ah == pytest.approx(0.96 * true_ah, rel=0.05)
    assert step.ah == pytest.approx(0.96 * planned_ah, rel=0.25)  # the profile was played


async def test_loop_ends_on_its_ah_condition_and_steps_are_numbered_per_pass() -> None:
    async with sim_bench(speed=20) as asm:
        await wait_samples(asm, "battery.current.labjack")
        p = parse_program_text(
            "[[step]]\nkind='loop'\ncount=100\nuntil_ah=0.018\n"
            "steps=[{kind='cc', current_a=5, duration_s=3}, {kind='rest', duration_s=1}]\n"
        )
        result = await run_to_end(asm, p)
        slack = slack_s(asm)
    assert result.end_reason == "completed"
    paths = [s.path for s in result.steps]
    # 0.018 Ah at 4.8 A is 13.5 s: the fifth CC pass ends it. A busy machine stretches every step
    # in bench time (latency × speed), so it may be an earlier pass (or the rest after one, when
    # the last current sample of a pass comes in late), but not the first
    assert len(paths) >= 3
    assert paths == [f"1.{1 + k % 2}#{1 + k // 2}" for k in range(len(paths))]  # 1.1#1, 1.2#1, 1.1#2…
    assert result.steps[-1].end == "ah"
    assert all(s.end == "duration" for s in result.steps[:-1])
    # the step during which the Ah reached the condition ended the loop, not a later one
    # … and stopped it within a busy machine's latency: at most `slack` bench seconds at 5 A more
    assert sum(s.ah for s in result.steps[:-1]) < 0.018 <= result.ah <= 0.018 + 5.0 * (1.0 + slack) / 3600


async def test_pause_switches_off_and_stops_the_step_time() -> None:
    async with sim_bench(speed=10) as asm:
        await wait_samples(asm, "battery.current.labjack")
        r = runner(asm)
        clock = asm.bench.clock
        await r.start(parse_program_text("[[step]]\nkind='cc'\ncurrent_a=2\nduration_s=6\n"))
        await async_wait_until(lambda: asm.bench.load.input_on is True, 30)
        await clock.sleep(2.0)
        r.pause()
        await async_wait_until(lambda: r.state is RunnerState.PAUSED, 30)
        assert asm.bench.load.input_on is False
        await clock.sleep(5.0)
        assert r.snapshot().state is RunnerState.PAUSED
        r.resume()
        await async_wait_until(lambda: asm.bench.load.input_on is True, 30)
        result = await asyncio.wait_for(r.wait(), 30)
        slack = slack_s(asm)
    (step,) = result.steps
    assert result.end_reason == "completed"
    # 6 s on + ≥ 5 s paused; pause and resume each take effect within a busy machine's latency
    assert 6.0 + 5.0 - 0.2 <= step.duration_s <= 6.0 + 5.0 + 2 * slack
    assert step.ah == pytest.approx(2.0 * 0.96 * 6.0 / 3600, rel=0.15)


@pytest.mark.parametrize("wire", WIRE_PARAMS)
async def test_abort_and_emergency_stop_end_with_the_input_off(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=10) as asm:
        r = runner(asm)
        p = parse_program_text("[[step]]\nkind='cc'\ncurrent_a=3\nduration_s=600\n")
        await r.start(p)
        await async_wait_until(lambda: asm.bench.load.input_on is True, 30)
        r.abort()
        result = await asyncio.wait_for(r.wait(), 30)
        assert result.end_reason == "operator_abort"
        assert asm.bench.load.input_on is False
        await r.start(p)
        await async_wait_until(lambda: asm.bench.load.input_on is True, 30)
        supervisor(asm).emergency_stop("test")
        result = await asyncio.wait_for(r.wait(), 30)
        assert result.end_reason == "operator_abort"
        assert result.trip is not None
        assert asm.bench.load.input_on is False


async def test_error_in_a_step_ends_the_program_with_the_input_off() -> None:
    async with sim_bench(speed=10) as asm:
        load = asm.bench.load
        real = load.set_current
        calls = {"n": 0}

        async def refusing(amps: float) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise DeviceRefused("upper limit of object exceeded")
            await real(amps)

        load.set_current = refusing  # type: ignore[method-assign]
        p = parse_program_text(
            "[[step]]\nkind='cc'\ncurrent_a=3\nduration_s=2\n[[step]]\nkind='cc'\ncurrent_a=4\nduration_s=2\n"
        )
        result = await run_to_end(asm, p)
        assert result.end_reason == "error"
        assert "upper limit" in result.error
        assert [s.end for s in result.steps] == ["duration", "error"]
        assert load.input_on is False


async def test_application_exit_during_a_program() -> None:
    async with sim_bench(speed=10) as asm:
        r = runner(asm)
        await r.start(parse_program_text("[[step]]\nkind='cc'\ncurrent_a=3\nduration_s=600\n"))
        await async_wait_until(lambda: asm.bench.load.input_on is True, 30)
        await asm.aclose()
        assert r.result is not None
        assert r.result.end_reason == "exit"
        assert asm.bench.load.input_on is False


async def test_start_is_refused_with_a_clear_reason() -> None:
    async with sim_bench(speed=10, config={"instruments": {"ea": {"enabled": False}}}) as asm:
        with pytest.raises(BenchError, match="no electronic load"):
            await runner(asm).start(parse_program_text("[[step]]\nkind='rest'\nduration_s=1\n"))
    async with sim_bench(speed=10, config={"safety": {"max_current_a": 4}}) as asm:
        with pytest.raises(BenchError, match=r"step\[0\]\.current_a: 5 A exceeds \[safety\] max_current_a"):
            await runner(asm).start(parse_program_text("[[step]]\nkind='cc'\ncurrent_a=5\nduration_s=1\n"))


async def test_progress_snapshot_while_running() -> None:
    async with sim_bench(speed=10) as asm:
        await wait_samples(asm, "battery.voltage.labjack")
        r = runner(asm)
        assert r.snapshot().state is RunnerState.IDLE
        p = parse_program_text(
            "[[step]]\nkind='cc'\ncurrent_a=2\nduration_s=4\n[[step]]\nkind='rest'\nduration_s=4\n"
        )
        await r.start(p)
        await async_wait_until(lambda: r.snapshot().leaf == 2, 30)
        snap = r.snapshot()
        assert snap.state is RunnerState.RUNNING
        assert snap.leaves == 2
        assert 0.5 <= snap.fraction <= 1.0
        assert snap.step_text == "Rest 4 s"
        assert snap.results[0].end == "duration"
        assert snap.ah > 0
        await asyncio.wait_for(r.wait(), 30)
        assert r.snapshot().fraction == 1.0
