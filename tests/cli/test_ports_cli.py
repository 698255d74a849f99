"""`benchgui ports`: the serial ports present, the configured ones, and saving a port.

In-process through ``benchgui.cli.main`` (the sub-process start-up is tested once, for the
one-line error; ``tests/test_soak.py`` checks that the command imports no Qt)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from benchgui.cli import main
from benchgui.instruments.transport import list_serial_ports
from benchgui.simbench.pty import PtyPort
from tests.helpers import run_cli


def ports(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["ports", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_lists_ports_and_configured_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with PtyPort(tmp_path / "mppt.pty") as mppt:  # a present port under a stable name
        config = tmp_path / "config.toml"
        config.write_text(
            f'[instruments.ea]\nport = "{tmp_path / "gone"}"\n\n[instruments.mppt]\nport = "{mppt.path}"\n'
        )
        rc, out, err = ports(capsys, "--config", str(config))
        assert rc == 0, err
        assert f"EA load: {tmp_path / 'gone'} (missing)" in out
        assert f"MPPT charger: {mppt.path} (present)" in out
        for device, _ in list_serial_ports():
            assert device in out
        js = json.loads(ports(capsys, "--json", "--config", str(config))[1])
    assert [p["device"] for p in js["ports"]] == [d for d, _ in list_serial_ports()]
    assert js["configured"] == [
        {"instrument": "ea", "port": str(tmp_path / "gone"), "present": False},
        {"instrument": "mppt", "port": str(tmp_path / "mppt.pty"), "present": True},
    ]


def test_set_saves_the_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[instruments.ea]\nport = "/dev/ea-load"\n')
    rc, out, err = ports(capsys, "--set", "ea", "/dev/ttyUSB1", "--config", str(config))
    assert rc == 0, err
    assert "instruments.ea.port = '/dev/ttyUSB1' saved" in out
    assert tomllib.loads(config.read_text())["instruments"]["ea"]["port"] == "/dev/ttyUSB1"
    rc, _, err = ports(capsys, "--set", "mppt", "/dev/ttyUSB1", "--config", str(config))
    assert rc == 2  # no [instruments.mppt] table to save into
    assert "instruments.mppt" in err
    bad = run_cli(["ports", "--set", "labjack", "/dev/ttyUSB1", "--config", str(config)])
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("benchgui: configuration error: instruments.labjack")
    assert "Traceback" not in bad.stderr
