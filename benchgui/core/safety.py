"""The safety supervisor: switches the load input off when something is wrong, and says why.

An electronic load left drawing current from a battery with nobody watching destroys the
battery, so this runs in the core (GUI, ``record`` and ``run-program`` alike) and is armed
whenever the load input is on. The measurement interlocks live in
:mod:`benchgui.core.interlocks`; this module adds the actions:

* a **trip** latches: it records a ``safety.trip`` event with the reason and the numbers, switches
  the load input off — the off command goes ahead of everything else on the load's line — and
  retries until the device's own status reports the input off (:mod:`.safety_off`); while the
  device still reports it on after acknowledged off commands it **escalates** (``escalated`` on
  the trip for the banner, a ``safety.escalate`` event, repeated off; headless front ends exit
  non-zero), and it keeps switching the load off again while the trip is not acknowledged;
* emergency stop, SIGINT/SIGTERM, application exit and unhandled exceptions in the core trip too;
* the supervisor watches itself: if its monitor task dies or a check raises, that is a trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from benchgui.core.interlocks import Interlocks
from benchgui.core.limits import ERROR, EXIT, OPERATOR_ABORT, SIGNAL, Limits, Violation
from benchgui.core.safety_off import OffEnforcement
from benchgui.errors import BenchError
from benchgui.model import Channel, Sample
from benchgui.signals import Signal

if TYPE_CHECKING:
    from benchgui.config.schema import Config
    from benchgui.core.bench import Bench

log = logging.getLogger(__name__)

INPUT_CHANNEL = "load.input.load"


class ProgramActivity(Protocol):
    """What the supervisor asks the program runner: whether a program is running. A program
    resting between steps has the load off, yet an exit or a core error then is still a trip."""

    @property
    def running(self) -> bool: ...


class InterlockTripped(BenchError):
    """A command was refused because a safety trip is latched and not yet acknowledged."""


@dataclass(frozen=True)
class Trip:
    """One latched trip, as the banner shows it."""

    reason: str
    text: str
    values: dict[str, Any]
    t_ns: int
    acknowledged: bool = False
    load_off: bool = False  # the device reports its input off (or, unable to tell, took the off)
    off_t_ns: int | None = None
    confirmed: bool = False  # load_off was confirmed by the device's status, not only acknowledged
    escalated: bool = False  # the device kept reporting its input on after acknowledged offs


@dataclass(frozen=True)
class SafetyState:
    """What the GUI shows: armed or not, the latched trip, counters, the judged voltage."""

    armed: bool = False
    trip: Trip | None = None
    judged_channel: str | None = None
    discharged_ah: float = 0.0
    discharge_time_s: float = 0.0
    load_input_on: bool | None = None
    limits: dict[str, Any] = field(default_factory=dict)


class Supervisor(OffEnforcement):
    """The ``bench.services.supervisor`` service."""

    def __init__(self, bench: Bench, limits: Limits, *, tick_s: float = 0.1) -> None:
        self.bench = bench
        self.limits = limits
        self.tick_s = tick_s
        self.interlocks = Interlocks(limits, bench.channels, bench.clock.speed)
        self.trip_state: Trip | None = None
        self.state_changed: Signal[[SafetyState]] = Signal("safety.state_changed")
        self.tripped: Signal[[Trip]] = Signal("safety.tripped")
        #: a signal (SIGINT/SIGTERM) asked the application to exit; front ends close on it
        self.exit_requested: Signal[[str]] = Signal("safety.exit_requested")
        self._last_input_sample: bool | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._enforcer: asyncio.Task[None] | None = None
        self._closing = False
        self._started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._old_signals: dict[int, Any] = {}
        self._loop_signals: list[int] = []
        self._old_exc_handler: Any = None
        self._programs: ProgramActivity | None = None  # see watch_programs()
        #: trips this run whose load kept reporting its input on (headless front ends exit non-zero)
        self.escalations = 0

    @classmethod
    def attach(cls, bench: Bench, cfg: Config, *, handle_signals: bool = True) -> Supervisor:
        """Create, register as ``bench.services.supervisor`` and start (needs a running loop)."""
        sup = cls(bench, Limits.from_config(cfg))
        bench.services.supervisor = sup
        sup.start(handle_signals=handle_signals)
        return sup

    def watch_programs(self, programs: ProgramActivity) -> None:
        """The program runner announces itself, so that a running program counts as armed for
        an exit or a core error even while its load is off."""
        self._programs = programs

    def set_program_cutoff(self, voltage_v: float | None) -> None:
        """A program with its own voltage end condition at ``voltage_v`` runs (None: it ended):
        the cut-off is judged ``cutoff_margin_v`` below it, so the program's condition acts
        first and a trip means it failed to (see :meth:`Interlocks.cutoff_v`)."""
        self.interlocks.program_cutoff_v = voltage_v
        log.info("safety: cut-off judged at %.3f V", self.interlocks.cutoff_v())
        self._emit()

    def _program_active(self) -> bool:
        return self._programs is not None and self._programs.running

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, *, handle_signals: bool = True) -> None:
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        self.bench.samples_published.connect(self._on_samples)
        self.bench.channels_added.connect(self._on_channels)
        self._start_monitor()
        self._old_exc_handler = self._loop.get_exception_handler()
        self._loop.set_exception_handler(self._on_loop_exception)
        if handle_signals and threading.current_thread() is threading.main_thread():
            self._install_signal_handlers()
        if not self.limits.measurements:
            log.warning("safety: measurement interlocks are disabled ([safety] enabled = false)")
        log.info("safety supervisor started: %s", self.limits.as_dict())

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Application exit: switch the load off (recorded as a trip if it was on), then stop."""
        if self._closing:
            return
        self._update_armed()
        on = self.load_input_on
        if on or (on is None and self.armed) or self._program_active():
            self.trip(EXIT, "application exit with the load input on")
        if self._enforcer is not None and not self._enforcer.done():
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(self._enforcer), timeout_s)
        self._closing = True
        for task in (self._monitor, self._enforcer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(ValueError):
            self.bench.samples_published.disconnect(self._on_samples)
        with contextlib.suppress(ValueError):
            self.bench.channels_added.disconnect(self._on_channels)
        self._restore_handlers()

    # -- state --------------------------------------------------------------------------------
    @property
    def load_input_on(self) -> bool | None:
        load = self.bench.load
        on = load.input_on if load is not None else None
        return self._last_input_sample if on is None else on

    @property
    def armed(self) -> bool:
        return self.interlocks.armed

    @property
    def state(self) -> SafetyState:
        now = self.bench.clock.now_ns()
        return SafetyState(
            armed=self.interlocks.armed,
            trip=self.trip_state,
            judged_channel=self.interlocks.judged_channel(now),
            discharged_ah=self.interlocks.discharged_ah,
            discharge_time_s=self.interlocks.discharge_time_s(now),
            load_input_on=self.load_input_on,
            limits=self.limits.as_dict(),
        )

    @property
    def latched(self) -> bool:
        """A trip is waiting for the operator's acknowledgement."""
        return self.trip_state is not None and not self.trip_state.acknowledged

    def check_may_switch_on(self) -> None:
        """Raise :class:`InterlockTripped` while a trip is latched (programs call this first)."""
        t = self.trip_state
        if t is not None and not t.acknowledged:
            raise InterlockTripped(f"safety trip not acknowledged: {t.text}")

    def _emit(self) -> None:
        self.state_changed.emit(self.state)

    # -- commands -----------------------------------------------------------------------------
    def trip(self, reason: str, text: str, values: dict[str, Any] | None = None) -> Trip:
        """Latch a trip, record it, and switch the load off (asynchronously, retried)."""
        now = self.bench.clock.now_ns()
        values = dict(values or {})
        values.setdefault("load_input_on", self.load_input_on)
        current = self.trip_state
        if current is not None and not current.acknowledged:
            # already latched: record the extra reason, keep the first on the banner
            self.bench.record_event("safety.trip", f"also: {text}", {"reason": reason, **values})
            self._ensure_enforcer()
            return current
        trip = self.trip_state = Trip(reason, text, values, now)
        log.error("SAFETY TRIP (%s): %s", reason, text)
        self.bench.record_event("safety.trip", text, {"reason": reason, **values})
        self._ensure_enforcer()
        # listeners (program runner, GUI banner) after the enforcer's first step: redrawing a
        # window must not delay switching the load off
        try:
            (self._loop or asyncio.get_running_loop()).call_soon(self._announce, trip)
        except RuntimeError:  # no running loop (shutting down): tell them now
            self._announce(trip)
        return trip

    def _announce(self, trip: Trip) -> None:
        self.tripped.emit(trip)
        self._emit()

    def emergency_stop(self, origin: str = "button") -> Trip:
        """The operator's emergency stop (button or keyboard shortcut)."""
        return self.trip(OPERATOR_ABORT, f"emergency stop ({origin})", {"origin": origin})

    def acknowledge(self) -> None:
        """The operator has seen the trip: clear the banner (the event stays recorded)."""
        t = self.trip_state
        if t is None or t.acknowledged:
            return
        self.trip_state = replace(t, acknowledged=True)
        self.bench.record_event("safety.acknowledge", f"trip acknowledged: {t.text}", {"reason": t.reason})
        self._emit()

    def reset_counters(self) -> None:
        """A new discharge starts: discharged Ah and discharge time count from zero."""
        now = self.bench.clock.now_ns()
        ah, t = self.interlocks.discharged_ah, self.interlocks.discharge_time_s(now)
        self.interlocks.reset_counters(now)
        self.bench.record_event(
            "safety.reset_counters",
            f"discharge counters reset (were {ah:.4f} Ah, {t:.0f} s)",
            {"ah": ah, "discharge_time_s": t},
        )
        self._emit()

    def set_limits(self, limits: Limits) -> dict[str, tuple[Any, Any]]:
        """Judge by ``limits`` from now on; records which values changed (old, new)."""
        before = self.limits.as_dict()
        after = limits.as_dict()
        changed = {k: (before[k], v) for k, v in after.items() if before.get(k) != v}
        self.limits = limits
        self.interlocks.set_limits(limits, self.bench.channels, self.bench.clock.speed)
        if changed:
            text = "safety limits changed: " + ", ".join(f"{k} {a} → {b}" for k, (a, b) in changed.items())
            log.info("%s", text)
            self.bench.record_event(
                "safety.limits", text, {k: {"old": a, "new": b} for k, (a, b) in changed.items()}
            )
        self._emit()
        return changed

    # -- listening ------------------------------------------------------------------------------
    def _on_channels(self, channels: Sequence[Channel]) -> None:
        self.interlocks.update_channels(self.bench.channels)

    def _on_samples(self, samples: Sequence[Sample]) -> None:
        try:
            for s in samples:
                if s.channel == INPUT_CHANNEL:
                    self._last_input_sample = s.value >= 0.5
            self._update_armed()
            violation = self.interlocks.on_samples(samples)
            self._drain_notices()
            if violation is not None:
                self._trip_violation(violation)
        except Exception as exc:  # a broken supervisor must not leave the load on
            log.exception("safety check failed")
            self.trip(ERROR, f"safety check failed: {exc!r}", {"exception": repr(exc)})

    def _update_armed(self) -> None:
        now = self.bench.clock.now_ns()
        on = self.load_input_on
        if on and not self.interlocks.armed:
            self.interlocks.arm(now)
            log.info("safety: armed (load input on)")
            self._emit()
        elif on is False and self.interlocks.armed:
            self.interlocks.disarm(now)
            log.info("safety: disarmed (load input off)")
            self._emit()
        if on and self.latched and (self._enforcer is None or self._enforcer.done()):
            # latched trip and someone switched the input back on: off again
            self.bench.record_event("safety.enforce", "load input on while a trip is latched: switching off")
            self._ensure_enforcer()

    def _trip_violation(self, v: Violation) -> None:
        if self.trip_state is not None and not self.trip_state.acknowledged:
            return  # latched already; the enforcer is on it
        self.trip(v.reason, v.text, v.values)

    def _drain_notices(self) -> None:
        while self.interlocks.notices:
            kind, text, data = self.interlocks.notices.pop(0)
            log.warning("safety: %s", text)
            self.bench.record_event(kind, text, data)

    # -- the monitor task (ticks in bench time) and its watchdog ----------------------------------
    def _start_monitor(self) -> None:
        self._monitor = asyncio.get_running_loop().create_task(self._run_monitor(), name="safety-monitor")
        self._monitor.add_done_callback(self._monitor_done)

    async def _run_monitor(self) -> None:
        clock = self.bench.clock
        armed_tick = max(self.tick_s / clock.speed, 0.005)
        idle_tick = max(armed_tick, 0.1)  # disarmed there is nothing to time: spare the CPU
        emitted = 0.0
        while True:
            self._update_armed()
            violation = self.interlocks.on_tick(clock.now_ns())
            self._drain_notices()
            if violation is not None:
                self._trip_violation(violation)
            if self.interlocks.armed and clock.monotonic() - emitted >= 1.0:
                emitted = clock.monotonic()
                self._emit()  # counters for the GUI, once per bench second
            await asyncio.sleep(armed_tick if self.interlocks.armed or self.latched else idle_tick)

    def _monitor_done(self, task: asyncio.Task[None]) -> None:
        if self._closing:
            return
        exc = None if task.cancelled() else task.exception()
        log.critical("safety monitor stopped (%r): switching the load off and restarting it", exc)
        self.trip(ERROR, f"safety monitor stopped: {exc!r}", {"exception": repr(exc)})
        self._start_monitor()

    # -- process-level hooks: signals, unhandled exceptions --------------------------------------
    def _install_signal_handlers(self) -> None:
        assert self._loop is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_signals[sig] = signal.getsignal(sig)
            try:
                self._loop.add_signal_handler(sig, self.on_signal, sig)
                self._loop_signals.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                signal.signal(sig, self._threadsafe_signal)

    def _threadsafe_signal(self, signum: int, _frame: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.on_signal, signum)

    def on_signal(self, signum: int) -> None:
        """SIGINT/SIGTERM: load off (a trip), then ask the front end to exit."""
        name = signal.Signals(signum).name
        self.trip(SIGNAL, f"{name} received: switching the load off", {"signal": name})
        # after the enforcer's first attempt (scheduled by the trip), not before it
        assert self._loop is not None
        self._loop.call_soon(self.exit_requested.emit, name)

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if self._old_exc_handler is not None:
            self._old_exc_handler(loop, context)
        else:
            loop.default_exception_handler(context)
        exc = context.get("exception")
        if not isinstance(exc, Exception):
            return
        text = f"unhandled exception in the core: {exc!r}"
        if self.armed or self.load_input_on or self._program_active():
            self.trip(ERROR, text, {"exception": repr(exc), "message": context.get("message", "")})
        else:
            self.bench.record_event("core.error", text, {"exception": repr(exc)})

    def _restore_handlers(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if loop.get_exception_handler() == self._on_loop_exception:
            loop.set_exception_handler(self._old_exc_handler)
        for sig in self._loop_signals:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        for sig, old in self._old_signals.items():
            with contextlib.suppress(Exception):
                signal.signal(sig, old)
        self._loop_signals.clear()
        self._old_signals.clear()
