"""The lively demo bench: the GUI's demo program makes every trace move within a simulated minute."""

from __future__ import annotations

import fnmatch
from collections import defaultdict

import pytest

from benchgui.clock import NS_PER_S
from benchgui.config.schema import SimulationSection
from benchgui.core.programs.demo import DemoActivity
from benchgui.core.programs.runner import RunnerState
from benchgui.errors import ConfigError
from benchgui.model import Sample
from tests.helpers import async_wait_until
from tests.safety_kit import runner, sim_bench, wait_samples

pytestmark = pytest.mark.timeout(90)

#: the traces of the main window's live plots (widgets/plots.py DEFAULT_PLOTS) and the sun's.
#: soc.mppt is left out: the MPPT publishes whole percent, a step every few minutes at these
#: currents
TRACES = (
    "battery.voltage.*",
    "battery.current.*",
    "battery.power.*",
    "load.current.setpoint",
    "soc.spkf",
    "solar.*",
)


async def test_every_trace_of_the_demo_moves_in_the_first_simulated_minute() -> None:
    demo_defaults = {"simulation": {"sun": SimulationSection().sun}}  # as `benchgui --demo`: sun on
    async with sim_bench(wire=True, speed=20, config=demo_defaults) as asm:
        bench = asm.bench
        values: dict[str, set[float]] = defaultdict(set)

        def collect(samples: list[Sample]) -> None:
            for s in samples:
                if any(fnmatch.fnmatch(s.channel, p) for p in TRACES):
                    values[s.channel].add(round(s.value, 6))

        bench.samples_published.connect(collect)
        program = DemoActivity.load(SimulationSection().demo_program)  # the default: demo-day
        assert program is not None
        assert program.charger == "allow"  # the sun charges during the show
        demo = DemoActivity(runner(asm), program)
        t0 = bench.clock.now_ns()
        demo.start()
        await async_wait_until(lambda: bench.clock.now_ns() - t0 >= 60 * NS_PER_S, 60, what="a bench minute")
        assert runner(asm).state is RunnerState.RUNNING
        await demo.aclose()
        plotted = [n for n in bench.channels if any(fnmatch.fnmatch(n, p) for p in TRACES)]
    assert len(plotted) >= 10, plotted  # three instruments' V, I, P, the setpoint, SOC, the sun
    still = sorted(n for n in plotted if len(values[n]) < 2)
    assert not still, f"traces that did not move in the first simulated minute: {still}"


async def test_an_idle_demo_bench_stays_idle() -> None:
    assert DemoActivity.load("") is None
    with pytest.raises(ConfigError, match=r"simulation\.demo_program"):
        DemoActivity.load("/nonexistent/demo.toml")


async def test_the_demo_stops_for_good_when_the_operator_aborts_it() -> None:
    async with sim_bench(speed=20) as asm:
        await wait_samples(asm, "battery.voltage.labjack")
        program = DemoActivity.load("demo-day")
        assert program is not None
        r = runner(asm)
        demo = DemoActivity(r, program, rest_s=1.0)
        demo.start()
        await async_wait_until(lambda: r.state is RunnerState.RUNNING, 30, what="demo running")
        r.abort()  # the Programs panel's Abort: the bench is the operator's now
        await async_wait_until(lambda: demo.task is not None and demo.task.done(), 30, what="demo ended")
        assert demo.runs == 1
        assert r.state is RunnerState.FINISHED
        assert asm.bench.load.input_on is False
