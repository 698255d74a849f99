"""Issue 23 item 3, headless: the battery voltage channel clipped (LabJack AIN range ±1 V).

Before, ``run-program discharge-5A-to-cutoff.toml`` believed the clipped 5.000 V, the supervisor
tripped "below cut-off" and the run reported a capacity of 0.0024 Ah with exit code 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgui.core.programs.loader import examples_dir
from tests.cli.test_run_program import last_json, write
from tests.helpers import run_cli

pytestmark = pytest.mark.timeout(120)

# the default simulated battery (7.2 Ah lead-acid at 80 %), no sun; the reference voltage
# channel as wired (/5 divider on AIN2) but on the ±1 V range: 13 V / 5 = 2.6 V clips at 1 V
CLIPPED = """
[simulation]
sun = false

[[instruments.labjack.channels]]
quantity = "battery.voltage"
unit = "V"
ain = 2
range_v = 1.0
[instruments.labjack.channels.transfer]
kind = "divider"
ratio = 5.0

[[instruments.labjack.channels]]
quantity = "battery.current"
unit = "A"
ain = 1
[instruments.labjack.channels.transfer]
kind = "la55p"
r_m_ohm = 100.0
"""


def test_a_program_measuring_on_a_clipped_channel_refuses_to_start(tmp_path: Path) -> None:
    cfg = write(tmp_path, "clipped.toml", CLIPPED)
    program = examples_dir() / "discharge-5A-to-cutoff.toml"
    args = ["run-program", str(program), "--headless", "--demo", "--speed", "200", "--config", str(cfg)]
    proc = run_cli(args, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "benchgui: battery.voltage.labjack reads 5, over range" in proc.stderr
    assert "widen the range" in proc.stderr
    assert "Traceback" not in proc.stderr
    out = last_json(proc.stdout)
    assert out["end_reason"] == "error"
    assert out.get("capacity_ah") is None
    assert out["load_input_on"] is False


def test_measured_on_the_fallback_sensor_it_reaches_the_true_cutoff(tmp_path: Path) -> None:
    """The same clipped bench, the program told to measure on the MPPT: the supervisor skips the
    clipped reference too, so the run reaches the real cut-off with the real capacity."""
    cfg = write(tmp_path, "clipped.toml", CLIPPED)
    text = (examples_dir() / "discharge-5A-to-cutoff.toml").read_text()
    text = text.replace("[program]\n", '[program]\nvoltage_channel = "battery.voltage.mppt"\n')
    program = write(tmp_path, "capacity.toml", text)
    args = ["run-program", str(program), "--headless", "--demo", "--speed", "1000", "--config", str(cfg)]
    proc = run_cli(args, timeout=100)
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert out["voltage_channel"] == "battery.voltage.mppt"
    assert out["steps"][0]["end"] == "voltage"
    assert out["capacity_ah"] > 4.0
    assert out["steps"][0]["v_end"] > 10.0  # the real cut-off, not a clipped 5 V
    trip = out.get("trip") or {}
    assert "labjack" not in str(trip.get("values", {}).get("channel", ""))
    assert "battery.voltage.labjack reads 5 over range" in proc.stderr  # the supervisor said why
