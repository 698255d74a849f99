"""The demo bench's activity: a program cycling the load through the day, again and again.

``benchgui --demo`` should show a bench doing something — a newcomer sees every trace move in
the first minute — not a battery resting at 12.6 V. So the GUI on the simulated bench starts
``[simulation] demo_program`` (``demo-day``, shipped with the examples; "" keeps the bench
idle) through the ordinary program runner, under the safety supervisor like any program. When
it completes (its loop ran out, or the battery got low and its voltage condition ended it) the
demo rests ``rest_s`` of bench time and starts it again. Anything else ends the demo for the
session: the operator's abort (so the Programs panel is free for their own program), a trip,
an error, the application closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from benchgui.core.programs import loader
from benchgui.errors import BenchError, ConfigError

if TYPE_CHECKING:
    from benchgui.core.programs.model import Program
    from benchgui.core.programs.runner import ProgramRunner

log = logging.getLogger(__name__)

COMPLETED = "completed"


def demo_program_path(setting: str) -> Path | None:
    """``[simulation] demo_program``: a shipped example by name (``demo-day`` or
    ``demo-day.toml``) or a path; None for "" (an idle demo bench)."""
    if not setting.strip():
        return None
    name = setting.strip()
    shipped = loader.examples_dir() / (name if name.endswith(".toml") else f"{name}.toml")
    if shipped.is_file():
        return shipped
    return Path(name).expanduser()


class DemoActivity:
    """Runs the demo program on the runner and restarts it after it completes."""

    def __init__(self, runner: ProgramRunner, program: Program, *, rest_s: float = 300.0) -> None:
        self.runner = runner
        self.program = program
        self.rest_s = rest_s
        self.runs = 0
        self.task: asyncio.Task[None] | None = None

    @staticmethod
    def load(setting: str) -> Program | None:
        """The configured demo program (None: the demo bench stays idle); a bad file is a
        ConfigError naming ``simulation.demo_program``."""
        path = demo_program_path(setting)
        if path is None:
            return None
        try:
            return loader.load_program(path)
        except ConfigError as exc:
            raise ConfigError("simulation.demo_program", str(exc)) from None

    def start(self) -> None:
        """Start the demo (needs a running loop; the bench must be started)."""
        self.task = asyncio.get_running_loop().create_task(self.run(), name="demo-program")

    async def run(self) -> None:
        runner, clock = self.runner, self.runner.bench.clock
        try:
            while True:
                await runner.wait_load_ready()
                await runner.start(self.program)
                self.runs += 1
                result = await runner.wait()
                if result.end_reason != COMPLETED:
                    log.info("demo program ended (%s): the demo bench stays as it is", result.end_reason)
                    return
                await clock.sleep(self.rest_s)
        except BenchError as exc:  # someone else's program runs, a trip is latched, no load
            log.info("demo program not (re)started: %s", exc)

    async def aclose(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
