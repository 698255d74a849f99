"""What every benchmark module returns, and how the runner prints it.

Each ``benchmarks/bench_*.py`` defines ``run(quick: bool) -> list[Result]``. Targets are printed
next to the measurement with a verdict; nothing here fails a build — speed and memory targets
are reported, not asserted (tests stay free of timing).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    name: str  # what was measured
    value: float
    unit: str
    target: str = ""  # human target, e.g. "<= 20 ms"
    ok: bool | None = None  # verdict against the target (None: informational)
    baseline: float | None = None  # the same quantity for the naive baseline, same run
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.value == 0:
            return None
        return self.baseline / self.value


def fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"
