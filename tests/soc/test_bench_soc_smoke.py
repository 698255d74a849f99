"""``benchmarks/bench_soc.py --quick`` runs to the end (it once stopped at identification)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_soc_quick_runs_every_stage() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_soc.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "SPKF step" in out.stdout
    assert "identification (" in out.stdout
