"""Issue 22: credentials in ``BENCHGUI_INFLUX_URL`` are refused, never logged, echoed or stored."""

from __future__ import annotations

import logging

import pytest

from benchgui.cli import main
from benchgui.config.schema import InfluxSection
from benchgui.errors import ConfigError
from benchgui.recording.influx_config import influx_target

SECRET = "s3cr3t-PW"
BAD = [
    f"http://admin:{SECRET}@localhost:8086",
    f"http://{SECRET}@localhost:8086",
    f"http://localhost:8086/?u=admin&p={SECRET}",
    f"http://localhost:8086?password={SECRET}",
    f"https://influx.example:8086/?token={SECRET}",
    f"http://localhost:8086/#{SECRET}",
    f"http://[::1:8086/?p={SECRET}",  # not even parseable: still not echoed
]


@pytest.mark.parametrize("url", BAD)
def test_a_url_with_credentials_is_refused_without_echoing_it(url: str) -> None:
    env = {"influx_url": url, "influx_version": "1", "influx_database": "bench"}
    with pytest.raises(ConfigError) as info:
        influx_target(InfluxSection(), env)
    assert info.value.key == "recording.influx.url"
    assert SECRET not in str(info.value)


def test_the_file_url_is_checked_too() -> None:
    with pytest.raises(ConfigError) as info:
        influx_target(InfluxSection(url=f"http://u:{SECRET}@pi:8086", version=1, database="b"), {})
    assert "must not carry credentials" in str(info.value)


def test_a_plain_url_with_a_path_is_fine() -> None:
    env = {"influx_url": "https://pi.local:8086/influx/", "influx_version": "1", "influx_database": "b"}
    target = influx_target(InfluxSection(), env)
    assert target is not None
    assert target.url == "https://pi.local:8086/influx/"


def test_the_cli_says_where_credentials_belong_and_logs_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BENCHGUI_INFLUX_URL", f"http://admin:{SECRET}@127.0.0.1:1")
    monkeypatch.setenv("BENCHGUI_INFLUX_VERSION", "1")
    monkeypatch.setenv("BENCHGUI_INFLUX_DATABASE", "bench")
    caplog.set_level(logging.DEBUG)
    rc = main(["-vv", "forward", "--once"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "BENCHGUI_INFLUX_USER" in err
    assert "BENCHGUI_INFLUX_TOKEN" in err
    assert SECRET not in err
    assert SECRET not in caplog.text
