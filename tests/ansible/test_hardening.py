"""Issue 22's deployment findings, checked on the rendered templates and the roles' tasks: the kiosk
binds no shortcut that leaves benchgui, the kiosk user owns only the secrets it needs, the site
refuses empty or example secrets, Grafana listens on localhost, pip installs with the constraints."""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ansible.render import ANSIBLE_DIR, REPO, ROLES, evaluate, render, vault

SECRET_CHECK = "Refuse example or empty secrets"
# Settings under which every secret of the site is in use (InfluxDB forwarding, WLAN, tunnel).
IN_USE: dict[str, Any] = {
    "benchgui_influx_url": "http://lab.example.invalid:8086",
    "network_wlan_ssid": "lab",
    "remote_access_jump_host": "jump.example.invalid",
    "remote_access_jump_host_key": "jump.example.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnly",
}
# Where a secret is used only under a setting of its own.
USED_WHEN = {"vault_benchgui_influx_token": {"benchgui_influx_version": 2}}
TERMINALS = {
    "xterm", "foot", "alacritty", "kitty", "lxterminal", "gnome-terminal", "konsole", "qterminal",
    "xfce4-terminal", "rxvt-unicode", "terminator", "tilix", "sakura", "st", "wezterm", "mate-terminal",
}  # fmt: skip


def tasks(role: str) -> list[dict[str, Any]]:
    """Every task of a role (blocks flattened), with the file it is in."""
    found: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]], path: Path) -> None:
        for task in items or []:
            found.append({**task, "_file": path.name})
            for key in ("block", "rescue", "always"):
                walk(task.get(key, []), path)

    for path in sorted((ROLES / role / "tasks").glob("*.yml")):
        walk(yaml.safe_load(path.read_text()), path)
    return found


def truth(expression: str, **overrides: Any) -> bool:
    value = evaluate("{{ (" + expression + ") | bool }}", **overrides)
    assert isinstance(value, bool) or value in ("True", "False"), value
    return value is True or value == "True"


# --- the kiosk cannot be escaped -----------------------------------------------------------------


def test_labwc_loads_no_default_bindings_and_binds_nothing_that_leaves_the_app() -> None:
    rc = ET.fromstring(render("kiosk", "labwc-rc.xml.j2"))
    # <default /> in <keyboard> or <mouse> loads labwc's defaults: a terminal on Super+Return, …
    assert rc.findall(".//default") == []
    keybinds = rc.findall("./keyboard/keybind")
    mousebinds = rc.findall("./mouse/context/mousebind")
    # labwc also loads its defaults when a section binds nothing at all: each binds something harmless
    assert keybinds, "no <keybind>: labwc would load its default key bindings"
    assert mousebinds, "no <mousebind>: labwc would load its default mouse bindings (root menu)"
    actions = {a.get("name") for a in rc.iter("action")}
    assert actions
    assert actions <= {"Focus", "Raise"}, actions
    assert rc.findall(".//menu") == []


def test_the_wayland_session_cannot_switch_virtual_terminals() -> None:
    session = render("kiosk", "benchgui-kiosk-session.j2")
    assert "export XKB_DEFAULT_OPTIONS=srvrkeys:none" in session
    assert session.index("srvrkeys:none") < session.index("exec labwc")


def test_the_x11_session_grabs_no_keys() -> None:
    xsession = render("kiosk", "xsession.j2")
    wm = next(ln for ln in xsession.splitlines() if ln.startswith("exec matchbox-window-manager"))
    assert "-kbdconfig /etc/benchgui/kiosk/matchbox-kbdconfig" in wm
    # matchbox: no shortcut at all (the template is one Jinja comment, which renders to nothing)
    source = (ROLES / "kiosk" / "templates" / "matchbox-kbdconfig.j2").read_text()
    assert re.sub(r"\{#.*?#\}", "", source, flags=re.S).strip() == ""
    xorg = render("kiosk", "xorg-kiosk.conf.j2")
    assert 'Option "DontZap" "true"' in xorg
    assert 'Option "DontVTSwitch" "true"' in xorg
    kiosk = yaml.safe_dump(tasks("kiosk"))
    assert "src: matchbox-kbdconfig.j2" in kiosk
    assert "/etc/X11/xorg.conf.d/50-benchgui-kiosk.conf" in kiosk


@pytest.mark.parametrize("session", ["wayland", "x11"])
def test_no_terminal_is_installed_for_the_kiosk(session: str) -> None:
    expression = (
        "{{ kiosk_packages_common + lookup('ansible.builtin.vars', 'kiosk_packages_' ~ kiosk_session) }}"
    )
    packages = set(evaluate(expression, kiosk_session=session))
    assert packages
    assert not packages & TERMINALS


def test_the_kiosk_user_owns_only_the_secrets_it_needs() -> None:
    """Files written with no_log hold secrets; the kiosk user (who sits at the bench screen) owns only
    benchgui's secrets file (benchgui refuses one others can read) and its VNC server's password."""
    kiosk_user = evaluate("{{ kiosk_user }}")
    owned = set()
    for role in sorted(p.name for p in ROLES.iterdir()):
        for task in tasks(role):
            module = next((v for k, v in task.items() if k.startswith("ansible.builtin.")), None)
            if not task.get("no_log") or not isinstance(module, dict) or "dest" not in module:
                continue
            owner = evaluate(str(module.get("owner", "root")), **IN_USE)
            if owner == kiosk_user:
                owned.add((role, Path(module["dest"]).name))
    assert owned == {
        ("benchgui", "secrets.toml"),  # benchgui's own InfluxDB credentials
        ("vnc", "wayvnc.conf"),  # the VNC server runs in the kiosk session
        ("vnc", "password"),  # likewise (x11vnc)
    }


# --- the deployment refuses example or empty secrets ---------------------------------------------


def secret_checks() -> list[tuple[str, str]]:
    checks = []
    for role in sorted(p.name for p in ROLES.iterdir()):
        for task in tasks(role):
            if task.get("name") == SECRET_CHECK:
                assert "when" not in task, "the check runs always; conditions go into its expressions"
                checks += [(role, c) for c in task["ansible.builtin.assert"]["that"]]
    return checks


def strong_secrets() -> dict[str, str]:
    values = {k: f"{k}-{secrets.token_hex(12)}" for k in vault()}
    values["vault_tunnel_private_key"] = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + secrets.token_hex(32)
        + "\n-----END OPENSSH PRIVATE KEY-----"
    )
    return values


def refused(checks: list[tuple[str, str]], **overrides: Any) -> list[str]:
    return [f"{role}: {c}" for role, c in checks if not truth(c, **overrides)]


def test_every_role_that_deploys_a_secret_checks_it_first() -> None:
    checks = secret_checks()
    assert {role for role, _ in checks} == {
        "benchgui", "grafana", "influx_server", "monitoring", "network", "pio_remote", "remote_access", "vnc",
    }  # fmt: skip
    for role in {role for role, _ in checks}:
        first = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())[0]
        assert first["name"] == SECRET_CHECK, f"{role} changes the host before checking its secrets"


def test_own_secrets_pass_the_checks() -> None:
    assert refused(secret_checks(), **IN_USE, **strong_secrets()) == []


def test_the_example_vault_is_refused() -> None:
    assert refused(secret_checks(), **IN_USE)


@pytest.mark.parametrize("name", sorted(vault()))
@pytest.mark.parametrize("kind", ["empty", "example"])
def test_each_empty_or_example_secret_is_refused(name: str, kind: str) -> None:
    checks = secret_checks()
    good = strong_secrets()
    example = vault()[name] or f"EXAMPLE-ONLY-{name}-0123456789abcdef"
    bad = {"empty": "", "example": example}[kind]
    assert refused(checks, **IN_USE, **USED_WHEN.get(name, {}), **{**good, name: bad}), (
        f"{name} {kind} passes"
    )


def test_grafanas_admin_password_is_checked_by_grafana_itself() -> None:
    grafana = [c for role, c in secret_checks() if role == "grafana"]
    assert refused(
        [("grafana", c) for c in grafana], **{**strong_secrets(), "vault_grafana_admin_password": ""}
    )
    assert refused(
        [("grafana", c) for c in grafana],
        **{**strong_secrets(), "vault_grafana_admin_password": "EXAMPLE-ONLY-x12345"},
    )


def test_unused_secrets_may_stay_empty() -> None:
    """A version 1 forwarder needs no token, a site without WLAN or tunnel no passphrase or key."""
    good = strong_secrets()
    unused = {"vault_benchgui_influx_token": "", "vault_wlan_psk": "", "vault_tunnel_private_key": ""}
    assert refused(secret_checks(), **{**good, **unused}) == []


# --- Grafana on localhost, pinned dependencies on the Pi --------------------------------------------


def test_grafana_listens_on_localhost_unless_opened() -> None:
    assert "GF_SERVER_HTTP_ADDR=127.0.0.1\n" in render("grafana", "grafana-server.default.j2")
    opened = render("grafana", "grafana-server.default.j2", grafana_http_addr="0.0.0.0")
    assert "GF_SERVER_HTTP_ADDR=0.0.0.0\n" in opened


@pytest.mark.parametrize("wheelhouse", ["", "/srv/wheelhouse"])
def test_pip_on_the_pi_installs_with_the_projects_constraints(wheelhouse: str) -> None:
    assert Path(evaluate("{{ benchgui_constraints }}")).resolve() == REPO / "constraints.txt"
    args = str(evaluate("{{ benchgui_pip_args }}", benchgui_wheelhouse=wheelhouse)).split()
    assert args[:2] == ["-c", "/opt/benchgui/constraints.txt"]
    assert ("--no-index" in args) == bool(wheelhouse)
    benchgui = tasks("benchgui")
    copy = next(t for t in benchgui if t["name"] == "Copy the project's dependency constraints")
    assert copy["ansible.builtin.copy"]["src"] == "{{ benchgui_constraints }}"
    assert copy["ansible.builtin.copy"]["dest"] == "{{ benchgui_constraints_dest }}"
    pip = [t["ansible.builtin.pip"] for t in benchgui if "ansible.builtin.pip" in t]
    handlers = yaml.safe_load((ROLES / "benchgui" / "handlers" / "main.yml").read_text())
    pip += [h["ansible.builtin.pip"] for h in handlers if "ansible.builtin.pip" in h]
    assert len(pip) == 2
    assert all("{{ benchgui_pip_args }}" in p["extra_args"] for p in pip)
    names = [t["name"] for t in benchgui]
    assert names.index("Copy the project's dependency constraints") < names.index(
        "Install benchgui and its dependencies into the virtualenv"
    )
    assert ANSIBLE_DIR.is_dir()


# --- SSH through the tunnel -------------------------------------------------------------------------

ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAdminKeyForTheTestOnly admin@laptop"


def _sshd_task() -> dict[str, Any]:
    (task,) = [
        t
        for t in tasks("remote_access")
        if t.get("ansible.builtin.template", {}).get("src") == "sshd-benchgui.conf.j2"
    ]
    return task


def _directives(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


TUNNEL_MATCH = "Match Address 127.0.0.1,::1"


@pytest.mark.parametrize(
    ("keys", "jump_host", "written", "global_no"),
    [
        ([], "", False, False),  # no tunnel, no keys: sshd as the image has it
        ([], "jump.example.invalid", True, False),  # issue 22: passwords stayed on for the tunnel
        ([ADMIN_KEY], "", True, True),
        ([ADMIN_KEY], "jump.example.invalid", True, True),
    ],
)
def test_no_password_login_through_the_tunnel(
    keys: list[str], jump_host: str, written: bool, global_no: bool
) -> None:
    """Issue 22: with no admin keys, SSH password login stayed on while the tunnel exposed the Pi."""
    settings = {"remote_access_admin_keys": keys, "remote_access_jump_host": jump_host}
    when = _sshd_task()["when"]
    assert truth(when if isinstance(when, str) else " and ".join(when), **settings) is written
    if not written:
        return
    lines = _directives(render("remote_access", "sshd-benchgui.conf.j2", **settings))
    split = lines.index(TUNNEL_MATCH) if TUNNEL_MATCH in lines else len(lines)
    everywhere, tunnel_only = lines[:split], lines[split:]
    assert not any(line.startswith("Match") for line in everywhere)
    assert ("PasswordAuthentication no" in everywhere) is global_no
    meets = tunnel_only or everywhere  # what a login through the tunnel meets
    assert {"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin no"} <= set(
        meets
    )
    tunnel = render("remote_access", "benchgui-tunnel.service.j2", **{**IN_USE, **settings})
    port = evaluate("{{ remote_access_remote_port }}")
    assert f"-R {port}:localhost:22" in tunnel  # so tunnel logins arrive from the Pi's loopback


def test_the_docs_say_to_restrict_the_tunnel_key_on_the_jump_host() -> None:
    """Issue 22: the README did not say to restrict the tunnel key (`restrict,permitlisten=…`)."""
    port = evaluate("{{ remote_access_remote_port }}")
    for doc in ("README.md", "SECURITY.md"):
        text = (REPO / doc).read_text()
        assert re.search(r'restrict,permitlisten="localhost:(\d+|<remote_access_remote_port>)"', text), doc
        assert "GatewayPorts no" in text, doc
    assert f'permitlisten="localhost:{port}"' in (REPO / "README.md").read_text()  # the role's default port
