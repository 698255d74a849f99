"""A real X server for tests that need one (Xvfb from Debian), on a display it picks itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[str]:
    """Start Xvfb on a free display (``-displayfd``); yield ``":N"``; stop it afterwards."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (make test installs the 'xvfb' Debian package)")
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", size, "-nolisten", "tcp", "-noreset"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(w)
    try:
        with os.fdopen(r) as fh:
            number = fh.readline().strip()  # blocks until the server is ready (or has died)
        if not number:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"Xvfb did not start: {err}")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
