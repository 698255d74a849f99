"""Every trip condition on the simulated bench: the load input goes off within 1 s.

Faults are injected through the simulated instruments' sensor models or by muting a source.
Times are checked on the recorded trip (bench time, from sample times) and, where it matters
(operator, signals, errors, exit), in real time too. A trip never comes before its debounce
(exact: judged on sample times); how late it may come is its nominal time (the samples it
waits for) plus :func:`~tests.safety_kit.slack_s` for a busy machine at ``--speed``.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from benchgui.core.safety import InterlockTripped
from benchgui.errors import TransportError
from tests.helpers import async_wait_until
from tests.safety_kit import (
    FULL_WIRE_PARAMS,
    NS,
    WIRE_PARAMS,
    assert_load_off,
    load_on,
    mute,
    runner,
    sensor,
    sim_bench,
    slack_s,
    supervisor,
    wait_samples,
    wait_trip_off,
)

pytestmark = pytest.mark.timeout(90)

# sample periods of the simulated instruments (bench seconds)
LABJACK_S = 0.1
MPPT_S = 1.0
TICK_S = 0.1  # the supervisor's monitor tick


class EventLog:
    """Collects the events a bench records (the store is not needed for these tests)."""

    def __init__(self, bench) -> None:  # type: ignore[no-untyped-def]
        self.items: list = []
        bench.event_recorded.connect(self.items.append)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.items]

    def of(self, kind: str) -> list:
        return [e for e in self.items if e.kind == kind]


@pytest.mark.parametrize("wire", WIRE_PARAMS)
async def test_cutoff_voltage_on_the_reference(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=4) as asm:
        log = EventLog(asm.bench)
        await wait_samples(asm, "battery.voltage.labjack")
        await load_on(asm)
        fault_ns = asm.bench.clock.now_ns()
        sensor(asm, "labjack").offset = -2.0  # the reference now reads ~10.3 V
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "cutoff_voltage"
        assert trip.values["channel"] == "battery.voltage.labjack"
        # next LabJack sample, the 2 s debounce, the sample that completes it
        assert 2.0 <= (trip.t_ns - fault_ns) / NS <= LABJACK_S + 2.0 + LABJACK_S + slack_s(asm)
        assert_load_off(asm, trip)
        assert "safety.trip" in log.kinds()
        assert "safety.load_off" in log.kinds()


async def test_cutoff_falls_back_to_the_mppt_when_the_reference_is_silent() -> None:
    async with sim_bench(speed=4, config={"safety": {"disagreement_s": 1000}}) as asm:
        log = EventLog(asm.bench)
        await wait_samples(asm, "battery.voltage.mppt")
        await load_on(asm)
        mute(asm, "labjack")
        await async_wait_until(lambda: bool(log.of("safety.fallback")), 20, what="fallback event")
        assert supervisor(asm).trip_state is None  # the MPPT still measures: no trip
        sensor(asm, "mppt").offset = -2.0
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "cutoff_voltage"
        assert trip.values["channel"] == "battery.voltage.mppt"
        assert_load_off(asm, trip)


@pytest.mark.parametrize("wire", WIRE_PARAMS)
async def test_sensor_lost_when_no_voltage_source_publishes(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=4, config={"safety": {"sensor_timeout_s": 2.0}}) as asm:
        await wait_samples(asm, "battery.voltage.mppt")
        await load_on(asm)
        fault_ns = asm.bench.clock.now_ns()
        mute(asm, "labjack")
        mute(asm, "mppt")
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "sensor_lost"
        assert trip.values["silent_s"] > 2.0  # never before the timeout
        # the newest voltage sample is older than the fault: timeout + a monitor tick
        assert (trip.t_ns - fault_ns) / NS <= 2.0 + TICK_S + slack_s(asm)
        assert_load_off(asm, trip)


@pytest.mark.parametrize("wire", WIRE_PARAMS)
async def test_sensor_disagreement(wire: bool | str) -> None:
    cfg = {"safety": {"voltage_disagreement_mv": 300, "disagreement_s": 2.0}}
    async with sim_bench(wire=wire, speed=4, config=cfg) as asm:
        await wait_samples(asm, "battery.voltage.mppt")
        await load_on(asm)
        fault_ns = asm.bench.clock.now_ns()
        sensor(asm, "mppt").offset = 0.6  # the MPPT's divider drifted
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "sensor_disagreement"
        assert trip.values["channels"] == ["battery.voltage.labjack", "battery.voltage.mppt"]
        # next MPPT sample, the 2 s hold (judged at every LabJack sample), the sample that ends it
        assert 2.0 <= (trip.t_ns - fault_ns) / NS <= MPPT_S + 2.0 + LABJACK_S + slack_s(asm)
        assert_load_off(asm, trip)


@pytest.mark.parametrize("wire", FULL_WIRE_PARAMS)
async def test_discharged_ah_limit(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=8, config={"safety": {"max_discharge_ah": 0.02}}) as asm:
        await wait_samples(asm, "battery.current.labjack")
        await load_on(asm, 5.0)
        on_ns = supervisor(asm).interlocks.armed_since_ns  # charge counts from here
        assert on_ns is not None
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "ah_limit"
        assert trip.values["ah"] == pytest.approx(0.02, abs=0.002)
        nominal = 0.02 * 3600 / 5.0
        assert nominal - 1.5 <= (trip.t_ns - on_ns) / NS <= nominal + 1.5 + slack_s(asm)
        assert_load_off(asm, trip)


@pytest.mark.parametrize("wire", FULL_WIRE_PARAMS)
async def test_discharge_time_limit(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=4, config={"safety": {"max_discharge_time_s": 3.0}}) as asm:
        await wait_samples(asm, "battery.voltage.labjack")
        await load_on(asm, 1.0)
        on_ns = supervisor(asm).interlocks.armed_since_ns  # the discharge time counts from here
        assert on_ns is not None
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "time_limit"
        assert 3.0 <= (trip.t_ns - on_ns) / NS <= 3.0 + TICK_S + slack_s(asm)
        assert_load_off(asm, trip)


@pytest.mark.parametrize("wire", WIRE_PARAMS)
async def test_overcurrent(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=4) as asm:
        await wait_samples(asm, "battery.current.labjack")
        await load_on(asm, 2.0)
        fault_ns = asm.bench.clock.now_ns()
        sensor(asm, "labjack", "i_sensor").offset = -25.0  # the LEM sees a short
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "overcurrent"
        assert trip.values["channel"] == "battery.current.labjack"
        # next LabJack sample, the 1 s debounce, the sample that completes it
        assert 1.0 <= (trip.t_ns - fault_ns) / NS <= LABJACK_S + 1.0 + LABJACK_S + slack_s(asm)
        assert_load_off(asm, trip)


@pytest.mark.parametrize("wire", WIRE_PARAMS)
@pytest.mark.parametrize("which", ["bat_t_sensor", "int_t_sensor"])
async def test_temperature(which: str, wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=4, temperatures=True) as asm:
        await wait_samples(asm, "battery.temperature.mppt")
        await load_on(asm, 2.0)
        fault_ns = asm.bench.clock.now_ns()
        sensor(asm, "mppt", which).offset = 90.0
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "temperature"
        expected = "battery.temperature.mppt" if which == "bat_t_sensor" else "internal.temperature.mppt"
        assert trip.values["channel"] == expected
        # next MPPT sample, then the 1 s debounce: one period, or two when that sample came late
        # (samples keep a fixed schedule, so the one after it is less than 1 s later)
        assert 1.0 <= (trip.t_ns - fault_ns) / NS <= MPPT_S + 2 * MPPT_S + slack_s(asm)
        assert_load_off(asm, trip)


@pytest.mark.parametrize("wire", FULL_WIRE_PARAMS)
async def test_emergency_stop_in_real_time(wire: bool | str) -> None:
    async with sim_bench(wire=wire, speed=1) as asm:
        await load_on(asm)
        sup = supervisor(asm)
        t0 = time.monotonic()
        sup.emergency_stop("test")
        trip, _ = await wait_trip_off(asm)
        assert time.monotonic() - t0 < 1.0
        assert trip.reason == "operator_abort"
        assert_load_off(asm, trip)


async def test_unhandled_exception_in_the_core() -> None:
    async with sim_bench(speed=1) as asm:
        await load_on(asm)

        def broken() -> None:
            raise RuntimeError("a bug in some callback")

        t0 = time.monotonic()
        asyncio.get_running_loop().call_soon(broken)
        trip, _ = await wait_trip_off(asm)
        assert time.monotonic() - t0 < 1.0
        assert trip.reason == "error"
        assert "a bug in some callback" in trip.text
        assert_load_off(asm, trip)


async def test_a_failing_check_is_a_trip() -> None:
    async with sim_bench(speed=1) as asm:
        await load_on(asm)
        sup = supervisor(asm)

        def broken(samples: object) -> None:
            raise ZeroDivisionError("check bug")

        sup.interlocks.on_samples = broken  # type: ignore[method-assign]
        trip, real_s = await wait_trip_off(asm)
        assert real_s < 1.0
        assert trip.reason == "error"
        assert_load_off(asm, trip)


async def test_the_supervisor_task_is_watched() -> None:
    async with sim_bench(speed=1) as asm:
        await load_on(asm)
        sup = supervisor(asm)
        monitor = sup._monitor
        assert monitor is not None
        t0 = time.monotonic()
        monitor.cancel()  # the monitor dies (as if by a bug)
        trip, _ = await wait_trip_off(asm)
        assert time.monotonic() - t0 < 1.0
        assert trip.reason == "error"
        assert_load_off(asm, trip)
        await async_wait_until(lambda: sup._monitor is not monitor and not sup._monitor.done(), 30)


async def test_switch_off_is_retried_until_the_load_acknowledges() -> None:
    async with sim_bench(speed=1, config={"safety": {"retry_interval_s": 0.02}}) as asm:
        log = EventLog(asm.bench)
        await load_on(asm)
        load = asm.bench.load
        real = load.set_input
        failures = {"left": 3}

        async def flaky(on: bool) -> None:
            if not on and failures["left"] > 0:
                failures["left"] -= 1
                raise TransportError("port vanished")
            await real(on)

        load.set_input = flaky  # type: ignore[method-assign]
        supervisor(asm).emergency_stop("test")
        trip, real_s = await wait_trip_off(asm)
        assert real_s < 1.0
        assert failures["left"] == 0
        assert len(log.of("safety.retry")) >= 2
        assert log.of("safety.load_off")[0].data["attempts"] == 4
        assert_load_off(asm, trip)


async def test_trip_latches_until_acknowledged() -> None:
    async with sim_bench(speed=10) as asm:
        load = asm.bench.load
        await load_on(asm)
        sup = supervisor(asm)
        sup.emergency_stop("test")
        await wait_trip_off(asm)
        await load.set_input(True)  # someone switches the input back on
        await async_wait_until(lambda: load.input_on is False, 30, what="switched off again")
        with pytest.raises(InterlockTripped):
            await runner(asm).start(runner(asm).load_text('[[step]]\nkind="cc"\ncurrent_a=1\nduration_s=5\n'))
        sup.acknowledge()
        assert sup.state.trip is not None
        assert sup.state.trip.acknowledged
        await load.set_input(True)
        await async_wait_until(lambda: sup.armed, 30)
        assert load.input_on is True


async def test_application_exit_switches_off_and_records_why() -> None:
    async with sim_bench(speed=1) as asm:
        log = EventLog(asm.bench)
        await load_on(asm)
        exit_ns = asm.bench.clock.now_ns()  # speed 1: bench time is real time
        await asm.aclose()
        assert asm.bench.load.input_on is False
        trips = log.of("safety.trip")
        assert trips
        assert trips[0].data["reason"] == "exit"
        # the load went off within 1 s of the exit (the rest of the shutdown may take longer)
        (off,) = log.of("safety.load_off")
        assert (off.t_ns - exit_ns) / NS < 1.0


class _Programs:
    """A program runner as the supervisor sees it (``ProgramActivity``)."""

    running = True


async def test_exit_while_a_program_runs_with_the_load_off_is_a_trip() -> None:
    """A program resting between steps has the load off; the supervisor asks the runner it
    watches, and an exit then is still recorded as a trip (with the load off, nothing else is)."""
    async with sim_bench(speed=10) as asm:
        log = EventLog(asm.bench)
        load = asm.bench.load
        assert load is not None
        await async_wait_until(lambda: load.input_on is False, 30, what="load connected, input off")
        supervisor(asm).watch_programs(_Programs())
        await asm.aclose()
        assert [t.data["reason"] for t in log.of("safety.trip")][:1] == ["exit"]


async def test_works_with_only_the_load_on_the_bench() -> None:
    cfg = {"instruments": {"labjack": {"enabled": False}, "mppt": {"enabled": False}}}
    async with sim_bench(speed=4, config=cfg) as asm:
        assert set(asm.bench.sources) == {"load"}
        await wait_samples(asm, "battery.voltage.load")
        await load_on(asm)
        sensor(asm, "load").offset = -2.0
        trip, _ = await wait_trip_off(asm)
        assert trip.reason == "cutoff_voltage"
        assert trip.values["channel"] == "battery.voltage.load"
        assert_load_off(asm, trip)


async def test_works_without_a_load() -> None:
    cfg = {"instruments": {"ea": {"enabled": False}}}
    async with sim_bench(speed=4, config=cfg) as asm:
        assert asm.bench.load is None
        await wait_samples(asm, "battery.voltage.labjack")
        sup = supervisor(asm)
        assert not sup.armed
        sup.emergency_stop("test")
        trip, _ = await wait_trip_off(asm)  # nothing to switch off: marked done at once
        assert trip.reason == "operator_abort"
