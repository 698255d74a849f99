"""The [verify] configuration: documented in the example file, validated with key names."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from benchgui.config.loader import load_config
from benchgui.config.schema import Config, VerifySection
from benchgui.errors import ConfigError
from tests.helpers import ROOT

EXAMPLE = ROOT / "resources" / "config.example.toml"


def _keys(obj: object, prefix: str) -> set[str]:
    out = set()
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out |= _keys(value, f"{prefix}.{f.name}")
        else:
            out.add(f"{prefix}.{f.name}")
    return out


def _toml_keys(table: dict, prefix: str) -> set[str]:  # type: ignore[type-arg]
    out = set()
    for k, v in table.items():
        if isinstance(v, dict) and k != "latency_s":
            out |= _toml_keys(v, f"{prefix}.{k}")
        else:
            out.add(f"{prefix}.{k}")
    return out


def test_the_example_documents_every_verify_key_with_its_default() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    assert _toml_keys(data["verify"], "verify") == _keys(VerifySection(), "verify")
    assert load_config(EXAMPLE).config.verify == VerifySection()


def _load(tmp_path: Path, text: str) -> Config:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return load_config(p).config


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[verify]\ncomparisons = ["battery.voltage.mppt vs"]', "verify.comparisons[0]"),
        (
            '[verify]\ncomparisons = ["battery.voltage.mppt vs battery.current.labjack"]',
            "verify.comparisons[0]",
        ),
        ('[verify]\ncomparisons = ["battery.voltage.mppt vs battery.voltage.mppt"]', "verify.comparisons[0]"),
        ("[verify]\ncurrent_bins_a = [0.0, -1.0]", "verify.current_bins_a"),
        ("[verify]\nmax_gap_s = -1", "verify.max_gap_s"),
        ("[verify.latency_s]\nmppt = 100.0", "verify.latency_s.mppt"),
        ("[verify.tolerance.current]\noffset_v = 0.1", "verify.tolerance.current.offset_v"),
    ],
)
def test_bad_settings_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert err.value.key == key


def test_settings_are_read(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        '[verify]\nmax_gap_s = 1.5\ncomparisons = ["battery.current.mppt vs battery.current.labjack"]\n'
        "[verify.latency_s]\nmppt = 0.4\n[verify.tolerance.voltage]\noffset_v = 0.02\n",
    )
    v = cfg.verify
    assert v.max_gap_s == 1.5
    assert v.latency_s == {"mppt": 0.4}
    assert v.parsed_comparisons() == [("battery.current.mppt", "battery.current.labjack")]
    assert v.tolerance.voltage.offset_v == 0.02
    assert v.tolerance.current.gain_error_pct == 2.0
