"""The whole bench as separate processes: `benchgui sim bench` plus a recorder configured for
real instruments (the hardware path of the assembly), talking over ptys and a loopback port."""

import json
import re
import signal
from pathlib import Path

from tests.helpers import run_cli, spawn_cli


def test_recorder_on_hardware_config_against_sim_bench(tmp_path: Path) -> None:
    sim = spawn_cli(
        [
            "sim",
            "bench",
            "--ea-link",
            str(tmp_path / "ea.pty"),
            "--mppt-link",
            str(tmp_path / "mppt.pty"),
            "--labjack-port",
            "0",
            "--ea-no-pacing",
        ],
    )
    try:
        lines: dict[str, str] = {}
        assert sim.stdout is not None
        while len(lines) < 3:
            line = sim.stdout.readline()
            assert line, f"sim bench ended early: {sim.stderr.read() if sim.stderr else ''}"
            name, _, rest = line.partition(":")
            lines[name.strip()] = rest.strip()
        port = int(re.search(r":(\d+)", lines["labjack"]).group(1))  # type: ignore[union-attr]
        cfg = tmp_path / "bench.toml"
        cfg.write_text(
            f'[instruments.ea]\nport = "{tmp_path / "ea.pty"}"\n'
            f'[instruments.mppt]\nport = "{tmp_path / "mppt.pty"}"\n'
            f'[instruments.labjack]\nbackend = "modbus"\naddress = "127.0.0.1"\nport = {port}\n'
        )
        r = run_cli(["record", "--headless", "--config", str(cfg), "--duration", "4"], timeout=60)
        assert r.returncode == 0, r.stderr
        sid = r.stdout.strip().splitlines()[-1]
        listed = json.loads(run_cli(["sessions", "list", "--json"]).stdout)
        (entry,) = [s for s in listed if s["id"] == sid]
        assert entry["kind"] == "live"
        exported = run_cli(["export", sid, "--format", "csv"], timeout=60)
        assert exported.returncode == 0, exported.stderr
        for channel in ("battery.voltage.labjack", "battery.voltage.mppt", "battery.voltage.load"):
            assert channel in exported.stdout, f"{channel} missing from the recording"
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=15)
        finally:
            sim.kill()
    assert sim.returncode == 0
    assert not (tmp_path / "ea.pty").exists()  # the simulator cleaned up its link
