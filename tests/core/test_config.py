import dataclasses
import os
import tomllib
from pathlib import Path

import pytest

from benchgui.config import load_config, load_secrets
from benchgui.config.schema import Config
from benchgui.config.validate import from_dict
from benchgui.errors import ConfigError
from tests.helpers import ROOT, run_cli

EXAMPLE = ROOT / "resources" / "config.example.toml"


def _keys(cls: type, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(cls):
        tp = f.type if isinstance(f.type, type) else None
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            out += _keys(type(default), f"{prefix}{f.name}.")
        elif tp is None and f.name in ("ea", "mppt", "labjack"):
            continue
        else:
            out.append(prefix + f.name)
    return out


def test_example_config_is_valid_and_documents_every_key() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    from_dict(Config, data)  # valid
    text = EXAMPLE.read_text()
    for key in _keys(Config):
        assert f"{key.rsplit('.', 1)[-1]} =" in text, f"{key} is not documented in {EXAMPLE.name}"


def test_no_file_means_defaults(tmp_path: Path) -> None:
    loaded = load_config()
    assert loaded.path is None
    assert loaded.config == Config()
    assert not loaded.config.instruments.any_enabled()


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ("[instruments.ea]\nbaud = 12345\n", "instruments.ea.baud", "must be one of"),
        ("[simulation]\nspeed = -1\n", "simulation.speed", "must be >="),
        ("[display]\nwindow_s = 'long'\n", "display.window_s", "must be an integer"),
        ("[recording]\nflush_interval_s = true\n", "recording.flush_interval_s", "must be a number"),
        ("[bench]\nnmae = 'typo'\n", "bench.nmae", "unknown key"),
        ("[instruments.labjack]\nbackend = 'usb'\n", "instruments.labjack.backend", "must be one of"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, toml: str, key: str, problem: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.key == key
    assert problem in info.value.problem
    assert str(p) in str(info.value)


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[bench\nname=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_cli_invalid_config_is_one_line_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[instruments.mppt]\nbaud = 7\n")
    r = run_cli(["--config", str(p), "sessions", "list"], env={"BENCHGUI_DATA_DIR": str(tmp_path)})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "instruments.mppt.baud" in lines[0]
    assert "Traceback" not in r.stderr


def test_secret_in_world_readable_config_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[recording.influx]\nurl = "http://x"\n[x]\ntoken = "abcdefghijklmnop"\n')
    os.chmod(p, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(p)


def test_secrets_from_private_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "secrets.toml"
    f.write_text('influx_token = "from-file"\ninflux_password = "pw"\n')
    os.chmod(f, 0o600)
    monkeypatch.setenv("BENCHGUI_SECRETS_FILE", str(f))
    monkeypatch.setenv("BENCHGUI_INFLUX_TOKEN", "from-env")
    s = load_secrets()
    assert s["influx_token"] == "from-env"
    assert s["influx_password"] == "pw"
    os.chmod(f, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_secrets()
