"""One attempt of the supervisor to switch the load off, judged by what the device reports.

"Load off" means the device's own status says its input is off: an acknowledged off command
alone is not enough (a device may acknowledge and keep sinking current). A load that can say
(:class:`~benchgui.instruments.base.SafeOffLoad`, e.g. the EA load's status object) is switched
off urgently — ahead of any poll or command on its line — and then asked; a load that cannot
counts as off once it has taken the command (:attr:`OffOutcome.ACKNOWLEDGED`, said as such in
the ``safety.load_off`` event).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from benchgui.clock import ns_to_s
from benchgui.instruments.base import LoadControl, SafeOffLoad

if TYPE_CHECKING:
    from benchgui.core.bench import Bench
    from benchgui.core.limits import Limits
    from benchgui.core.safety import Trip

log = logging.getLogger("benchgui.core.safety")

#: this many acknowledged off commands after which the device still reports its input on
#: escalate (one alone may be a status read racing the device's own update)
ESCALATE_AFTER = 2


class OffOutcome(enum.Enum):
    CONFIRMED = "confirmed"  # the device reports its input off
    ACKNOWLEDGED = "acknowledged"  # it took the command and cannot report its input
    STILL_ON = "still on"  # it took the command, yet reports its input on
    UNKNOWN = "unknown"  # no answer to judge by yet (retry)


async def switch_off(load: LoadControl, attempt: int) -> OffOutcome:
    """Send the off (taking remote control back from the second attempt on), then judge it."""
    if isinstance(load, SafeOffLoad):
        await load.switch_off_urgently(take_remote=attempt > 1)
        on = await load.read_input_on()
        if on is None:
            return OffOutcome.ACKNOWLEDGED
        return OffOutcome.STILL_ON if on else OffOutcome.CONFIRMED
    if attempt > 1:  # a refused command may mean the load left remote control: take it back
        await load.set_remote(True)
    await load.set_input(False)
    return OffOutcome.ACKNOWLEDGED if load.input_on is False else OffOutcome.UNKNOWN


class OffEnforcement:
    """The supervisor's switching off (a part of :class:`~.safety.Supervisor`, kept apart by
    job): one enforcer task, retried until the device reports the input off, escalating while
    it reports it on."""

    bench: Bench
    limits: Limits
    trip_state: Trip | None
    escalations: int
    _closing: bool
    _enforcer: asyncio.Task[None] | None
    _loop: asyncio.AbstractEventLoop | None

    def _update_armed(self) -> None:
        raise NotImplementedError

    def _emit(self) -> None:
        raise NotImplementedError

    def _ensure_enforcer(self) -> None:
        if self._closing or (self._enforcer is not None and not self._enforcer.done()):
            return
        loop = self._loop or asyncio.get_running_loop()
        self._enforcer = loop.create_task(self._enforce(), name="safety-enforce")
        self._enforcer.add_done_callback(self._enforcer_done)

    def _enforcer_done(self, task: asyncio.Task[None]) -> None:
        if self._closing or task.cancelled():
            return
        if task.exception() is not None:
            log.critical("safety enforcer failed (%r); restarting it", task.exception())
            self._ensure_enforcer()

    async def _enforce(self) -> None:
        load = self.bench.load
        if load is None:
            self._mark_off(None, OffOutcome.ACKNOWLEDGED)
            return
        attempts = still_on = 0
        timeout = max(1.0, 4 * self.limits.retry_interval_s)
        while True:
            attempts += 1
            outcome = OffOutcome.UNKNOWN
            try:
                # asyncio.timeout, not wait_for: no extra task, so the command goes out in this
                # very step, before anything else the trip scheduled
                async with asyncio.timeout(timeout):
                    outcome = await switch_off(load, attempts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempts in (1, 2, 10) or attempts % 50 == 0:
                    log.error("safety: switching the load off failed (attempt %d): %s", attempts, exc)
                    self.bench.record_event(
                        "safety.retry",
                        f"switching the load off failed (attempt {attempts}): {exc}",
                        {"attempt": attempts, "error": str(exc)},
                    )
            if outcome in (OffOutcome.CONFIRMED, OffOutcome.ACKNOWLEDGED):
                self._mark_off(attempts, outcome)
                return
            if outcome is OffOutcome.STILL_ON:
                still_on += 1
                if still_on >= ESCALATE_AFTER:
                    self._escalate(attempts, still_on)
            await asyncio.sleep(self.limits.retry_interval_s)

    def _escalate(self, attempts: int, still_on: int) -> None:
        """The device acknowledges the off and still reports its input on: say so loudly."""
        t = self.trip_state
        first = t is not None and not t.escalated
        if t is not None and first:
            self.trip_state = replace(t, escalated=True)
            self.escalations += 1
        if first or still_on in (10,) or still_on % 50 == 0:
            text = (
                f"the load still reports its input ON after {still_on} acknowledged off commands: "
                "switch it off at the device or disconnect the battery"
            )
            log.critical("SAFETY: %s", text)
            self.bench.record_event("safety.escalate", text, {"attempts": attempts, "still_on": still_on})
            self._emit()

    def _mark_off(self, attempts: int | None, outcome: OffOutcome) -> None:
        now = self.bench.clock.now_ns()
        t = self.trip_state
        confirmed = outcome is OffOutcome.CONFIRMED
        if t is not None and not t.load_off:
            self.trip_state = replace(t, load_off=True, off_t_ns=now, confirmed=confirmed)
            latency = ns_to_s(now - t.t_ns)
            how = (
                "reported off by the device" if confirmed else "off acknowledged (the load cannot report it)"
            )
            log.warning("safety: load input %s %.3f s (bench) after the trip", how, latency)
            self.bench.record_event(
                "safety.load_off",
                f"load input {how}" if attempts is not None else "no load on this bench",
                {"reason": t.reason, "latency_s": latency, "attempts": attempts, "confirmed": confirmed},
            )
        self._update_armed()
        self._emit()
