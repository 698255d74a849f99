"""The [instruments.labjack] configuration: bench defaults, key-naming errors, the example file."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from benchgui.config.loader import parse_config
from benchgui.config.schema import LabJackChannelSection, LabJackSection, TransferSection
from benchgui.errors import ConfigError
from tests.helpers import ROOT


def labjack(table: dict) -> LabJackSection:  # type: ignore[type-arg]
    cfg = parse_config({"instruments": {"labjack": table}})
    assert cfg.instruments.labjack is not None
    return cfg.instruments.labjack


def test_defaults_are_the_bench_as_wired() -> None:
    s = labjack({})
    v, i = s.channels
    assert (v.quantity, v.ain, v.transfer.kind, v.transfer.ratio, v.range_v) == (
        "battery.voltage",
        2,
        "divider",
        5.0,
        10.0,
    )
    assert (i.quantity, i.ain, i.transfer.kind, i.transfer.r_m_ohm) == ("battery.current", 1, "la55p", 100.0)
    assert v.negative_ch == 199
    assert s.poll_interval_s == 0.1


@pytest.mark.parametrize(
    ("channel", "key", "words"),
    [
        ({"quantity": "x", "range_v": 5}, "channels[0].range_v", "must be one of"),
        ({"quantity": "x", "ain": 3, "differential": True}, "channels[0].differential", "even"),
        ({"quantity": "x", "ain": 14}, "channels[0].ain", "<= 13"),
        ({"quantity": "x", "resolution_index": 13}, "channels[0].resolution_index", "<= 12"),
        ({"quantity": "x", "settling_us": 60000}, "channels[0].settling_us", "<= 50000"),
        ({"quantity": "x", "transfer": {"kind": "divider"}}, "channels[0].transfer.ratio", "ratio"),
        ({"quantity": "x", "transfer": {"kind": "la55p"}}, "channels[0].transfer.r_m_ohm", "R_M"),
        (
            {"quantity": "x", "transfer": {"kind": "divider", "ratio": 5, "r_m_ohm": 1}},
            "transfer.r_m_ohm",
            "not a",
        ),
        (
            {"quantity": "x", "transfer": {"kind": "la55p", "r_m_ohm": 100, "sign": 2}},
            "transfer.sign",
            "1, -1",
        ),
        ({"quantity": "Battery Voltage"}, "channels[0].quantity", "lower-case"),
        ({"quantity": "x", "calibration": {"points": [[1.0]]}}, "calibration.points", "two"),
        ({"quantity": "x", "gain": 2}, "channels[0].gain", "unknown key"),
    ],
)
def test_errors_name_the_key(channel: dict, key: str, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as err:
        labjack({"channels": [channel]})
    assert err.value.key.startswith("instruments.labjack.")
    assert err.value.key.endswith(key)
    assert words in err.value.problem


def test_an_ain_used_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"channels\[1\]\.ain: AIN1 is already used by channels\[0\]"):
        labjack(
            {"channels": [{"quantity": "a", "ain": 1}, {"quantity": "b", "ain": 0, "differential": True}]}
        )
    with pytest.raises(ConfigError, match=r"channels\[1\]\.quantity"):
        labjack({"channels": [{"quantity": "a", "ain": 1}, {"quantity": "a", "ain": 2}]})


def test_poll_rate_is_1_to_100_hz() -> None:
    with pytest.raises(ConfigError, match="poll_interval_s"):
        labjack({"poll_interval_s": 0.005})
    with pytest.raises(ConfigError, match="poll_interval_s"):
        labjack({"poll_interval_s": 2.0})


def test_example_config_documents_every_labjack_key() -> None:
    text = (ROOT / "resources" / "config.example.toml").read_text()
    data = tomllib.loads(text)
    section = labjack(data["instruments"]["labjack"])
    for f in dataclasses.fields(LabJackSection):
        assert f"\n{f.name} =" in text or f"\n# {f.name} =" in text or f.name == "channels", f.name
    for f in dataclasses.fields(LabJackChannelSection):
        assert f"{f.name} =" in text or f"channels.{f.name}]" in text, f.name
    for f in dataclasses.fields(TransferSection):
        assert f"{f.name} =" in text, f.name
    assert [c.quantity for c in section.channels][:2] == ["battery.voltage", "battery.current"]


def test_the_readme_example_is_a_valid_config() -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## LabJack T7 reference") :]
    block = section[section.index("```toml\n") + 8 : section.index("```", section.index("```toml\n") + 8)]
    s = labjack(tomllib.loads(block)["instruments"]["labjack"])
    assert (s.address, s.port, s.backend) == ("127.0.0.1", 5020, "modbus")
    assert [c.transfer.kind for c in s.channels] == ["divider", "la55p"]
