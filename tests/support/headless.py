"""``benchgui record --headless`` until the store holds what a test needs, then SIGTERM.

``--duration`` counts bench time from the start of the session, and what the instruments
deliver in it depends on the machine: connecting to a simulator (or a device) takes longer on
a slow one. A test that needs samples waits for them in the store instead — read-only, as the
recorder commits every fraction of a second — and then stops the recorder the way the service
manager does.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.helpers import cli_env, wait_until


def sample_counts(store: Path) -> dict[str, int]:
    """Samples per channel name in the store so far ({} before the recorder created it)."""
    if not store.exists():
        return {}
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT c.name, count(*) FROM samples s JOIN channels c ON c.key = s.channel GROUP BY c.name"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}  # the tables are not there yet
    finally:
        db.close()
    return {str(name): int(n) for name, n in rows}


def record_until(
    args: Sequence[str],
    store: Path,
    enough: Callable[[dict[str, int]], bool],
    timeout: float = 60.0,
    what: str = "the samples the test needs",
) -> subprocess.CompletedProcess[str]:
    """Run ``benchgui record --headless --store STORE ARGS`` until ``enough(sample_counts)``,
    then SIGTERM it; returns how it ended (stdout: the session id; stderr: its log)."""
    cmd = [sys.executable, "-m", "benchgui", "record", "--headless", "--store", str(store), *args]
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe nobody reads while waiting
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=cli_env())
        try:
            try:
                wait_until(
                    lambda: proc.poll() is not None or enough(sample_counts(store)), timeout, 0.1, what
                )
            except AssertionError as exc:
                log.seek(0)
                tail = log.read()[-3000:]
                raise AssertionError(f"{exc}; stored so far: {sample_counts(store)}; log:\n{tail}") from None
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        log.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, log.read())
