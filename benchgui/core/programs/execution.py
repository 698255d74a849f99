"""One run of a discharge program: walks the steps, holds setpoints, judges end conditions.

Created by the :class:`~benchgui.core.programs.runner.ProgramRunner` for every start. Waits are
in bench time (``clock.sleep``); end conditions are judged on sample times as samples arrive
(:meth:`Execution.on_samples`), so a run at ``--speed`` gives the results of a run in real
time. Conditions are *scopes*: a step's ``until_…`` and every enclosing loop's are active at
once; the outermost one met ends its scope (an ending loop wins over its step).

Switching the load off at the end is the runner's job (whatever ended the run); here the input
is only switched off for rests and pauses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchgui.core.limits import ERROR, EXIT, Debounce
from benchgui.core.programs.meter import Meter, dcir
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
from benchgui.model import Sample

if TYPE_CHECKING:
    from benchgui.core.bench import Bench
    from benchgui.core.safety import Supervisor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setpoint:
    mode: str  # cc | cp
    value: float


class Abort(Exception):
    """The run must end now (operator, trip, exit); ``reason`` is the end reason."""

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


@dataclass
class Leaf:
    """The step running now, with the counters at its start (for live results and progress)."""

    result: StepResult
    step: Step
    ah0: float
    wh0: float
    t0: float  # bench monotonic
    paused_s: float = 0.0


class Execution:
    def __init__(
        self,
        bench: Bench,
        supervisor: Supervisor | None,
        program: Program,
        meter: Meter,
        result: ProgramResult,
        cutoff_voltage_v: float,
        notify: Callable[[], None],
    ) -> None:
        self.bench = bench
        self.supervisor = supervisor
        self.program = program
        self.meter = meter
        self.result = result
        self.cutoff_voltage_v = cutoff_voltage_v
        self.notify = notify  # something changed (the runner tells the panel)
        self.t0 = bench.clock.monotonic()
        self.leaf_no = 0
        self.leaf: Leaf | None = None
        self.paused = False
        self.abort_reason = ""
        self.pause_requested = False
        self._scopes: list[_Scope] = []
        self._wake = asyncio.Event()

    # -- commands (from the runner) ------------------------------------------------------------
    def abort(self, reason: str) -> None:
        if not self.abort_reason:
            self.abort_reason = reason
            self._wake.set()

    def pause(self, on: bool) -> None:
        self.pause_requested = on
        self._wake.set()

    def vmin(self, until: Until | None) -> float | None:
        v = until.voltage_below_v if until is not None else None
        return self.cutoff_voltage_v if v == CUTOFF else (float(v) if v is not None else None)

    # -- measurement ---------------------------------------------------------------------------
    def on_samples(self, samples: Sequence[Sample]) -> None:
        """Judge the end conditions on every sample, in order (the runner gets the samples
        before the safety supervisor): a burst of several bench seconds, as at a high
        ``--speed``, is judged as if it had arrived sample by sample."""
        m = self.meter
        watched = (m.voltage_channel, m.current_channel)
        for s in samples:
            if s.channel not in watched:
                continue
            got_v, got_i = m.feed((s,))
            if not (got_v or got_i):
                continue
            for sc in self._scopes:
                if not sc.met:
                    sc.met = sc.check(m, got_v)
                    if sc.met:
                        self._wake.set()

    # -- the run -------------------------------------------------------------------------------
    async def run(self) -> str:
        """Run every step; returns the end reason (never raises but for cancellation)."""
        try:
            assert self.bench.load is not None
            await self.bench.load.set_remote(True)
            await self._steps(self.program.steps, "", ())
            return "completed"
        except Abort as a:
            return a.reason
        except asyncio.CancelledError:
            return self.abort_reason or EXIT
        except Exception as exc:
            trip = self.supervisor.trip_state if self.supervisor is not None else None
            if trip is not None and not trip.acknowledged:  # the trip's off cut a command short
                log.info("program %r: %s (safety trip: %s)", self.program.name, exc, trip.text)
                return trip.reason
            log.exception("program %r failed", self.program.name)
            self.result.error = str(exc) or repr(exc)
            return ERROR

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
        scope = _Scope(until, self.vmin(until), self.meter)
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
        m, clock = self.meter, self.bench.clock
        res = StepResult(path, step.kind, step.label or step.describe(), clock.now_ns(), v_start=m.v)
        self.result.steps.append(res)
        self.leaf_no += 1
        leaf = self.leaf = Leaf(res, step, m.ah, m.wh, clock.monotonic())
        self.bench.record_event(
            "program.step",
            f"step {path}: {step.describe()}",
            {"path": path, "kind": step.kind, "label": res.label, "leaf": self.leaf_no},
        )
        self.notify()
        end = ERROR
        try:
            got = await self._scoped(getattr(step, "until", Until()), lambda: self._execute(step, res))
            end = "duration" if got == "done" else got
        except Abort as a:
            end = a.reason
            raise
        except _EndScope as e:
            end = e.reason
            raise
        finally:
            self._finish_leaf(leaf, end)

    def _finish_leaf(self, leaf: Leaf, end: str) -> None:
        m, res = self.meter, leaf.result
        res.duration_s = self.bench.clock.monotonic() - leaf.t0
        res.ah, res.wh, res.v_end, res.end = m.ah - leaf.ah0, m.wh - leaf.wh0, m.v, end
        if end == "voltage" and self.result.capacity_ah is None:
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
        self.notify()

    async def _execute(self, step: Step, res: StepResult) -> None:
        if isinstance(step, ConstantStep):
            await self._hold(Setpoint(step.mode, step.value), step.duration_s)
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
                    await self._hold(Setpoint("cc", amps), max(0.0, t_plan - clock.monotonic()))

    async def _pulses(self, step: PulseStep, res: StepResult) -> None:
        m = self.meter
        for n in range(1, step.count + 1):
            before = m.reading()
            edge_ns = self.bench.clock.now_ns()
            await self._hold(Setpoint("cc", step.current_a), step.on_s)
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
            self.notify()
            await self._hold(Setpoint("cc", step.base_current_a), step.off_s)

    # -- holding a setpoint --------------------------------------------------------------------
    async def _hold(self, sp: Setpoint | None, duration_s: float | None) -> None:
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
            if self.pause_requested:
                await self._paused()
                await self._apply(sp)

    def _check(self) -> None:
        if self.abort_reason:
            raise Abort(self.abort_reason)
        for sc in self._scopes:  # outermost first: an ending loop wins over its step
            if sc.met:
                raise _EndScope(sc, sc.met)

    def _pending(self) -> bool:
        return bool(self.abort_reason or self.pause_requested or any(sc.met for sc in self._scopes))

    async def _sleep_or_wake(self, remaining: float | None) -> None:
        self._wake.clear()
        if self._pending():
            return
        tasks: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wake.wait())}
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
        self.paused = True
        self.bench.record_event("program.pause", "program paused (load input off)")
        self.notify()
        while self.pause_requested and not self.abort_reason:
            self._wake.clear()
            if self.pause_requested and not self.abort_reason:
                await self._wake.wait()
        if self.leaf is not None:
            self.leaf.paused_s += clock.monotonic() - t0
        self.paused = False
        self.bench.record_event("program.resume", "program resumed")
        self.notify()

    async def _apply(self, sp: Setpoint | None) -> None:
        if self.abort_reason:
            raise Abort(self.abort_reason)
        sup = self.supervisor
        if sup is not None and sup.latched and sup.trip_state is not None:
            raise Abort(sup.trip_state.reason)
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

    # -- progress ------------------------------------------------------------------------------
    def step_fraction(self) -> float:
        """How far the current step is (by time, voltage, Ah or Wh — whichever is furthest)."""
        leaf = self.leaf
        if leaf is None:
            return 0.0
        step, r = leaf.step, leaf.result
        active_s = self.bench.clock.monotonic() - leaf.t0 - leaf.paused_s
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
            vmin = self.vmin(until)
            if vmin is not None and r.v_start is not None and r.v_end is not None and r.v_start > vmin:
                fr.append((r.v_start - r.v_end) / (r.v_start - vmin))
            if until.ah:
                fr.append(r.ah / until.ah)
            if until.wh:
                fr.append(r.wh / until.wh)
        return min(1.0, max([0.0, *fr]))
