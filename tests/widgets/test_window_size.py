"""The main window with every panel keeps the size it is given (issue 23: it grew by itself past
the screen — a tabbed dock or view asks for the largest minimum size of all its pages)."""

from __future__ import annotations

import pytest

from benchgui.app import add_panels
from benchgui.widgets.main_window import MainWindow
from tests.helpers import async_wait_until
from tests.safety_kit import sim_bench
from tests.widgets.qasync_kit import run

pytestmark = pytest.mark.timeout(60)


def test_the_full_window_fits_a_small_screen(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=10) as asm:
            window = MainWindow(asm.bench)
            qtbot.addWidget(window)
            add_panels(window, asm.bench)
            window.resize(1024, 600)  # e.g. a 7-inch bench display
            window.show()
            await async_wait_until(lambda: window.isVisible(), 30, what="window shown")
            hint = window.minimumSizeHint()
            assert hint.width() <= 1024, hint
            assert hint.height() <= 600, hint
            assert (window.width(), window.height()) == (1024, 600)
            window.close()

    run(qloop, body())
