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
# what is judged is tested here, not timing: at --speed 1000 a paced line leaves one instrument's
# readings many bench seconds older than another's (a sensor-disagreement trip)
pacing = false
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
    assert "benchgui: battery.voltage.labjack reads 5 V, over range" in proc.stderr
    assert "widen the range" in proc.stderr
    assert "Traceback" not in proc.stderr
    out = last_json(proc.stdout)
    assert out["end_reason"] == "error"
    assert out.get("capacity_ah") is None
    assert out["load_input_on"] is False


def test_measured_on_the_fallback_sensor_it_reaches_the_true_cutoff(tmp_path: Path) -> None:
    """The same clipped bench, the program told to measure on the MPPT: the supervisor skips the
    clipped reference too, so the run reaches the real cut-off with the real capacity."""
    # with the reference clipped only the MPPT tells the voltage: on a loaded machine its samples
    # may stall past the 0.5 s of real time "sensor lost" allows at --speed 1000 (this test is
    # about what is judged, not about staleness, which tests/core/test_interlocks.py covers)
    cfg = write(tmp_path, "clipped.toml", CLIPPED + "\n[safety]\nsensor_timeout_s = 3600\n")
    text = (examples_dir() / "discharge-5A-to-cutoff.toml").read_text()
    text = text.replace("[program]\n", '[program]\nvoltage_channel = "battery.voltage.mppt"\n')
    program = write(tmp_path, "capacity.toml", text)
    args = ["run-program", str(program), "--headless", "--demo", "--speed", "1000", "--config", str(cfg)]
    proc = run_cli(args, timeout=100)
    assert proc.returncode == 0, proc.stderr
    out = last_json(proc.stdout)
    assert out["voltage_channel"] == "battery.voltage.mppt"
    # the program's own condition (0.5 s debounce) or, when the sped-up samples come in bursts,
    # the supervisor's cut-off (2 s) — on the MPPT either way, with the same capacity (README)
    assert out["steps"][0]["end"] in ("voltage", "cutoff_voltage")
    assert out["capacity_ah"] > 4.0
    assert out["steps"][0]["v_end"] > 10.0  # the real cut-off, not a clipped 5 V
    trip = out.get("trip") or {}
    if trip:
        assert trip["reason"] == "cutoff_voltage"
        assert trip["values"]["channel"] == "battery.voltage.mppt"
    assert "battery.voltage.labjack reads 5 V, over range" in proc.stderr  # the supervisor said why
