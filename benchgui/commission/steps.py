"""One commissioning step: a check with a time limit, judged, with its wire exchange on failure.

A check is a coroutine returning one line of what it found; it raises :class:`CheckFailed` (or
any :class:`~benchgui.errors.BenchError`) when the device does not do what it should. A failing
step carries the bytes its device's link carried during the step ("sent 75 00 47 00 bc", "got
…", or "nothing came back"), so the report says what was asked and what was answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchgui.errors import BenchError
from benchgui.instruments.trace import TraceWriter

log = logging.getLogger(__name__)

MAX_EXCHANGE_LINES = 16
PASS, FAIL, SKIP = "pass", "fail", "skip"


class CheckFailed(BenchError):
    """The device answered, but not as it should (a read-back differs, a state did not change)."""


class Skipped(BenchError):
    """The step cannot run here (no such instrument feature, no confirmation for live load)."""


@dataclass
class StepResult:
    instrument: str
    name: str
    outcome: str  # pass | fail | skip
    detail: str
    duration_s: float
    exchange: list[str] = field(default_factory=list)  # sent/got lines of a failing step

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Walk:
    """Runs steps in order and keeps their results."""

    def __init__(
        self, trace: TraceWriter, timeout_s: float = 20.0, echo: Callable[[str], None] | None = None
    ) -> None:
        self.trace = trace
        self.timeout_s = timeout_s
        self.results: list[StepResult] = []
        self._echo = echo

    @property
    def passed(self) -> bool:
        return bool(self.results) and not any(r.outcome == FAIL for r in self.results)

    async def step(
        self, instrument: str, device: str, name: str, check: Callable[[], Awaitable[str]]
    ) -> bool:
        """Run ``check``; True when it passed. ``device`` is its link's name in the trace."""
        t_trace, t0 = self.trace.now_s(), time.monotonic()
        exchange: list[str] = []
        try:
            detail = await asyncio.wait_for(check(), self.timeout_s)
            outcome = PASS
        except Skipped as exc:
            outcome, detail = SKIP, str(exc)
        except TimeoutError:
            outcome, detail = FAIL, f"no result within {self.timeout_s:g} s"
        except (BenchError, ValueError) as exc:
            outcome, detail = FAIL, str(exc) or type(exc).__name__
        if outcome == FAIL and device not in self.trace.devices:
            exchange = ["(this link's bytes are not visible: not traced)"]
        elif outcome == FAIL:
            records = self.trace.since(device, t_trace)
            exchange = [r.describe() for r in records][-MAX_EXCHANGE_LINES:]
            last_sent = max((k for k, r in enumerate(records) if r.to_device), default=-1)
            if not any(not r.to_device for r in records[last_sent + 1 :]):
                # the last request got no answer (an answer in flight from before may precede it)
                exchange.append("nothing came back")
        result = StepResult(instrument, name, outcome, detail, round(time.monotonic() - t0, 3), exchange)
        self.results.append(result)
        if self._echo is not None:
            self._echo(f"{outcome.upper():4} {instrument}: {name}: {detail}")
            for line in exchange:
                self._echo(f"       {line}")
        return outcome == PASS

    def skip(self, instrument: str, name: str, why: str) -> None:
        self.results.append(StepResult(instrument, name, SKIP, why, 0.0))
        if self._echo is not None:
            self._echo(f"SKIP {instrument}: {name}: {why}")
