"""The program runner service (``bench.services.programs``): runs a discharge program on the load.

The runner lives in the core, not in a widget, so a program runs the same in the GUI and in
``benchgui run-program --headless``. Each start creates an
:class:`~benchgui.core.programs.execution.Execution` that walks the steps in bench time; the
runner checks the program first, records it into the session (``program.start`` …
``program.end``, with the Ah and Wh counted from the measured current and voltage and the DC
internal resistance of every pulse), and gives the panel progress snapshots.

However a program ends — completed, the operator's abort, a safety trip, an error, application
exit — the runner switches the load input off (retried; if that fails it trips the safety
supervisor, which keeps retrying).

The program's own end conditions come first: the runner listens to the samples ahead of the
supervisor, and while a program with a voltage condition runs it tells the supervisor to judge
its cut-off ``[safety] cutoff_margin_v`` below that condition (the supervisor is the backstop).
A program with ``charger = "off"`` has charging switched off for its run and restored after it
(:mod:`benchgui.core.programs.charging`), or does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from benchgui.core.limits import CUTOFF_VOLTAGE, ERROR, EXIT, OPERATOR_ABORT, battery_cutoff_v
from benchgui.core.programs import loader
from benchgui.core.programs.charging import ChargerGuard
from benchgui.core.programs.checks import check_program, highest_voltage_condition
from benchgui.core.programs.execution import Execution
from benchgui.core.programs.meter import CURRENT_PREFERENCE, VOLTAGE_PREFERENCE, Meter, choose_channel
from benchgui.core.programs.model import Program, ProgramResult, StepResult
from benchgui.core.programs.progress import COMPLETED, leaf_plan, overall_fraction
from benchgui.core.readings import require_valid_readings
from benchgui.errors import BenchError
from benchgui.model import Sample, SessionMeta
from benchgui.signals import Signal

if TYPE_CHECKING:
    from benchgui.config.schema import Config
    from benchgui.core.bench import Bench
    from benchgui.core.safety import Supervisor, Trip

log = logging.getLogger(__name__)


class RunnerState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"


@dataclass(frozen=True)
class Progress:
    """A snapshot for the panel (taken on its redraw timer)."""

    state: RunnerState
    program: str = ""
    step_path: str = ""
    step_text: str = ""
    leaf: int = 0
    leaves: int = 0
    step_fraction: float = 0.0
    fraction: float = 0.0
    elapsed_s: float = 0.0
    ah: float = 0.0
    wh: float = 0.0
    voltage: float | None = None
    current: float | None = None
    results: tuple[StepResult, ...] = ()
    end_reason: str = ""
    error: str = ""


class ProgramRunner:
    def __init__(
        self,
        bench: Bench,
        supervisor: Supervisor | None = None,
        *,
        cutoff_voltage_v: float = 10.5,
        load_ready_timeout_s: float = 15.0,
    ) -> None:
        self.bench = bench
        self.supervisor = supervisor
        self.cutoff_voltage_v = cutoff_voltage_v
        self.load_ready_timeout_s = load_ready_timeout_s
        self.program: Program | None = None  # selected in the panel / loaded from a file
        self.result: ProgramResult | None = None
        self.changed: Signal[[]] = Signal("programs.changed")
        self.finished: Signal[[ProgramResult]] = Signal("programs.finished")
        self._run: Execution | None = None
        self._end_fraction = 0.0  # the progress a finished run had reached (1.0: completed)
        self._task: asyncio.Task[None] | None = None
        self._feeding: Execution | None = None  # the run the samples go to
        self._guard: ChargerGuard | None = None  # the charger interlock of the run
        # before the supervisor's listener: a step's own end condition is judged first
        bench.samples_published.connect(self._on_samples, first=True)
        if supervisor is not None:
            supervisor.tripped.connect(self._on_trip)
            supervisor.watch_programs(self)

    @classmethod
    def attach(cls, bench: Bench, cfg: Config, supervisor: Supervisor | None) -> ProgramRunner:
        runner = cls(bench, supervisor, cutoff_voltage_v=battery_cutoff_v(cfg))
        bench.services.programs = runner
        return runner

    # -- programs from files and text (the panel's only way to read one) ----------------------
    def load_file(self, path: str | Path) -> Program:
        self.program = loader.load_program(path)
        self.changed.emit()
        return self.program

    def load_text(self, text: str, path: str = "") -> Program:
        base = Path(path).expanduser().resolve().parent if path else None
        self.program = loader.parse_program_text(text, base_dir=base, path=path)
        self.changed.emit()
        return self.program

    def save_file(self, path: str | Path, text: str) -> Program:
        self.program = loader.save_program_text(path, text)
        self.changed.emit()
        return self.program

    def check(self, program: Program) -> None:
        """Raise if the program cannot run on this bench (ratings, safety limits)."""
        sup = self.supervisor
        check_program(
            program,
            self.bench.load,
            max_current_a=sup.limits.max_current_a if sup else None,
            safety_cutoff_v=sup.limits.cutoff_voltage_v if sup else None,
            cutoff_v=self.cutoff_voltage_v,
        )

    # -- state and commands --------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def state(self) -> RunnerState:
        if self._run is None:
            return RunnerState.IDLE
        if not self.running:
            return RunnerState.FINISHED
        return RunnerState.PAUSED if self._run.paused else RunnerState.RUNNING

    async def start(self, program: Program | None = None) -> None:
        """Check and start a program (returns once it runs; :meth:`wait` for the result)."""
        program = program or self.program
        if program is None:
            raise BenchError("no program loaded")
        if self.running:
            raise BenchError("a program is already running")
        if self.bench.load is None:
            raise BenchError("there is no electronic load on this bench")
        if self.supervisor is not None:
            self.supervisor.check_may_switch_on()
        self.check(program)
        await self.wait_load_ready()
        names = list(self.bench.channels)
        vch = choose_channel(names, "battery.voltage", VOLTAGE_PREFERENCE, program.voltage_channel)
        ich = choose_channel(names, "battery.current", CURRENT_PREFERENCE, program.current_channel)
        if vch is None or ich is None:
            which = "voltage" if vch is None else "current"
            raise BenchError(f"no battery {which} measurement on this bench to run a program with")
        await require_valid_readings(self.bench, (vch, ich), self.load_ready_timeout_s)  # not clipped
        if self.bench.session is None and self.bench.recorder is not None:
            kind = "demo" if self.bench.simulated else "live"
            self.bench.start_session(SessionMeta(notes=f"program: {program.name}", kind=kind))
        clock = self.bench.clock
        result = ProgramResult(program.name, clock.now_ns(), voltage_channel=vch, current_channel=ich)
        guard = ChargerGuard(self.bench, program)
        await guard.acquire(result)  # charging off, or refused (ChargerNotOff)
        # gaps come from stalls in real time (a busy machine at --speed 100 skips bench seconds):
        # bridge up to 10 s of real time, whatever the speed
        meter = Meter(vch, ich, max_gap_s=10.0 * max(1.0, clock.speed))
        now_ns = clock.now_ns()
        meter.seed(self.bench.display.latest, now_ns)
        self.program = program
        self.result = result
        result.started_ns = now_ns
        self._guard = guard
        run = self._run = Execution(
            self.bench, self.supervisor, program, meter, self.result, self.cutoff_voltage_v, self.changed.emit
        )
        self._feeding = run
        program_v = highest_voltage_condition(program.steps, self.cutoff_voltage_v)
        supervisor_cutoff_v = None
        if self.supervisor is not None:
            self.supervisor.reset_counters()
            if program_v is not None:
                self.supervisor.set_program_cutoff(program_v)
            supervisor_cutoff_v = self.supervisor.interlocks.cutoff_v()
        self.bench.record_event(
            "program.start",
            f"program {program.name!r} started",
            {
                "name": program.name,
                "path": program.path,
                "steps": program.leaf_count(),
                "voltage_channel": vch,
                "current_channel": ich,
                "cutoff_voltage_v": self.cutoff_voltage_v,
                "supervisor_cutoff_v": supervisor_cutoff_v,
                "charger": program.charger,
                "charger_off": result.charger_off,
            },
        )
        guard.announce()
        self._task = asyncio.get_running_loop().create_task(self._execute(run), name="program")
        self.changed.emit()

    async def wait_load_ready(self) -> None:
        """Wait (real time, bounded) until the load is connected and its input state known."""
        load = self.bench.load
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.load_ready_timeout_s
        while load is not None and load.input_on is None:
            if loop.time() > deadline:
                raise BenchError("the electronic load is not connected (its input state is unknown)")
            await asyncio.sleep(0.05)

    def pause(self) -> None:
        """Switch the load off and hold the program; the step's time stops too."""
        if self.running and self._run is not None and not self._run.pause_requested:
            self._run.pause(True)

    def resume(self) -> None:
        if self.running and self._run is not None and self._run.pause_requested:
            self._run.pause(False)

    def abort(self, reason: str = OPERATOR_ABORT) -> None:
        if self.running and self._run is not None:
            self._run.abort(reason)

    async def wait(self) -> ProgramResult:
        if self._task is not None:
            await asyncio.shield(self._task)
        if self.result is None:
            raise BenchError("no program has run")
        return self.result

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Application exit: abort a running program (load off), wait for it to end."""
        if not self.running or self._task is None:
            return
        self.abort(EXIT)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except Exception:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _on_samples(self, samples: Sequence[Sample]) -> None:
        run = self._feeding
        if run is not None:
            run.on_samples(samples)

    def _on_trip(self, trip: Trip) -> None:
        self.abort(trip.reason)

    # -- the end: load off, whatever happened --------------------------------------------------
    async def _execute(self, run: Execution) -> None:
        reason = ERROR
        try:
            reason = await run.run()
        finally:
            await self._finish(run, reason)

    async def _switch_off(self) -> bool:
        load = self.bench.load
        if load is None:
            return True
        for attempt in range(1, 6):
            try:
                await asyncio.wait_for(load.set_input(False), 2.0)
                if load.input_on is False:
                    return True
            except Exception as exc:
                log.error("program end: switching the load off failed (attempt %d): %s", attempt, exc)
            await asyncio.sleep(0.1 * attempt)
        return False

    async def _finish(self, run: Execution, reason: str) -> None:
        try:
            off = await self._switch_off()
        except asyncio.CancelledError:
            off = False
        sup = self.supervisor
        if not off and sup is not None:
            sup.trip(ERROR, "the program could not switch the load off")
        if sup is not None:
            sup.set_program_cutoff(None)
        self._feeding = None
        guard, self._guard = self._guard, None
        if guard is not None:
            try:
                await guard.release(run.result)
            except asyncio.CancelledError:
                log.error("program end: cancelled before charging was switched back on")
        res, m = run.result, run.meter
        res.end_reason = reason
        self._end_fraction = 1.0 if reason == COMPLETED else self._fraction(run)
        res.ah, res.wh, res.gaps, res.flagged = m.ah, m.wh, m.gaps, m.flagged
        res.duration_s = self.bench.clock.monotonic() - run.t0
        if reason == CUTOFF_VOLTAGE and res.capacity_ah is None:
            res.capacity_ah = m.ah
        trip = sup.trip_state if sup is not None else None
        if trip is not None and trip.t_ns >= res.started_ns:
            res.trip = {"reason": trip.reason, "text": trip.text, "values": trip.values}
        load = self.bench.load
        res.load_input_on = load.input_on if load is not None else False
        self.bench.record_event(
            "program.end",
            f"program {res.name!r} ended ({reason}): {res.ah:.4f} Ah, {res.wh:.3f} Wh "
            f"in {res.duration_s:.1f} s",
            {
                "end_reason": reason,
                "ah": res.ah,
                "wh": res.wh,
                "duration_s": res.duration_s,
                "capacity_ah": res.capacity_ah,
                "load_input_on": res.load_input_on,
                "error": res.error,
            },
        )
        log.info("program %r ended: %s", res.name, reason)
        run.leaf = None
        self.changed.emit()
        self.finished.emit(res)

    # -- progress for the panel ----------------------------------------------------------------
    @staticmethod
    def _fraction(run: Execution) -> float:
        """Overall progress, steps weighted by planned time (``programs/progress.py``)."""
        if run.leaf is None:
            return 0.0
        return overall_fraction(leaf_plan(run.program.steps), run.leaf.result.path, run.step_fraction())

    def snapshot(self) -> Progress:
        run = self._run
        state = self.state
        if run is None:
            return Progress(state, program=self.program.name if self.program else "")
        m, res, clock = run.meter, run.result, self.bench.clock
        step_text, path, frac = "", "", 0.0
        leaf = run.leaf
        if leaf is not None and state is not RunnerState.FINISHED:
            r = leaf.result
            r.ah, r.wh, r.v_end = m.ah - leaf.ah0, m.wh - leaf.wh0, m.v
            r.duration_s = clock.monotonic() - leaf.t0
            step_text, path, frac = leaf.step.describe(), r.path, run.step_fraction()
        done = state is RunnerState.FINISHED
        leaves = max(1, run.program.leaf_count())
        return Progress(
            state=state,
            program=run.program.name,
            step_path=path,
            step_text=step_text,
            leaf=run.leaf_no,
            leaves=leaves,
            step_fraction=frac,
            fraction=self._end_fraction if done else self._fraction(run),
            elapsed_s=res.duration_s if done else clock.monotonic() - run.t0,
            ah=m.ah,
            wh=m.wh,
            voltage=m.v,
            current=m.i,
            results=tuple(replace(r, pulses=list(r.pulses)) for r in res.steps),
            end_reason=res.end_reason,
            error=res.error,
        )
