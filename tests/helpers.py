"""Shared test helpers: wait on conditions (never sleep to synchronise), run the CLI.

Timeouts here are limits for a test that fails, not expectations of speed: a condition that
holds returns at once, so they are generous (CI may be 10x slower than a workstation).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_until(
    cond: Callable[[], object], timeout: float = 30.0, interval: float = 0.01, what: str = ""
) -> None:
    """Poll ``cond`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or cond}")
        time.sleep(interval)


async def async_wait_until(
    cond: Callable[[], object], timeout: float = 30.0, interval: float = 0.01, what: str = ""
) -> None:
    """Poll ``cond`` between event-loop steps until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or cond}")
        await asyncio.sleep(interval)


async def with_timeout(aw: Awaitable[object], timeout: float = 30.0) -> object:
    """Await ``aw``, failing (TimeoutError) after ``timeout`` seconds instead of hanging."""
    return await asyncio.wait_for(aw, timeout)


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCHGUI_INFLUX")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str], timeout: float = 60.0, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m benchgui ARGS`` (the installed console script is the same code)."""
    return subprocess.run(
        [sys.executable, "-m", "benchgui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(env),
        cwd=kw.pop("cwd", None),  # type: ignore[arg-type]
        check=False,
    )


def spawn_cli(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchgui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(env),
    )
