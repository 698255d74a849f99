"""The Ansible project as a whole: the playbook parses, ansible-lint's production profile passes,
the vault is really encrypted and every secret a role uses comes from it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ansible.render import ANSIBLE_DIR, vault

BIN = Path(sys.executable).parent


def ansible_env() -> dict[str, str]:
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_VAULT_PASSWORD_FILE=str(ANSIBLE_DIR / "vault-password.example"),
        ANSIBLE_NOCOLOR="1",
        NO_COLOR="1",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' (it is in the test extra)")
    return str(path)


def test_site_playbook_syntax() -> None:
    proc = subprocess.run(
        [tool("ansible-playbook"), "--syntax-check", "site.yml"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ansible_lint_production_profile() -> None:
    """Offline (.ansible-lint says so): no Galaxy, only ansible.builtin modules."""
    proc = subprocess.run(
        [tool("ansible-lint"), "--profile", "production", "--nocolor"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Passed" in proc.stdout + proc.stderr
    assert "production" in proc.stdout + proc.stderr


def test_vault_is_encrypted_and_holds_every_secret_the_site_uses() -> None:
    vault_file = ANSIBLE_DIR / "group_vars/all/vault.yml"
    assert vault_file.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    names = set(vault())
    used: set[str] = set()
    for path in ANSIBLE_DIR.rglob("*.yml"):
        if path != vault_file:
            used |= set(re.findall(r"\bvault_\w+", path.read_text()))
    assert used
    assert used <= names, f"used but not in the vault: {sorted(used - names)}"
    assert all(str(v).startswith("EXAMPLE-ONLY") or v == "" for v in vault().values())


def test_only_ansible_builtin_modules_are_used() -> None:
    """Nothing needs Galaxy (unreachable here): every module is ansible.builtin.*, none is shell."""
    modules: set[str] = set()
    for path in (ANSIBLE_DIR / "roles").rglob("*.yml"):
        if path.parent.name in ("tasks", "handlers"):
            modules |= set(re.findall(r"^\s*-?\s*([a-z_]+\.[a-z_]+\.[a-z_]+):", path.read_text(), re.M))
    assert modules
    assert all(m.startswith("ansible.builtin.") for m in modules), modules
    assert "ansible.builtin.shell" not in modules
