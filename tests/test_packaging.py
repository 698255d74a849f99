"""The wheel a deployment installs (the Ansible kiosk does) carries the shipped models and
example programs, and the code finds them there; the test harness in the package (the soak,
``benchgui.testing``) ships too, but the app never imports it."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the module's wheel build (pip, build isolation fetching setuptools) runs inside the first
# test's timeout: leave it room for its own 300 s limit
pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # build isolation fetches setuptools + wheel from the package index, as a deployment does
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    proc = subprocess.run(cmd, timeout=300, cwd=build, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = out.glob("benchgui-*.whl")
    return whl


def test_wheel_carries_models_and_programs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "benchgui" / "resources").rglob("*") if p.is_file()
    }
    assert "benchgui/resources/models/lifepo4-4s.toml" in shipped
    assert "benchgui/resources/programs/discharge-5A-to-cutoff.toml" in shipped
    assert shipped <= names, f"missing from the wheel: {sorted(shipped - names)}"


def test_wheel_carries_the_soak(wheel: Path) -> None:
    """``benchgui soak`` runs on an installed bench: its package and its influxd helper ship."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"benchgui/soak/__init__.py", "benchgui/soak/run.py", "benchgui/testing/influxd.py"} <= names


HARNESS = ("benchgui.testing", "benchgui.soak")  # and what the soak command is allowed to use


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (the package uses
    absolute imports only)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            out.add(node.module or "")
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _is_harness(module: str) -> bool:
    return any(module == h or module.startswith(h + ".") for h in HARNESS)


def test_the_app_imports_no_test_harness() -> None:
    """Only the soak itself and its command use ``benchgui.testing`` and ``benchgui.soak``."""
    offenders = []
    for path in sorted((ROOT / "benchgui").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if _is_harness(module) or module == "benchgui.cli.soak":
            continue
        offenders += [f"{module} imports {m}" for m in sorted(_imports(path)) if _is_harness(m)]
    assert not offenders, offenders


def test_installed_wheel_finds_them(wheel: Path, tmp_path: Path) -> None:
    """Unpacked on its own (no checkout beside it), the loaders find the shipped files."""
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = (
        "from benchgui.soc.modelfile import builtin_model_names;"
        "from benchgui.core.programs.loader import list_examples;"
        "import benchgui; print(benchgui.__file__);"
        "print(','.join(builtin_model_names())); print(','.join(p.name for p in list_examples()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(tmp_path))
    assert "lifepo4-4s" in out[1].split(",")
    assert "lead-acid-6s" in out[1].split(",")
    assert "discharge-5A-to-cutoff.toml" in out[2].split(",")
    assert "demo-day.toml" in out[2].split(",")  # what `benchgui --demo` runs
