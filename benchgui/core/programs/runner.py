"""The program runner service (``bench.services["programs"]``): runs a discharge program on the load.

The runner lives in the core, not in a widget, so a program runs the same in the GUI and in
``benchgui run-program --headless``. It waits in *bench* time (``clock.sleep``) and judges end
conditions on *sample* times, so ``--speed`` runs a 20 h discharge in minutes with the same
result. Every step is recorded into the session as events (``program.start``, ``program.step``,
``program.pulse``, ``program.step.end``, ``program.end`` …) with the Ah and Wh counted from the
measured current and voltage, and the DC internal resistance of every pulse.

However a program ends — completed, a step's condition, the operator's abort, a safety trip, an
error, application exit — the load input is switched off (retried; if that fails the safety
supervisor takes over and keeps retrying).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchgui.core.interlocks import CUTOFF_VOLTAGE, ERROR, EXIT, OPERATOR_ABORT, Debounce
from benchgui.core.programs import loader
from benchgui.core.programs.checks import check_program
from benchgui.core.programs.meter import CURRENT_PREFERENCE, VOLTAGE_PREFERENCE, Meter, choose_channel, dcir
from benchgui.core.programs.model import (
    CUTOFF,
    ConstantStep,
    LoopStep,
    ProfileStep,
    Program,
    ProgramResult,
    PulseResult,
    PulseStep,
    RestStep,
    Step,
    StepResult,
    Until,
)
from benchgui.core.signals import Signal
from benchgui.errors import BenchError
from benchgui.model import Sample, SessionMeta

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


@dataclass(frozen=True)
class _Setpoint:
    mode: str  # cc | cp
    value: float


class _Abort(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _EndScope(Exception):
    def __init__(self, scope: _Scope, reason: str) -> None:
        super().__init__(reason)
        self.scope = scope
        self.reason = reason


class _Scope:
    """End conditions of a running step or loop, judged on every new measurement."""

    def __init__(self, until: Until, vmin: float | None, meter: Meter) -> None:
        self.until = until
        self.vmin = vmin
        self.ah0, self.wh0 = meter.ah, meter.wh
        self.debounce = Debounce(until.voltage_debounce_s)
        self.met = ""

    def check(self, m: Meter, got_v: bool) -> str:
        u = self.until
        if (
            self.vmin is not None
            and got_v
            and m.v is not None
            and self.debounce.update(m.v < self.vmin, m.v_t_ns)
        ):
            return "voltage"
        if u.ah is not None and m.ah - self.ah0 >= u.ah:
            return "ah"
        if u.wh is not None and m.wh - self.wh0 >= u.wh:
            return "wh"
        return ""


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
        self.state = RunnerState.IDLE
        self.changed: Signal[[]] = Signal("programs.changed")
        self.finished: Signal[[ProgramResult]] = Signal("programs.finished")
        self._task: asyncio.Task[None] | None = None
        self._meter: Meter | None = None
        self._scopes: list[_Scope] = []
        self._wake = asyncio.Event()
        self._abort_reason = ""
        self._pause_requested = False
        self._running_program: Program | None = None
        self._leaf_no = 0
        self._leaf: tuple[StepResult, Step, float, float, float] | None = None  # res, step, ah0, wh0, t0
        self._pause_s = 0.0  # paused time in the current leaf
        self._t0 = 0.0
        if supervisor is not None:
            supervisor.tripped.connect(self._on_trip)
            supervisor.program_active = lambda: self.running

    @classmethod
    def attach(cls, bench: Bench, cfg: Config, supervisor: Supervisor | None) -> ProgramRunner:
        from benchgui.core.interlocks import battery_cutoff_v

        runner = cls(bench, supervisor, cutoff_voltage_v=battery_cutoff_v(cfg))
        bench.services["programs"] = runner
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
        )

    # -- commands ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, program: Program | None = None) -> None:
        """Check and start a program (returns once it runs; :meth:`wait` for the result)."""
        program = program or self.program
        if program is None:
            raise BenchError("no program loaded")
        if self.running:
            raise BenchError("a program is already running")
        load = self.bench.load
        if load is None:
            raise BenchError("there is no electronic load on this bench")
        if self.supervisor is not None:
            self.supervisor.check_may_switch_on()
        self.check(program)
        await self._wait_load_ready()
        names = list(self.bench.channels)
        vch = choose_channel(names, "battery.voltage", VOLTAGE_PREFERENCE, program.voltage_channel)
        ich = choose_channel(names, "battery.current", CURRENT_PREFERENCE, program.current_channel)
        if vch is None or ich is None:
            which = "voltage" if vch is None else "current"
            raise BenchError(f"no battery {which} measurement on this bench to run a program with")
        if self.bench.session is None and self.bench.recorder is not None:
            kind = "demo" if self.bench.simulated else "live"
            self.bench.start_session(SessionMeta(notes=f"program: {program.name}", kind=kind))
        self.program = program
        self._running_program = program
        # gaps come from stalls in real time (a busy machine at --speed 100 skips bench seconds):
        # bridge up to 10 s of real time, whatever the speed
        self._meter = Meter(vch, ich, max_gap_s=10.0 * max(1.0, self.bench.clock.speed))
        now_ns = self.bench.clock.now_ns()
        self._meter.seed(self.bench.display.latest, now_ns)
        self.result = ProgramResult(program.name, now_ns, voltage_channel=vch, current_channel=ich)
        self._abort_reason, self._pause_requested, self._scopes = "", False, []
        self._leaf_no, self._leaf, self._t0 = 0, None, self.bench.clock.monotonic()
        self._wake = asyncio.Event()
        self.bench.samples_published.connect(self._on_samples)
        if self.supervisor is not None:
            self.supervisor.reset_counters()
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
            },
        )
        self.state = RunnerState.RUNNING
        self._task = asyncio.get_running_loop().create_task(self._run(program), name="program")
        self.changed.emit()

    async def _wait_load_ready(self) -> None:
        load = self.bench.load
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.load_ready_timeout_s
        while load is not None and load.input_on is None:
            if loop.time() > deadline:
                raise BenchError("the electronic load is not connected (its input state is unknown)")
            await asyncio.sleep(0.05)

    def pause(self) -> None:
        """Switch the load off and hold the program; the step's time stops too."""
        if self.running and not self._pause_requested:
            self._pause_requested = True
            self._wake.set()

    def resume(self) -> None:
        if self.running and self._pause_requested:
            self._pause_requested = False
            self._wake.set()

    def abort(self, reason: str = OPERATOR_ABORT) -> None:
        if self.running and not self._abort_reason:
            self._abort_reason = reason
            self._wake.set()

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

    def _on_trip(self, trip: Trip) -> None:
        self.abort(trip.reason)

    # -- measurement ---------------------------------------------------------------------------
    def _on_samples(self, samples: Sequence[Sample]) -> None:
        m = self._meter
        if m is None:
            return
        got_v, got_i = m.feed(samples)
        if not (got_v or got_i):
            return
        for sc in self._scopes:
            if not sc.met:
                sc.met = sc.check(m, got_v)
                if sc.met:
                    self._wake.set()

    # -- execution -----------------------------------------------------------------------------
    async def _run(self, program: Program) -> None:
        reason = "completed"
        try:
            assert self.bench.load is not None
            await self.bench.load.set_remote(True)
            await self._steps(program.steps, "", ())
        except _Abort as a:
            reason = a.reason
        except asyncio.CancelledError:
            reason = self._abort_reason or EXIT
        except Exception as exc:
            log.exception("program %r failed", program.name)
            reason = ERROR
            if self.result is not None:
                self.result.error = str(exc) or repr(exc)
        finally:
            await self._finish(reason)

    async def _steps(self, steps: tuple[Step, ...], prefix: str, passes: tuple[int, ...]) -> None:
        for n, step in enumerate(steps, 1):
            path = f"{prefix}{n}"
            if isinstance(step, LoopStep):
                await self._loop(step, path, passes)
            else:
                suffix = "#" + ".".join(map(str, passes)) if passes else ""
                await self._leaf_step(step, path + suffix)

    async def _loop(self, step: LoopStep, path: str, passes: tuple[int, ...]) -> None:
        async def body() -> None:
            for k in range(1, step.count + 1):
                self.bench.record_event(
                    "program.loop", f"loop {path}: pass {k} of {step.count}", {"path": path, "pass": k}
                )
                await self._steps(step.steps, path + ".", (*passes, k))

        end = await self._scoped(step.until, body)
        self.bench.record_event("program.loop.end", f"loop {path} ended ({end})", {"path": path, "end": end})

    async def _scoped(self, until: Until, body: Callable[[], Awaitable[None]]) -> str:
        """Run ``body`` with ``until`` active; returns "done" or the condition that ended it."""
        assert self._meter is not None
        vmin = self.cutoff_voltage_v if until.voltage_below_v == CUTOFF else until.voltage_below_v
        scope = _Scope(until, float(vmin) if vmin is not None else None, self._meter)
        self._scopes.append(scope)
        try:
            await body()
            return "done"
        except _EndScope as e:
            if e.scope is not scope:
                raise
            return e.reason
        finally:
            self._scopes.remove(scope)

    async def _leaf_step(self, step: Step, path: str) -> None:
        m = self._meter
        assert m is not None
        assert self.result is not None
        clock = self.bench.clock
        res = StepResult(path, step.kind, step.label or step.describe(), clock.now_ns(), v_start=m.v)
        self.result.steps.append(res)
        self._leaf_no += 1
        self._leaf, self._pause_s = (res, step, m.ah, m.wh, clock.monotonic()), 0.0
        self.bench.record_event(
            "program.step",
            f"step {path}: {step.describe()}",
            {"path": path, "kind": step.kind, "label": res.label, "leaf": self._leaf_no},
        )
        self.changed.emit()
        end = "error"
        try:
            until = getattr(step, "until", Until())
            got = await self._scoped(until, lambda: self._execute(step, res))
            end = "duration" if got == "done" else got
        except _Abort as a:
            end = a.reason
            raise
        except _EndScope as e:
            end = e.reason
            raise
        finally:
            self._finish_leaf(res, end)

    def _finish_leaf(self, res: StepResult, end: str) -> None:
        m = self._meter
        assert m is not None
        assert self._leaf is not None
        _, _, ah0, wh0, t0 = self._leaf
        res.duration_s = self.bench.clock.monotonic() - t0
        res.ah, res.wh, res.v_end, res.end = m.ah - ah0, m.wh - wh0, m.v, end
        if end == "voltage" and self.result is not None and self.result.capacity_ah is None:
            self.result.capacity_ah = m.ah  # the capacity result: Ah drawn down to the cut-off
        self.bench.record_event(
            "program.step.end",
            f"step {res.path} ended ({end}): {res.ah:.4f} Ah, {res.wh:.3f} Wh in {res.duration_s:.1f} s",
            {
                "path": res.path,
                "end": end,
                "duration_s": res.duration_s,
                "ah": res.ah,
                "wh": res.wh,
                "v_end": res.v_end,
                "dcir_ohm": res.dcir_ohm,
            },
        )
        self.changed.emit()

    async def _execute(self, step: Step, res: StepResult) -> None:
        if isinstance(step, ConstantStep):
            await self._hold(_Setpoint(step.mode, step.value), step.duration_s)
        elif isinstance(step, RestStep):
            await self._hold(None, step.duration_s)
        elif isinstance(step, PulseStep):
            await self._pulses(step, res)
        elif isinstance(step, ProfileStep):
            clock = self.bench.clock
            for _ in range(step.repeat):
                t_plan = clock.monotonic()
                for duration, amps in step.segments:
                    t_plan += duration  # absolute schedule: slow commands do not stretch the profile
                    await self._hold(_Setpoint("cc", amps), max(0.0, t_plan - clock.monotonic()))

    async def _pulses(self, step: PulseStep, res: StepResult) -> None:
        m = self._meter
        assert m is not None
        for n in range(1, step.count + 1):
            before = m.reading()
            edge_ns = self.bench.clock.now_ns()
            await self._hold(_Setpoint("cc", step.current_a), step.on_s)
            after = m.reading()
            r = dcir(before, after, edge_ns)
            pr = PulseResult(n, edge_ns, before.v, before.i, after.v, after.i, r)
            res.pulses.append(pr)
            text = (
                f"pulse {n}: DCIR {r * 1000:.1f} mΩ" if r is not None else f"pulse {n}: no DCIR (no samples)"
            )
            self.bench.record_event(
                "program.pulse", f"step {res.path} {text}", {"path": res.path, **pr.as_dict()}
            )
            self.changed.emit()
            await self._hold(_Setpoint("cc", step.base_current_a), step.off_s)

    async def _hold(self, sp: _Setpoint | None, duration_s: float | None) -> None:
        """Apply ``sp`` (None: input off) and wait ``duration_s`` of bench time (None: until a
        condition); pauses stop the time, conditions and aborts end it early."""
        clock = self.bench.clock
        await self._apply(sp)
        remaining = duration_s
        while True:
            self._check()
            if remaining is not None and remaining <= 0:
                return
            t0 = clock.monotonic()
            await self._sleep_or_wake(remaining)
            if remaining is not None:
                remaining -= clock.monotonic() - t0
            self._check()
            if self._pause_requested:
                await self._paused()
                await self._apply(sp)

    def _check(self) -> None:
        if self._abort_reason:
            raise _Abort(self._abort_reason)
        for sc in self._scopes:  # outermost first: an ending loop wins over its step
            if sc.met:
                raise _EndScope(sc, sc.met)

    def _pending(self) -> bool:
        return bool(self._abort_reason or self._pause_requested or any(sc.met for sc in self._scopes))

    async def _sleep_or_wake(self, remaining: float | None) -> None:
        self._wake.clear()
        if self._pending():
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        tasks: set[asyncio.Future[Any]] = {waiter}
        if remaining is not None:
            tasks.add(asyncio.ensure_future(self.bench.clock.sleep(remaining)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()

    async def _paused(self) -> None:
        clock = self.bench.clock
        await self._apply(None)
        t0 = clock.monotonic()
        self.state = RunnerState.PAUSED
        self.bench.record_event("program.pause", "program paused (load input off)")
        self.changed.emit()
        while self._pause_requested and not self._abort_reason:
            self._wake.clear()
            if self._pause_requested and not self._abort_reason:
                await self._wake.wait()
        self._pause_s += clock.monotonic() - t0
        self.state = RunnerState.RUNNING
        self.bench.record_event("program.resume", "program resumed")
        self.changed.emit()

    async def _apply(self, sp: _Setpoint | None) -> None:
        if self._abort_reason:
            raise _Abort(self._abort_reason)
        sup = self.supervisor
        if sup is not None and sup.latched and sup.trip_state is not None:
            raise _Abort(sup.trip_state.reason)
        load = self.bench.load
        assert load is not None
        if sp is None:
            if load.input_on is not False:
                await load.set_input(False)
            return
        if sp.mode == "cc":
            await load.set_current(sp.value)
        else:
            await load.set_power(sp.value)
        if load.input_on is not True:
            await load.set_input(True)

    # -- the end: load off, whatever happened --------------------------------------------------
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

    async def _finish(self, reason: str) -> None:
        try:
            off = await self._switch_off()
        except asyncio.CancelledError:
            off = False
        sup = self.supervisor
        if not off and sup is not None:
            sup.trip(ERROR, "the program could not switch the load off")
        self.bench.samples_published.disconnect(self._on_samples)
        res, m = self.result, self._meter
        assert res is not None
        assert m is not None
        clock = self.bench.clock
        res.end_reason = reason
        res.ah, res.wh, res.gaps = m.ah, m.wh, m.gaps
        res.duration_s = clock.monotonic() - self._t0
        if reason == CUTOFF_VOLTAGE and res.capacity_ah is None:
            res.capacity_ah = m.ah
        trip = sup.trip_state if sup is not None else None
        if trip is not None and trip.t_ns >= res.started_ns:
            res.trip = {"reason": trip.reason, "text": trip.text, "values": trip.values}
        load = self.bench.load
        res.load_input_on = load.input_on if load is not None else False
        self.state = RunnerState.FINISHED
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
        self._leaf = None
        self.changed.emit()
        self.finished.emit(res)

    # -- progress for the panel ----------------------------------------------------------------
    def snapshot(self) -> Progress:
        prog, res, m = self._running_program, self.result, self._meter
        if prog is None or res is None or m is None:
            return Progress(RunnerState.IDLE, program=self.program.name if self.program else "")
        clock = self.bench.clock
        step_text, path, frac = "", "", 0.0
        leaf = self._leaf
        if leaf is not None and self.state is not RunnerState.FINISHED:
            r, step, ah0, wh0, t0 = leaf
            r.ah, r.wh, r.v_end = m.ah - ah0, m.wh - wh0, m.v
            r.duration_s = clock.monotonic() - t0
            step_text, path = step.describe(), r.path
            frac = _step_fraction(step, r, r.duration_s - self._pause_s, self._vmin(step))
        done = self.state is RunnerState.FINISHED
        leaves = max(1, prog.leaf_count())
        return Progress(
            state=self.state,
            program=prog.name,
            step_path=path,
            step_text=step_text,
            leaf=self._leaf_no,
            leaves=leaves,
            step_fraction=frac,
            fraction=1.0 if done else min(1.0, (max(0, self._leaf_no - 1) + frac) / leaves),
            elapsed_s=res.duration_s if done else clock.monotonic() - self._t0,
            ah=m.ah,
            wh=m.wh,
            voltage=m.v,
            current=m.i,
            results=tuple(replace(r, pulses=list(r.pulses)) for r in res.steps),
            end_reason=res.end_reason,
            error=res.error,
        )

    def _vmin(self, step: Step) -> float | None:
        v = getattr(getattr(step, "until", None), "voltage_below_v", None)
        return self.cutoff_voltage_v if v == CUTOFF else v


def _step_fraction(step: Step, r: StepResult, active_s: float, vmin: float | None) -> float:
    fr: list[float] = []
    total = None
    if isinstance(step, ConstantStep | RestStep) and step.duration_s:
        total = step.duration_s
    elif isinstance(step, PulseStep):
        total = step.count * (step.on_s + step.off_s)
    elif isinstance(step, ProfileStep):
        total = step.duration_s * step.repeat
    if total:
        fr.append(active_s / total)
    until = getattr(step, "until", None)
    if until is not None:
        if vmin is not None and r.v_start is not None and r.v_end is not None and r.v_start > vmin:
            fr.append((r.v_start - r.v_end) / (r.v_start - vmin))
        if until.ah:
            fr.append(r.ah / until.ah)
        if until.wh:
            fr.append(r.wh / until.wh)
    return min(1.0, max([0.0, *fr]))


__all__ = ["ProgramRunner", "Progress", "RunnerState"]
