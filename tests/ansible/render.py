"""Render the Ansible roles' templates in-process with Ansible's own templating engine.

Variables are layered as ``ansible-playbook site.yml`` layers them: every role's defaults, then
the site's ``group_vars/all`` (including the example vault, decrypted with the example password),
then the roles' ``vars/``, then the caller's overrides (like ``-e``). Rendering this way takes
milliseconds per file instead of a playbook run, so ``make test`` can check every template.

Ansible runs in a worker process (``python -m tests.ansible.render``), started once: importing it
next to PySide6 (which pytest-qt loads) trips shiboken's import hook. Tests call :func:`render`,
:func:`evaluate` and :func:`vault`, which talk to the worker in JSON lines.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
ROLES = ANSIBLE_DIR / "roles"
VAULT_PASSWORD_FILE = ANSIBLE_DIR / "vault-password.example"

# Facts and magic variables the templates use, as a Pi would report them.
HOST_VARS: dict[str, Any] = {
    "ansible_managed": "Ansible managed",
    "inventory_hostname": "bench-pi-01",
    "inventory_hostname_short": "bench-pi-01",
    "ansible_facts": {"is_chroot": False, "architecture": "aarch64"},
    "playbook_dir": str(ANSIBLE_DIR),
    "benchgui_wheel": "/tmp/benchgui-0.1.0-py3-none-any.whl",
}

_loader: Any = None


def loader() -> Any:
    global _loader
    if _loader is None:
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import VaultSecret
        from ansible.plugins.loader import init_plugin_loader

        init_plugin_loader()
        _loader = DataLoader()
        password = VAULT_PASSWORD_FILE.read_bytes().strip()
        _loader.set_vault_secrets([("default", VaultSecret(password))])
    return _loader


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return dict(loader().load_from_file(str(path)) or {})


def _trust(value: Any) -> Any:
    """Mark strings as templates, as Ansible does for variables that come from the project's files."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trust(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trust(v) for v in value]
    return value


def site_variables(**overrides: Any) -> dict[str, Any]:
    roles = sorted(p.name for p in ROLES.iterdir() if p.is_dir())
    variables: dict[str, Any] = {}
    for role in roles:
        variables.update(_load(ROLES / role / "defaults" / "main.yml"))
    for name in ("main.yml", "vault.yml"):
        variables.update(_load(ANSIBLE_DIR / "group_vars" / "all" / name))
    for role in roles:
        variables.update(_load(ROLES / role / "vars" / "main.yml"))
    variables.update(HOST_VARS)
    variables.update(overrides)
    return _trust(variables)


def _vault() -> dict[str, Any]:
    return _load(ANSIBLE_DIR / "group_vars" / "all" / "vault.yml")


def _render(role: str, template: str, overrides: dict[str, Any]) -> str:
    from ansible.template import Templar, trust_as_template

    templar = Templar(loader=loader(), variables=site_variables(**overrides))
    source = (ROLES / role / "templates" / template).read_text()
    return str(templar.template(trust_as_template(source)))


def _evaluate(expression: str, overrides: dict[str, Any]) -> Any:
    from ansible.template import Templar, trust_as_template

    templar = Templar(loader=loader(), variables=site_variables(**overrides))
    return templar.template(trust_as_template(expression))


def serve() -> None:
    """Worker loop: one JSON request per line in, one JSON answer per line out."""
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "render":
                result: Any = _render(req["role"], req["template"], req["overrides"])
            elif req["op"] == "evaluate":
                result = _evaluate(req["expression"], req["overrides"])
            else:
                result = _vault()
            answer = {"ok": True, "result": result}
        except Exception as exc:  # reported to the test, which fails with it
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer, default=str) + "\n")
        sys.stdout.flush()


_worker: subprocess.Popen[str] | None = None


def _ask(request: dict[str, Any]) -> Any:
    global _worker
    if _worker is None or _worker.poll() is not None:
        _worker = subprocess.Popen(
            [sys.executable, "-m", "tests.ansible.render"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        atexit.register(_worker.kill)
    assert _worker.stdin is not None
    assert _worker.stdout is not None
    _worker.stdin.write(json.dumps(request) + "\n")
    _worker.stdin.flush()
    line = _worker.stdout.readline()
    if not line:
        raise RuntimeError("the Ansible render worker died (see stderr above)")
    answer = json.loads(line)
    if not answer["ok"]:
        raise AssertionError(answer["error"])
    return answer["result"]


def vault() -> dict[str, Any]:
    """The example vault's clear values (to check where secrets end up)."""
    return dict(_ask({"op": "vault"}))


def render(role: str, template: str, **overrides: Any) -> str:
    """The text ``role``'s ``templates/<template>`` would have on the host."""
    return str(_ask({"op": "render", "role": role, "template": template, "overrides": overrides}))


def evaluate(expression: str, **overrides: Any) -> Any:
    """The value of a Jinja expression (e.g. ``"{{ vnc_listen_address }}"``) with the site's variables."""
    return _ask({"op": "evaluate", "expression": expression, "overrides": overrides})


if __name__ == "__main__":
    serve()
