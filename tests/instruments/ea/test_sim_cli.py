"""``benchgui sim ea`` as a separate process, driven by the real driver (the issue's "Done when")."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchgui.instruments.ea.driver import EaDriver
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.sim import SimOptions, answer_end
from benchgui.instruments.transport import SerialTransport
from tests.helpers import ROOT, cli_env, spawn_cli
from tests.instruments.ea.conftest import SETTINGS

pytestmark = pytest.mark.timeout(60)


def first_line(proc, timeout: float = 20.0) -> str:  # type: ignore[no-untyped-def]
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the simulator printed nothing"
    return proc.stdout.readline().strip()


async def test_sim_ea_serves_a_script_until_sigterm(tmp_path: Path) -> None:
    link = tmp_path / "ea.pty"
    proc = spawn_cli(["sim", "ea", "--link", str(link), "--turnaround-ms", "1"])
    try:
        line = first_line(proc)
        assert line.startswith(f"ea: {link} -> /dev/pts/"), line
        assert "EL 3160-60A" in line
        assert "paced at 57600 baud 8O1" in line
        assert link.is_symlink()
        d = EaDriver(SerialTransport(str(link), SETTINGS), load_profile("el3160-60"), timeout_s=1.0)
        await d.open()
        try:
            ident = await d.identify()
            assert ident.device_type.startswith("EL 3160-60")
            await d.remote(True)
            await d.set_current(2.5)
            await d.input(True)
            assert (await d.read_actual()).current_a == pytest.approx(2.5, abs=0.02)
        finally:
            await d.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not link.exists()  # the link goes with the simulator
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_pacing_follows_the_line() -> None:
    """11 bits per byte at 57600 baud: a 5-byte query and an 11-byte answer take 3.06 ms."""
    opts = SimOptions(baud=57600, bits_per_byte=11, turnaround_s=0.0)
    assert answer_end(0.0, 5, 11, 0.0, opts) == pytest.approx(16 * 11 / 57600)
    turned = SimOptions(baud=57600, turnaround_s=0.002)
    assert answer_end(0.0, 5, 11, 0.0, turned) == pytest.approx(16 * 11 / 57600 + 0.002)
    # a second query that arrived while the first answer was still on the line waits for it
    first = answer_end(0.0, 5, 11, 0.0, opts)
    assert answer_end(0.0, 5, 11, first, opts) == pytest.approx(first + 11 * 11 / 57600)


def readme_script() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## EA electronic load", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_script_runs_against_the_simulator(tmp_path: Path) -> None:
    link = tmp_path / "ea.pty"
    script = tmp_path / "ea_script.py"
    script.write_text(readme_script())
    proc = spawn_cli(["sim", "ea", "--link", str(link)])
    try:
        first_line(proc)
        res = subprocess.run(
            [sys.executable, str(script), str(link)],
            capture_output=True,
            text=True,
            timeout=60,
            env=cli_env(),
        )
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert lines[0].startswith("EL 3160-60A ")
        assert " 2.50" in lines[1]
        assert lines[2] == "remote=True input=True mode=CC"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
