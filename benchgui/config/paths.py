"""Where benchgui keeps its files (platformdirs), overridable for services and tests.

``BENCHGUI_CONFIG_DIR`` and ``BENCHGUI_DATA_DIR`` win over the platform defaults
(``~/.config/benchgui`` and ``~/.local/share/benchgui`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "benchgui"


def config_dir() -> Path:
    return Path(os.environ.get("BENCHGUI_CONFIG_DIR") or platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return Path(os.environ.get("BENCHGUI_DATA_DIR") or platformdirs.user_data_dir(APP))


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def default_secrets_path() -> Path:
    return config_dir() / "secrets.toml"


def secrets_path() -> Path:
    """The secrets file in use: ``BENCHGUI_SECRETS_FILE`` or the default."""
    return Path(os.environ.get("BENCHGUI_SECRETS_FILE") or default_secrets_path())


def default_store_path() -> Path:
    return data_dir() / "sessions.sqlite3"
