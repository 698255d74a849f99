"""Fixtures for every test: private config/data directories, no stray InfluxDB settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
