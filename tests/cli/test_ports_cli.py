"""`benchgui ports`: the serial ports present, the configured ones, and saving a port."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from benchgui.instruments.transport import list_serial_ports
from benchgui.simbench.pty import PtyPort
from tests.helpers import run_cli


def test_lists_ports_and_configured_ones(tmp_path: Path) -> None:
    with PtyPort(tmp_path / "mppt.pty") as mppt:  # a present port under a stable name
        config = tmp_path / "config.toml"
        config.write_text(
            f'[instruments.ea]\nport = "{tmp_path / "gone"}"\n\n[instruments.mppt]\nport = "{mppt.path}"\n'
        )
        r = run_cli(["ports", "--config", str(config)])
        assert r.returncode == 0, r.stderr
        assert f"EA load: {tmp_path / 'gone'} (missing)" in r.stdout
        assert f"MPPT charger: {mppt.path} (present)" in r.stdout
        for device, _ in list_serial_ports():
            assert device in r.stdout
        js = json.loads(run_cli(["ports", "--json", "--config", str(config)]).stdout)
    assert [p["device"] for p in js["ports"]] == [d for d, _ in list_serial_ports()]
    assert js["configured"] == [
        {"instrument": "ea", "port": str(tmp_path / "gone"), "present": False},
        {"instrument": "mppt", "port": str(tmp_path / "mppt.pty"), "present": True},
    ]


def test_set_saves_the_port(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[instruments.ea]\nport = "/dev/ea-load"\n')
    r = run_cli(["ports", "--set", "ea", "/dev/ttyUSB1", "--config", str(config)])
    assert r.returncode == 0, r.stderr
    assert tomllib.loads(config.read_text())["instruments"]["ea"]["port"] == "/dev/ttyUSB1"
    bad = run_cli(["ports", "--set", "labjack", "/dev/ttyUSB1", "--config", str(config)])
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("benchgui: configuration error: instruments.labjack")
    assert "Traceback" not in bad.stderr
    none = run_cli(["ports", "--set", "mppt", "/dev/ttyUSB1", "--config", str(config)])
    assert none.returncode == 2  # no [instruments.mppt] table to save into
    assert "instruments.mppt" in none.stderr
