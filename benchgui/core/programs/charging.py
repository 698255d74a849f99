"""The charger interlock of a program: charging off for its run, restored afterwards.

A capacity test with the charger pushing current into the battery measures nothing (the issue
that brought this in: a 5 A discharge in the sun ran on the safety Ah limit for 1 h 44 min while
its own meter said −0.78 Ah). A program with ``charger = "off"`` (the default for programs that
discharge to a voltage) therefore switches charging off before its first step — on the MPPT
over ThingSet (``input/DcdcEn``), through :class:`~benchgui.instruments.base.ChargingSwitch` —
and switches it back on afterwards if it was on. When that cannot be guaranteed the program is
refused with a message that names the charging current; a bench without any charger runs as
it is and its result says so (``charger_off`` null).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from benchgui.errors import BenchError
from benchgui.instruments.base import ChargingSwitch

if TYPE_CHECKING:
    from benchgui.core.bench import Bench
    from benchgui.core.programs.model import Program, ProgramResult

log = logging.getLogger(__name__)

#: channels that say a charger is on the bench, and where its current shows (load input off)
CHARGER_QUANTITIES = ("solar.", "charger.")
CHARGING_CURRENT_CHANNELS = ("battery.current.mppt", "solar.current.mppt")


class ChargerNotOff(BenchError):
    """``charger = "off"`` cannot be guaranteed on this bench: the program does not start."""


def charging_current_text(bench: Bench) -> str:
    """The charger's present current, for the refusal (the load input is still off then)."""
    for name in CHARGING_CURRENT_CHANNELS:
        got = bench.display.latest(name)
        if got is not None:
            return f"{got[1]:+.2f} A on {name}"
    return "an unknown current (no charger current measured)"


class ChargerGuard:
    """Switches charging off for one program run and restores it (the runner's helper)."""

    def __init__(self, bench: Bench, program: Program) -> None:
        self.bench = bench
        self.program = program
        self.switch: ChargingSwitch | None = next(
            (s for s in bench.sources.values() if isinstance(s, ChargingSwitch)), None
        )
        self.was_on: bool | None = None
        self.switched_off = False

    def _has_charger(self) -> bool:
        return any(n.startswith(CHARGER_QUANTITIES) for n in self.bench.channels)

    async def acquire(self, result: ProgramResult) -> None:
        """Before the first step: charging off (or refuse with :class:`ChargerNotOff`)."""
        result.charger = self.program.charger
        if self.program.charger == "allow":
            result.charger_off = False
            result.charger_note = "charging allowed by the program"
            return
        if self.switch is None:
            if self._has_charger():
                raise ChargerNotOff(
                    f'charger = "off": this bench cannot switch its charger off, and it is charging at '
                    f'{charging_current_text(self.bench)}; set charger = "allow" in [program] to run anyway'
                )
            result.charger_off = None
            result.charger_note = "no charger on this bench"
            return
        await self._wait_known()
        self.was_on = self.switch.charging_enabled
        try:
            await self.switch.set_charging(False)
        except BenchError as exc:
            current = charging_current_text(self.bench)
            await self._restore_quietly()
            raise ChargerNotOff(
                f'charger = "off": the charger could not be switched off ({exc}); it is charging at '
                f'{current}; switch it off by hand, or set charger = "allow" in [program] to run anyway'
            ) from exc
        self.switched_off = True
        result.charger_off = True
        result.charger_note = "charging switched off for the run (MPPT input/DcdcEn = false)"

    def announce(self) -> None:
        """Record the switch-off into the session (after ``program.start``)."""
        if self.switched_off:
            self.bench.record_event(
                "program.charger",
                "charging switched off for the program",
                {"charger": "off", "was_on": self.was_on},
            )

    async def _wait_known(self, timeout_s: float = 15.0) -> None:
        """A charger that is still connecting reports its enable state once it is connected
        (real time, bounded; firmware without the item never does — then the command says so)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.switch is not None and self.switch.charging_enabled is None and loop.time() < deadline:
            await asyncio.sleep(0.05)

    async def _restore_quietly(self) -> None:
        if self.switch is not None and self.was_on is not False:
            with contextlib.suppress(BenchError):
                await self.switch.set_charging(True)

    async def release(self, result: ProgramResult) -> None:
        """After the run (load off): charging back on if the program switched it off."""
        if not self.switched_off or self.switch is None:
            return
        self.switched_off = False
        if self.was_on is False:
            return  # it was off before the program: leave it so
        try:
            await self.switch.set_charging(True)
        except BenchError as exc:
            log.error("program end: switching charging back on failed: %s", exc)
            result.charger_note += f"; restoring it failed: {exc}"
            self.bench.record_event(
                "program.charger", f"switching charging back on failed: {exc}", {"charger": "restore_failed"}
            )
            return
        self.bench.record_event("program.charger", "charging switched back on", {"charger": "restored"})
