"""Fixtures for every test: private config/data directories, no stray InfluxDB settings."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgui.cli import main

#: ``cli(args, env=None)``: exit code, stdout and stderr of one in-process CLI run
Cli = Callable[..., subprocess.CompletedProcess[str]]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own config and data directories (and thus its own session store)."""
    monkeypatch.setenv("BENCHGUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("BENCHGUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # QSettings goes here
    for k in list(os.environ):
        if k.startswith("BENCHGUI_INFLUX") or k == "BENCHGUI_SECRETS_FILE":
            monkeypatch.delenv(k)
    return tmp_path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The real CLI in-process (a subprocess per call costs seconds on a busy machine)."""

    def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as m:
            for k, v in (env or {}).items():
                m.setenv(k, v)
            capsys.readouterr()
            rc = main(args)
            out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, rc, out, err)

    return run
