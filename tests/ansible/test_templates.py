"""The roles' templates, rendered with the site's variables and the example vault, checked the way
the programs that read them would: benchgui's own config loader, tomllib, YAML, XML, bash and
``systemd-analyze verify``."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from benchgui.config import load_config
from tests.ansible.render import evaluate, render, vault

# (role, template, path on the host) for every systemd unit the roles install.
UNITS = [
    ("recorder", "benchgui-recorder.service.j2", "etc/systemd/system/benchgui-recorder.service"),
    ("vnc", "benchgui-qtvnc-guard.service.j2", "etc/systemd/system/benchgui-qtvnc-guard.service"),
    ("vnc", "benchgui-qtvnc.service.j2", "etc/systemd/system/benchgui-qtvnc.service"),
    ("network", "benchgui-wlan-watchdog.service.j2", "etc/systemd/system/benchgui-wlan-watchdog.service"),
    ("network", "benchgui-wlan-watchdog.timer.j2", "etc/systemd/system/benchgui-wlan-watchdog.timer"),
    ("pio_remote", "benchgui-pio-remote.service.j2", "etc/systemd/system/benchgui-pio-remote.service"),
    ("remote_access", "benchgui-tunnel.service.j2", "etc/systemd/system/benchgui-tunnel.service"),
    ("kiosk", "benchgui-session.target.j2", "etc/systemd/user/benchgui-session.target"),
    ("kiosk", "benchgui-kiosk.service.j2", "etc/systemd/user/benchgui-kiosk.service"),
    ("vnc", "benchgui-vnc-x11vnc.service.j2", "etc/systemd/user/benchgui-vnc.service"),
]
TUNNEL = {
    "remote_access_jump_host": "jump.example.invalid",
    "remote_access_jump_host_key": "jump.example.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnly",
}


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_benchgui_loads_the_rendered_config_and_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "config.toml", render("benchgui", "config.toml.j2"), 0o640)
    secrets = write(tmp_path / "secrets.toml", render("benchgui", "secrets.toml.j2"), 0o600)
    monkeypatch.setenv("BENCHGUI_SECRETS_FILE", str(secrets))
    loaded = load_config(config)
    cfg = loaded.config
    assert cfg.instruments.ea is not None
    assert cfg.instruments.ea.port == "/dev/ea-load"
    assert cfg.instruments.ea.baud == 57600
    assert cfg.instruments.mppt is not None
    assert cfg.instruments.mppt.port == "/dev/mppt"
    assert cfg.instruments.mppt.baud == 115200
    assert cfg.instruments.labjack is not None
    assert cfg.instruments.labjack.backend == "modbus"
    assert cfg.recording.store_path == "/var/lib/benchgui/sessions.sqlite3"
    assert cfg.recording.influx.url == ""
    assert loaded.secrets["influx_password"] == vault()["vault_benchgui_influx_password"]


def test_influxdb_settings_reach_benchguis_forwarder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With an InfluxDB URL set, the deployed files resolve to a complete 1.x target (password from
    the secrets file), exactly as the forwarder will use them."""
    from benchgui.recording.influx_config import influx_target

    url = "http://lab.example.invalid:8086"
    config = write(
        tmp_path / "config.toml", render("benchgui", "config.toml.j2", benchgui_influx_url=url), 0o640
    )
    secrets = write(tmp_path / "secrets.toml", render("benchgui", "secrets.toml.j2"), 0o600)
    monkeypatch.setenv("BENCHGUI_SECRETS_FILE", str(secrets))
    loaded = load_config(config)
    target = influx_target(loaded.config.recording.influx, loaded.secrets)
    assert target is not None
    assert (target.url, target.version, target.database, target.user) == (url, 1, "benchgui", "bench")
    assert target.password == vault()["vault_benchgui_influx_password"]


def test_secrets_are_only_in_the_secrets_file() -> None:
    secret = vault()["vault_benchgui_influx_password"]
    config = render("benchgui", "config.toml.j2", benchgui_influx_url="http://lab.example.invalid:8086")
    assert secret not in config
    assert secret in render("benchgui", "secrets.toml.j2")
    table = tomllib.loads(config)["recording"]["influx"]
    assert table == {
        "url": "http://lab.example.invalid:8086",
        "version": 1,
        "database": "benchgui",
        "user": "bench",
    }
    assert not {"token", "password"} & set(table)


def test_every_secret_lands_only_in_files_written_0600_with_no_log() -> None:
    """Each vault value appears only in templates that their tasks write with mode 0600 and no_log."""
    private = {
        ("benchgui", "secrets.toml.j2"),
        ("vnc", "wayvnc-config.j2"),
        ("network", "wlan.nmconnection.j2"),
        ("pio_remote", "pio-remote.env.j2"),
        ("monitoring", "telegraf.default.j2"),
        ("grafana", "grafana-server.default.j2"),  # 0640 root:grafana: Grafana must read it
        ("grafana", "datasources.yaml.j2"),  # 0640 root:grafana, likewise
    }
    secrets = [v for k, v in vault().items() if isinstance(v, str) and len(v) >= 6]
    roles = Path(__file__).resolve().parents[2] / "ansible" / "roles"
    for tpl in sorted(roles.glob("*/templates/*.j2")):
        text = render(tpl.parts[-3], tpl.name, network_wlan_ssid="lab", **TUNNEL)
        leaked = [s for s in secrets if s in text]
        if (tpl.parts[-3], tpl.name) not in private:
            assert not leaked, f"{tpl.parts[-3]}/{tpl.name} contains a secret"
        else:
            assert leaked, f"{tpl.parts[-3]}/{tpl.name} should carry its secret"
            task_files = (roles / tpl.parts[-3] / "tasks").glob("*.yml")
            tasks = "\n".join(p.read_text() for p in task_files)
            block = tasks[tasks.index(tpl.name) - 400 : tasks.index(tpl.name) + 400]
            assert "no_log: true" in block, f"the task writing {tpl.name} must have no_log"


def test_udev_rules_name_the_instruments_by_usb_ids() -> None:
    rules = render(
        "benchgui",
        "70-benchgui-instruments.rules.j2",
        benchgui_udev_devices=[
            {"name": "ea-load", "vendor_id": "0403", "product_id": "6001", "serial": "EA1"},
            {"name": "mppt", "vendor_id": "10c4", "product_id": "ea60", "serial": ""},
        ],
    )
    lines = [ln for ln in rules.splitlines() if ln and not ln.startswith("#")]
    assert lines == [
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", ATTRS{serial}=="EA1", '
        'SYMLINK+="ea-load", GROUP="dialout", MODE="0660"',
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="10c4", ATTRS{idProduct}=="ea60", '
        'SYMLINK+="mppt", GROUP="dialout", MODE="0660"',
    ]
    stlink = render("stlink_udev", "70-benchgui-stlink.rules.j2")
    assert 'ATTRS{idVendor}=="0483", ATTRS{idProduct}=="374b", MODE="0660", GROUP="plugdev"' in stlink


def test_vnc_listens_on_localhost_unless_opened() -> None:
    assert evaluate("{{ vnc_listen_address }}") == "127.0.0.1"
    assert "-listen 127.0.0.1" in render("vnc", "benchgui-vnc-x11vnc.service.j2")
    assert "address=127.0.0.1" in render("vnc", "wayvnc-config.j2")
    assert "-listen 0.0.0.0" in render("vnc", "benchgui-vnc-x11vnc.service.j2", vnc_listen_on_lan=True)
    assert evaluate("{{ vnc_backend }}") == "wayvnc"
    assert evaluate("{{ vnc_backend }}", kiosk_session="x11") == "x11vnc"
    assert evaluate("{{ vnc_backend }}", bench_mode="qtvnc") == "qt"
    qt = render("vnc", "benchgui-qtvnc.service.j2")
    assert "Environment=QT_QPA_PLATFORM=vnc:size=1280x800:port=5900" in qt
    assert "Requires=benchgui-qtvnc-guard.service" in qt
    assert 'iifname != "lo" tcp dport 5900 drop' in render("vnc", "qtvnc-guard.nft.j2")


def test_kiosk_session_files() -> None:
    wayland = render("kiosk", "benchgui-kiosk-session.j2")
    assert "exec labwc -C /etc/benchgui/kiosk" in wayland
    x11 = render("kiosk", "benchgui-kiosk-session.j2", kiosk_session="x11")
    assert "exec startx /etc/benchgui/kiosk/xsession" in x11
    assert "-s 0 -dpms" in x11
    assert "xset s off -dpms s noblank" in render("kiosk", "xsession.j2")
    assert "swayidle" not in render("kiosk", "labwc-autostart.j2").replace("No swayidle", "")
    greetd = tomllib.loads(render("kiosk", "greetd-config.toml.j2"))
    assert greetd["initial_session"] == {"command": "/usr/local/bin/benchgui-kiosk-session", "user": "bench"}
    assert greetd["terminal"]["vt"] == 7
    ET.fromstring(render("kiosk", "labwc-rc.xml.j2"))
    unit = render("kiosk", "benchgui-kiosk.service.j2")
    assert "Restart=always" in unit
    args = "--fullscreen --low-power --config /etc/benchgui/config.toml"
    assert f"ExecStart=/opt/benchgui/venv/bin/benchgui {args}" in unit
    assert "Environment=QT_QPA_PLATFORM=wayland" in unit  # labwc: Qt's native Wayland platform
    x11_unit = render("kiosk", "benchgui-kiosk.service.j2", kiosk_session="x11")
    assert "Environment=QT_QPA_PLATFORM=xcb" in x11_unit
    for script in (wayland, x11, render("kiosk", "xsession.j2")):
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_recorder_unit_runs_headless_and_restarts_on_failure() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(render("recorder", "benchgui-recorder.service.j2"))
    svc = unit["Service"]
    assert svc["ExecStart"].startswith("/opt/benchgui/venv/bin/benchgui record --headless")
    assert svc["Restart"] == "on-failure"
    assert svc["StandardOutput"] == "journal"
    assert svc["User"] == "bench"
    assert svc["KillSignal"] == "SIGTERM"


def test_network_files() -> None:
    nm = configparser.ConfigParser(interpolation=None)
    nm.read_string(render("network", "wlan.nmconnection.j2", network_wlan_ssid="lab"))
    assert nm["wifi"]["ssid"] == "lab"
    assert nm["wifi-security"]["psk"] == vault()["vault_wlan_psk"]
    assert nm["connection"]["autoconnect"] == "true"
    subprocess.run(
        ["bash", "-n"], input=render("network", "benchgui-wlan-watchdog.sh.j2"), text=True, check=True
    )


def test_server_side_config_files_parse() -> None:
    tomllib.loads(render("influxdb", "influxdb.conf.j2"))
    assert tomllib.loads(render("influxdb", "influxdb.conf.j2"))["http"]["bind-address"] == "127.0.0.1:8086"
    telegraf = tomllib.loads(render("monitoring", "telegraf.conf.j2"))
    assert {"cpu", "mem", "disk", "temp", "wireless"} <= set(telegraf["inputs"])
    assert telegraf["outputs"]["influxdb"][0]["password"] == "${INFLUX_MONITORING_PASSWORD}"
    sources = yaml.safe_load(render("grafana", "datasources.yaml.j2"))["datasources"]
    assert [s["uid"] for s in sources] == ["benchgui-influx", "benchgui-monitoring"]
    assert sources[0]["jsonData"]["dbName"] == "benchgui"
    assert sources[0]["secureJsonData"]["password"] == vault()["vault_grafana_influx_password"]
    providers = yaml.safe_load(render("grafana", "dashboards.yaml.j2"))["providers"]
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards/benchgui"
    sshd = render("remote_access", "sshd-benchgui.conf.j2")
    assert "PasswordAuthentication no" in sshd
    tunnel = render("remote_access", "benchgui-tunnel.service.j2", **TUNNEL)
    for opt in (
        "ExitOnForwardFailure=yes",
        "StrictHostKeyChecking=yes",
        "ServerAliveInterval=30",
        "BatchMode=yes",
    ):
        assert opt in tunnel


def test_systemd_units_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` in a scratch root that holds the units and the programs they run."""
    # make test installs it (scripts/system-deps-test.txt): a missing tool fails, never skips
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing: run scripts/system-deps.sh test"
    root = tmp_path / "root"
    for role, tpl, dest in UNITS:
        write(root / dest, render(role, tpl, **TUNNEL))
    execs: set[str] = set()
    for _, _, dest in UNITS:
        for m in re.finditer(r"^Exec\w+=[-@:+!]*(/\S+)", (root / dest).read_text(), re.M):
            execs.add(m.group(1))
    for exe in execs:
        write(root / exe.lstrip("/"), "#!/bin/sh\n", 0o755)
    for dep in ("etc/benchgui/environment", "etc/default/benchgui-pio-remote"):
        write(root / dep, "")
    # The units they depend on: the host's own, and a stand-in for NetworkManager's.
    for lib in ("usr/lib/systemd/system", "usr/lib/systemd/user"):
        if Path("/", lib).is_dir():
            shutil.copytree(Path("/", lib), root / lib, symlinks=True, dirs_exist_ok=True)
    if not (root / "usr/lib/systemd/system/NetworkManager.service").exists():
        write(
            root / "etc/systemd/system/NetworkManager.service",
            "[Service]\nExecStart=/usr/sbin/NetworkManager\n",
        )
        write(root / "usr/sbin/NetworkManager", "#!/bin/sh\n", 0o755)
    system = [str(root / d) for _, _, d in UNITS if "/system/" in d]
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="warning", XDG_RUNTIME_DIR=str(runtime))
    check_verify(["--system", f"--root={root}", *system], env)
    # User units: --root does not work with --user, so they point at a stand-in benchgui instead.
    venv = tmp_path / "venv"
    write(venv / "bin" / "benchgui", "#!/bin/sh\n", 0o755)
    user_dir = tmp_path / "user"
    user = [
        str(write(user_dir / Path(d).name, render(role, tpl, benchgui_venv=str(venv))))
        for role, tpl, d in UNITS
        if "/user/" in d
    ]
    if shutil.which("x11vnc"):
        env["SYSTEMD_UNIT_PATH"] = f"{user_dir}:"
        check_verify(["--user", *user], env)


def check_verify(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *args], capture_output=True, text=True, env=env, check=False
    )
    problems = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert not problems, "\n".join(problems)
    assert proc.returncode == 0
