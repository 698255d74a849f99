"""The GUI as an operator starts it: screenshots offscreen and on a real X server, no-display message."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from tests.helpers import cli_env, run_cli
from tests.xvfb import xvfb


def _trace_pixels(png: Path) -> dict[str, int]:
    """Count pixels of the trace colours (LabJack blue, MPPT red) in the screenshot."""
    img = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB888)
    assert not img.isNull(), f"{png} is not a readable image"
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h)
    arr = arr.reshape(h, img.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).astype(int)

    def near(rgb: tuple[int, int, int]) -> int:
        return int((np.abs(arr - np.array(rgb)).sum(axis=2) < 60).sum())

    return {"labjack": near((31, 119, 180)), "mppt": near((214, 39, 40))}


def test_demo_screenshot_offscreen_shows_traces(tmp_path: Path) -> None:
    png = tmp_path / "out.png"
    r = run_cli(["--demo", "--speed", "10", "--screenshot", str(png), "--quit-after", "6"], timeout=90)
    assert r.returncode == 0, r.stderr
    counts = _trace_pixels(png)
    # both instruments' traces are drawn (on a loaded machine the LabJack may start a little later)
    assert counts["labjack"] > 40, counts
    assert counts["mppt"] > 200, counts


def test_panel_option_names_the_panels_when_the_title_is_wrong(tmp_path: Path) -> None:
    png = tmp_path / "out.png"
    r = run_cli(["--demo", "--panel", "No such", "--screenshot", str(png), "--quit-after", "2"], timeout=90)
    assert r.returncode == 0, r.stderr  # a wrong title is no reason to leave the bench dark
    assert "--panel 'No such': no such panel (there are: " in r.stderr
    assert "State of charge" in r.stderr.split("there are: ")[1]
    assert png.stat().st_size > 10_000


def test_screenshot_without_any_display_falls_back_to_offscreen(tmp_path: Path) -> None:
    png = tmp_path / "out.png"
    env = {"QT_QPA_PLATFORM": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    r = run_cli(["--demo", "--screenshot", str(png), "--quit-after", "2"], env=env, timeout=90)
    assert r.returncode == 0, r.stderr
    assert png.stat().st_size > 10_000


def test_no_display_is_one_clear_line(tmp_path: Path) -> None:
    env = {"QT_QPA_PLATFORM": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    r = run_cli(["--demo"], env=env, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no display" in lines[0]
    assert "benchgui record --headless --demo" in lines[0]


@pytest.mark.xvfb
def test_screenshot_on_a_real_x_server(tmp_path: Path) -> None:
    png = tmp_path / "x.png"
    with xvfb() as display:
        env = {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        r = run_cli(
            ["--demo", "--speed", "10", "--screenshot", str(png), "--quit-after", "6"], env=env, timeout=90
        )
    assert r.returncode == 0, r.stderr
    counts = _trace_pixels(png)
    assert counts["labjack"] > 40, counts
    assert counts["mppt"] > 200, counts


def test_starting_the_gui_imports_no_scipy() -> None:
    """scipy costs ~0.4 s of CPU to import (issue 19: the first frame): it is loaded by what
    needs it — an SOC filter, a verification, an identification — not by the command line
    with all its sub-commands, nor by the GUI's modules."""
    code = (
        "import sys, benchgui.cli, benchgui.cli.gui, benchgui.app\n"
        "benchgui.cli.build_parser()\n"
        "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=cli_env(), check=False
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
