"""Load the TOML configuration file and the secrets that must not be in it.

* No file given and none at the default location → defaults (the simulated bench).
* A file that exists but is invalid → :class:`ConfigError` naming the key; the CLI prints one
  line and exits 2.
* Secrets (InfluxDB token, passwords) come from environment variables ``BENCHGUI_*`` or from a
  secrets file readable by its owner only (mode 0600). A config file that holds a secret must
  be 0600 too; otherwise it is refused, because a world-readable token is a leak.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgui.config import paths
from benchgui.config.schema import Config
from benchgui.config.validate import from_dict
from benchgui.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_KEYS = ("token", "password")


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config plus where it came from (None: built-in defaults)."""

    config: Config
    path: Path | None
    secrets: dict[str, str]


def _find_secret_keys(data: Any, prefix: str = "") -> list[str]:
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                found += _find_secret_keys(v, key)
            elif any(s in str(k).lower() for s in SECRET_KEYS) and v:
                found.append(key)
    return found


def _require_private(path: Path, what: str) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            "",
            f"{what} holds secrets but is readable by others (mode {mode:04o}); run: chmod 600 {path}",
            str(path),
        )


#: no configuration, secrets or program file is anywhere near this; ``--config /dev/zero`` stops here
MAX_TOML_BYTES = 1024 * 1024


def read_text_capped(path: Path, limit: int = MAX_TOML_BYTES, what: str = "a configuration file") -> str:
    """The UTF-8 text of ``path``, refused (:class:`ConfigError`) above ``limit`` bytes.

    Reads at most ``limit + 1`` bytes, so a device or FIFO (``/dev/zero``) cannot exhaust memory;
    every reading and decoding failure is one line naming the file.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise ConfigError("", "file not found", str(path)) from None
    except PermissionError:
        raise ConfigError("", "permission denied", str(path)) from None
    except IsADirectoryError:
        raise ConfigError("", "is a directory, not a file", str(path)) from None
    except OSError as exc:
        raise ConfigError("", f"cannot read: {exc.strerror or exc}", str(path)) from None
    if len(data) > limit:
        raise ConfigError("", f"larger than {limit // 1024} KiB: not {what}", str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"not UTF-8 text (byte {exc.start})", str(path)) from None


def parse_toml(text: str, path: str | None = None) -> dict[str, Any]:
    """TOML text → dict; syntax errors and absurd nesting are one-line :class:`ConfigError`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"not valid TOML: {exc}", path) from None
    except RecursionError:  # tomllib recurses per nesting level: [[[[…]]]] exhausts the stack
        raise ConfigError("", "not valid TOML: nested too deeply", path) from None


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file (at most :data:`MAX_TOML_BYTES`, UTF-8) → dict, or one-line :class:`ConfigError`."""
    return parse_toml(read_text_capped(path), str(path))


def load_secrets(path: Path | None = None) -> dict[str, str]:
    """Secrets from the 0600 secrets file, then ``BENCHGUI_*`` environment variables (which win).

    Keys are lower-case names without the prefix: ``BENCHGUI_INFLUX_TOKEN`` → ``influx_token``.
    Values are never logged.
    """
    secrets: dict[str, str] = {}
    path = path or Path(os.environ.get("BENCHGUI_SECRETS_FILE") or paths.default_secrets_path())
    if path.exists():
        _require_private(path, "secrets file")
        data = read_toml(path)
        for k, v in data.items():
            if not isinstance(v, str | int | float | bool):
                raise ConfigError(k, "secrets file holds only plain key = value pairs", str(path))
            secrets[str(k).lower()] = str(v)
    for k, v in os.environ.items():
        if k.startswith("BENCHGUI_") and k not in (
            "BENCHGUI_CONFIG_DIR",
            "BENCHGUI_DATA_DIR",
            "BENCHGUI_SECRETS_FILE",
        ):
            secrets[k[len("BENCHGUI_") :].lower()] = v
    return secrets


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    try:
        return from_dict(Config, data)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.problem, str(path) if path else None) from None


def load_config(path: str | os.PathLike[str] | None = None) -> LoadedConfig:
    """Load ``path``, or the default config file if it exists, or the built-in defaults."""
    if path is None:
        default = paths.default_config_path()
        if not default.exists():
            return LoadedConfig(Config(), None, load_secrets())
        path = default
    p = Path(path)
    data = read_toml(p)
    try:
        if _find_secret_keys(data):
            _require_private(p, "config file")
        config = parse_config(data, p)
    except RecursionError:  # deeply nested tables parse, but walking them must not crash
        raise ConfigError("", "nested too deeply", str(p)) from None
    log.info("configuration loaded from %s", p)
    return LoadedConfig(config, p, load_secrets())
