"""What every benchmark module returns, and how the runner prints it.

Each ``benchmarks/bench_*.py`` defines ``run(quick: bool) -> list[Result]``. Targets are printed
next to the measurement with a verdict; nothing here fails a build — speed and memory targets
are reported, not asserted (tests stay free of timing).
"""

from __future__ import annotations

import os
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


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0
