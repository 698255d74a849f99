"""PySide6's per-import check, answered from the file's bytes (benchgui.pyside_feature, issue 19)."""

import subprocess
import sys

from tests.helpers import cli_env


def test_the_gui_keeps_no_sources_and_pyside_gets_its_own_answers() -> None:
    """After the GUI's imports no module source sits in linecache (PySide's check kept ~10 MB of
    them), and for every module loaded the check answers as PySide's own did."""
    code = """
import linecache, sys, types
import benchgui.cli.gui, benchgui.app
check = sys.modules["shibokensupport.feature"]._mod_uses_pyside
assert getattr(check, "benchgui", False), "not installed"
kept = [f for f in linecache.cache if "pyqtgraph" in f or "benchgui" in f]
assert not kept, kept[:5]
modules = [m for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)]
differ = [m.__name__ for m in modules if check(m) != check.original(m)]
assert not differ, differ
users = [m.__name__ for m in modules if check(m)]
assert "pyqtgraph.Qt" in users and "benchgui.widgets.plots" in users, users
assert "benchgui.model" not in users and "json" not in users
print(len(modules), len(users))
"""
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=cli_env(), check=False
    )
    assert r.returncode == 0, r.stderr
    n_modules, n_users = (int(x) for x in r.stdout.split())
    assert n_modules > 500
    assert n_users > 20  # pyqtgraph and benchgui.widgets
