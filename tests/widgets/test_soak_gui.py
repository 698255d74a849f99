"""The GUI soak script, shortened to a smoke run: a real window under Xvfb for a few seconds with
a 1-s sample period must print rows and a summary, and end the app cleanly (``make soak-gui``
runs two hours; the numbers are reported in README, never asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_soak_gui_smoke_prints_rows(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "soak_gui.py"),
            "--wall-s",
            "4",
            "--period-s",
            "1",
            "--warmup-s",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = r"\s*\d+\.\d\d" + r"\s+\d+\.\d" * 4  # minute, RSS, CPU, heap, other anonymous
    rows = [ln.split() for ln in proc.stdout.splitlines() if re.fullmatch(row, ln)]
    assert len(rows) >= 2, proc.stdout
    assert all(float(r[1]) > 10 for r in rows), rows  # an RSS in MB, not a zero
    assert all(0 < float(r[3]) + float(r[4]) < float(r[1]) for r in rows), rows  # parts of the RSS
    assert re.search(r"^RSS: after warm-up \d+ MB, end \d+ MB \(growth [+-]\d+\.\d MB", proc.stdout, re.M)
    assert re.search(r"^CPU: mean \d+\.\d % of a core", proc.stdout, re.M)
    assert "child exit code 0;" in proc.stdout
