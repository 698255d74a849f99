"""The GUI imports scipy on a thread after start (issue 19), never on the event loop."""

from __future__ import annotations

import logging
import sys

import pytest

from benchgui.app import WARM_IMPORTS, warm_imports


def test_warm_imports_loads_modules_on_a_thread_and_logs_what_fails(caplog: pytest.LogCaptureFixture) -> None:
    sys.modules.pop("colorsys", None)
    with caplog.at_level(logging.WARNING, logger="benchgui.app"):
        thread = warm_imports(("benchgui_no_such_module", "colorsys"))
        thread.join(timeout=120)
    assert not thread.is_alive()
    assert thread.daemon  # never keeps a closing app alive
    assert "colorsys" in sys.modules  # a failure before it does not stop the rest
    assert "warming import of benchgui_no_such_module failed" in caplog.text


def test_what_is_warmed_is_what_the_soc_filter_and_verification_import() -> None:
    assert set(WARM_IMPORTS) == {"scipy.linalg.lapack", "scipy.special"}
