"""The remote operator's view: benchgui on a real X server, shared by x11vnc with a password (as
the vnc role sets it up), seen through a real VNC client (vncdotool). And the light option: Qt's
own VNC platform plugin serving the window with no X server at all.

Each test first captures the screen *without* benchgui and requires the check to fail on it, so
the check cannot pass on an empty desktop.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import ROOT, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # vncdotool's DES (the RFB protocol's own)
    pytest.mark.filterwarnings("ignore:.*TripleDES.*"),
]

MIN_COVERED = 0.5  # the full-screen window covers at least half of the screen …
MIN_COLOURS = 8  # … with at least this many colours (text, plot lines, panels)
BACKGROUND = (0, 0, 0)  # Xvfb's and Qt VNC's empty framebuffer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def window_visible(png: Path) -> tuple[bool, str]:
    """Whether the capture shows a window: enough non-background pixels, in enough colours."""
    img = Image.open(png).convert("RGB")
    pixels = np.asarray(img).reshape(-1, 3)
    covered = float(np.mean(np.any(pixels != BACKGROUND, axis=1)))
    colours = len(np.unique(pixels, axis=0))
    ok = covered >= MIN_COVERED and colours >= MIN_COLOURS
    return ok, f"{covered:.0%} of {img.width}x{img.height} covered, {colours} colours"


class VncViewer:
    """One vncdotool connection (its Twisted reactor runs once per process; shut down at exit)."""

    def __init__(self, port: int, password: str | None = None) -> None:
        from vncdotool import api

        if not getattr(VncViewer, "_registered", False):
            atexit.register(api.shutdown)
            VncViewer._registered = True  # type: ignore[attr-defined]
        self.client = api.connect(f"127.0.0.1::{port}", password=password, timeout=20)

    def capture(self, path: Path) -> Path:
        self.client.captureScreen(str(path))
        return path

    def close(self) -> None:
        self.client.disconnect()


def wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60.0) -> None:
    """Wait until ``proc`` accepts connections on ``port``: a client that connects earlier is
    refused, however quickly the server usually starts. Fails at once if ``proc`` exits."""

    def listening() -> bool:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"{what} exited ({proc.returncode}) before listening: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    wait_until(listening, timeout=timeout, interval=0.2, what=f"{what} to listen on port {port}")


def wait_for_window(viewer: VncViewer, tmp: Path, timeout: float = 90.0) -> str:
    """Capture until the window shows (benchgui needs a few seconds to start), or fail."""
    deadline = time.monotonic() + timeout
    detail = ""
    n = 0
    while time.monotonic() < deadline:
        n += 1
        ok, detail = window_visible(viewer.capture(tmp / f"capture-{n}.png"))
        if ok:
            return detail
        time.sleep(0.5)  # poll interval between captures, not synchronisation
    raise AssertionError(f"benchgui's window never showed over VNC: last capture {detail}")


def benchgui_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCHGUI_INFLUX", "QT_QPA"))}
    env.update(
        PYTHONPATH=str(ROOT),
        BENCHGUI_CONFIG_DIR=str(tmp / "config"),
        BENCHGUI_DATA_DIR=str(tmp / "data"),
        XDG_RUNTIME_DIR=str(tmp),
    )
    env.update(extra)
    return env


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def xvfb(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is missing: make test installs it (scripts/system-deps.sh)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()  # Xvfb writes its display number once it accepts clients
    try:
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        stop(proc)


@pytest.mark.xvfb
@pytest.mark.timeout(180)
def test_benchgui_is_visible_through_x11vnc_with_a_password(tmp_path: Path, xvfb: str) -> None:
    if not shutil.which("x11vnc"):
        pytest.fail("x11vnc is missing: make test installs it (scripts/system-deps.sh)")
    password = secrets.token_urlsafe(6)[:8]  # classic VNC auth uses 8 characters
    password_file = tmp_path / "vnc-password"  # as the vnc role writes it: one line, mode 0600
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    port = free_port()
    vnc = subprocess.Popen(
        [
            "x11vnc",
            "-display",
            xvfb,
            "-rfbport",
            str(port),
            "-listen",
            "127.0.0.1",
            "-localhost",
            "-passwdfile",
            str(password_file),
            "-forever",
            "-shared",
            "-noxdamage",
            "-quiet",
            "-nolookup",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    app: subprocess.Popen[bytes] | None = None
    viewer: VncViewer | None = None
    try:
        wait_listening(port, vnc, "x11vnc")
        intruder = VncViewer(port, password=password[::-1] + "x")
        with pytest.raises(Exception, match="password check failed"):
            intruder.capture(tmp_path / "intruder.png")
        viewer = VncViewer(port, password=password)
        empty_ok, empty = window_visible(viewer.capture(tmp_path / "empty.png"))
        assert not empty_ok, f"the check passes on an empty screen: {empty}"
        app = subprocess.Popen(
            [sys.executable, "-m", "benchgui", "--demo", "--fullscreen"],
            env=benchgui_env(tmp_path, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        detail = wait_for_window(viewer, tmp_path)
        assert app.poll() is None, app.stderr.read().decode() if app.stderr else ""
        print(f"x11vnc view: {detail}")
        shutil.copy(sorted(tmp_path.glob("capture-*.png"))[-1], tmp_path / "seen.png")
    finally:
        if viewer is not None:
            viewer.close()
        if app is not None:
            stop(app)
        stop(vnc)


@pytest.mark.timeout(180)
def test_benchgui_is_visible_through_qts_vnc_plugin(tmp_path: Path) -> None:
    """QT_QPA_PLATFORM=vnc: no X server, no compositor (the vnc role's qtvnc mode)."""
    port = free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "benchgui", "--demo", "--fullscreen"],
        env=benchgui_env(tmp_path, QT_QPA_PLATFORM=f"vnc:size=1024x768:port={port}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    viewer: VncViewer | None = None
    try:
        wait_listening(port, app, "benchgui's Qt VNC server")
        viewer = VncViewer(port)
        detail = wait_for_window(viewer, tmp_path)
        print(f"Qt VNC view: {detail}")
    finally:
        if viewer is not None:
            viewer.close()
        stop(app)
