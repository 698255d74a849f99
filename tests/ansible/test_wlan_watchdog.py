"""The WLAN watchdog script (role network), run against stand-ins for nmcli, ip, ping and systemctl
that answer like a Pi whose WLAN is up or down and record what the script asked them to do."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.ansible.render import render

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
case "$(basename "$0") $*" in
  "nmcli -t -g GENERAL.STATE device show wlan0") echo "$WLAN_STATE" ;;
  "nmcli -t -f DEVICE,STATE device") printf 'wlan0:%s\\neth0:%s\\n' "${WLAN_STATE#* }" "$ETH_STATE" ;;
  "ip -4 route show default dev wlan0") [ -n "$GATEWAY" ] && echo "default via $GATEWAY proto dhcp" ;;
  ping*) [ "$PING_OK" = 1 ] ;;
esac
exit 0
"""


class Pi:
    def __init__(self, tmp: Path, **template_vars: object) -> None:
        self.tmp = tmp
        self.script = tmp / "benchgui-wlan-watchdog"
        self.script.write_text(render("network", "benchgui-wlan-watchdog.sh.j2", **template_vars))
        self.script.chmod(0o755)
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        for tool in ("nmcli", "ip", "ping", "systemctl", "sleep"):
            (bin_dir / tool).write_text(STUB)
            (bin_dir / tool).chmod(0o755)
        self.state_dir = tmp / "state"
        self.state_dir.mkdir()
        self.calls = tmp / "calls"
        self.env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "STATE_DIRECTORY": str(self.state_dir),
            "CALLS": str(self.calls),
            "ETH_STATE": "unavailable",
        }
        self.wlan(up=True)

    def wlan(self, up: bool) -> None:
        self.env.update(
            WLAN_STATE="100 (connected)" if up else "30 (disconnected)",
            GATEWAY="192.0.2.1" if up else "",
            PING_OK="1" if up else "0",
        )

    def check(self) -> tuple[str, list[str]]:
        """Run the watchdog once; its output and the actions it took (not the probes)."""
        self.calls.write_text("")
        proc = subprocess.run(
            [str(self.script)], env=self.env, capture_output=True, text=True, timeout=30, check=True
        )
        probes = ("nmcli -t", "ip -4", "ping", "sleep")
        actions = [c for c in self.calls.read_text().splitlines() if not c.startswith(probes)]
        return proc.stdout, actions

    @property
    def failures(self) -> int:
        return int((self.state_dir / "failures").read_text())


@pytest.fixture
def pi(tmp_path: Path) -> Pi:
    return Pi(tmp_path)


def test_healthy_wlan_is_left_alone(pi: Pi) -> None:
    out, actions = pi.check()
    assert (out, actions, pi.failures) == ("", [], 0)


def test_reconnects_after_three_failures_and_restarts_the_radio_after_six(pi: Pi) -> None:
    pi.wlan(up=False)
    seen = [pi.check()[1] for _ in range(6)]
    assert seen[:2] == [[], []]
    assert seen[2] == ["nmcli connection up benchgui-wlan ifname wlan0"]
    assert seen[3:5] == [[], []]
    assert seen[5] == ["nmcli radio wifi off", "nmcli radio wifi on"]
    assert pi.failures == 6
    pi.wlan(up=True)
    out, actions = pi.check()
    assert "back after 6 failed checks" in out
    assert actions == []
    assert pi.failures == 0


def test_never_reboots_unless_asked(pi: Pi) -> None:
    pi.wlan(up=False)
    for _ in range(20):
        _, actions = pi.check()
        assert not any("reboot" in a for a in actions)


def test_reboots_only_when_asked_and_no_other_link_is_up(tmp_path: Path) -> None:
    pi = Pi(tmp_path, network_watchdog_reboot_after=2)
    pi.wlan(up=False)
    pi.env["ETH_STATE"] = "connected"
    pi.check()
    out, actions = pi.check()
    assert "another interface is connected" in out
    assert "systemctl reboot" not in actions
    pi.env["ETH_STATE"] = "unavailable"
    _, actions = pi.check()
    assert actions == ["systemctl reboot"]
    assert pi.failures == 0


def test_a_corrupt_state_file_counts_from_zero(pi: Pi) -> None:
    (pi.state_dir / "failures").write_text("garbage")
    pi.wlan(up=False)
    pi.check()
    assert pi.failures == 1
    assert os.access(pi.script, os.X_OK)
