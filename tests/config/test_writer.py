"""The config writer: TOML that reads back the same, written only when valid, mode kept."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgui.config.loader import load_config
from benchgui.config.validate import to_dict
from benchgui.config.writer import ConfigFile, dumps
from benchgui.errors import ConfigError

keys = st.text(min_size=1, max_size=8)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)


@settings(deadline=None)  # no per-example wall-time limit: a loaded machine pauses at random
@given(st.dictionaries(keys, values, max_size=4))
def test_dumps_round_trips(data: dict) -> None:  # type: ignore[type-arg]
    assert tomllib.loads(dumps(data)) == data


def test_arrays_of_tables_with_subtables() -> None:
    data = {
        "instruments": {
            "labjack": {
                "backend": "modbus",
                "channels": [
                    {"quantity": "battery.voltage", "transfer": {"kind": "divider", "ratio": 5.0}},
                    {"quantity": "battery.current", "calibration": {"points": [[0.1, 1.0], [0.2, 2.0]]}},
                ],
            }
        }
    }
    text = dumps(data)
    assert "[[instruments.labjack.channels]]" in text
    assert tomllib.loads(text) == data


def _config(tmp_path: Path, body: str, mode: int = 0o644) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(body)
    os.chmod(p, mode)
    return p


def test_update_table_writes_valid_config_keeps_mode_and_backup(tmp_path: Path) -> None:
    p = _config(tmp_path, '# my bench\n[instruments.labjack]\naddress = "10.0.0.5"\n', 0o600)
    loaded = load_config(p)
    assert loaded.config.instruments.labjack is not None
    chans = [to_dict(c) for c in loaded.config.instruments.labjack.channels]
    chans[0]["range_v"] = 1.0
    ConfigFile(p).update_table("instruments.labjack", {"channels": chans})
    again = load_config(p).config.instruments.labjack
    assert again is not None
    assert again.channels[0].range_v == 1.0
    assert again.address == "10.0.0.5"
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert (tmp_path / "config.toml.bak").read_text().startswith("# my bench")


def test_an_invalid_update_is_not_written(tmp_path: Path) -> None:
    p = _config(tmp_path, "[instruments.labjack]\n")
    before = p.read_text()
    with pytest.raises(ConfigError, match=r"channels\[0\]\.range_v"):
        ConfigFile(p).update_table("instruments.labjack", {"channels": [{"quantity": "x", "range_v": 5.0}]})
    assert p.read_text() == before


def test_a_missing_table_or_file_is_a_clear_error(tmp_path: Path) -> None:
    p = _config(tmp_path, "[bench]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"no \[instruments.labjack\] table"):
        ConfigFile(p).update_table("instruments.labjack", {"channels": []})
    with pytest.raises(ConfigError, match="--config"):
        ConfigFile(None).update_table("instruments.labjack", {"channels": []})
