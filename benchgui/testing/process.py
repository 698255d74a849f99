"""Start-up and shutdown of a test server process: the part influxd and VictoriaMetrics share.

Test support, not used by the app (see :mod:`benchgui.testing.influxd`).
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable


def wait_http_ready(
    proc: subprocess.Popen[bytes],
    url: str,
    status: int,
    timeout: float,
    name: str,
    log_tail: Callable[[], str],
) -> None:
    """Until ``url`` answers ``status``; RuntimeError (with the log's tail) when the process exits
    or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}): {log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == status:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer {url} within {timeout} s: {log_tail()}")


def stop_process(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 20.0
) -> None:
    """Ask the process to stop with ``sig``; kill it when it has not within ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
