"""A cheaper answer to PySide6's question "does this module use PySide6?" (issue 19: startup).

PySide6 (since 6.4, PYSIDE-2029, for its ``from __feature__ import snake_case``) asks it of
every module imported after ``PySide6.QtCore``, by ``inspect.getsource``: each file is decoded
through :mod:`linecache` and kept there for the life of the process. For the ~300 modules
``benchgui`` imports after Qt (pyqtgraph, the widgets) that cost ~0.045 s of CPU before the first
frame and ~10 MB of RSS, 4.3 M characters of source (measured 2026-12-05: importing
``benchgui.app`` 0.38–0.39 → 0.34–0.35 s CPU, peak RSS 108 → 99 MB; with Qt imported first, as
the benchmark's child did, ~600 modules and 157 → 137 MB at the first frame). The same test on
the file's bytes gives the same answer without either: the text "PySide6" is ASCII, so it is in
the decoded source exactly when it is in the bytes of any ASCII-compatible encoding (Python
source files are). Modules without a ``.py`` file get PySide's own answer. The answer only
matters to modules that use ``__feature__`` (benchgui does not).

Importing this module installs it (:mod:`benchgui.app` imports it before the widgets bring in
pyqtgraph); with a PySide6 that has no such hook it does nothing.
"""

from __future__ import annotations

import logging
import sys
from types import ModuleType

import PySide6.QtCore  # noqa: F401 - loads the hook this replaces

log = logging.getLogger(__name__)


def install() -> bool:
    """Replace PySide6's check; False when this PySide6 has none (or it is replaced already)."""
    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or not callable(original) or getattr(original, "benchgui", False):
        return False

    def mod_uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as fh:
                    return b"PySide6" in fh.read()
            except OSError:
                pass  # gone, or inside a zip: PySide's own answer
        return bool(original(module))

    mod_uses_pyside.benchgui = True  # type: ignore[attr-defined]
    mod_uses_pyside.original = original  # type: ignore[attr-defined]  # for the test that compares
    feature._mod_uses_pyside = mod_uses_pyside  # type: ignore[attr-defined]
    log.debug("PySide6's per-import source check reads bytes instead of linecache")
    return True


install()
