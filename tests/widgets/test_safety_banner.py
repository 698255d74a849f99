"""The red banner, the emergency stop button and F12, on a real main window (offscreen Qt)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from benchgui.widgets import safety_banner
from benchgui.widgets.main_window import MainWindow
from tests.helpers import async_wait_until
from tests.safety_kit import load_on, sensor, sim_bench, supervisor, wait_samples
from tests.widgets.qasync_kit import run

pytestmark = pytest.mark.timeout(60)


def _window(qtbot, bench) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(bench)
    qtbot.addWidget(window)
    return window


def test_estop_button_trips_and_the_banner_stays_until_acknowledged(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=1) as asm:
            window = _window(qtbot, asm.bench)
            panel = safety_banner.create_panel(window, asm.bench)
            assert panel is not None
            window.show()
            await load_on(asm)
            assert not panel.banner.isVisible()
            qtbot.mouseClick(panel.toolbar_button, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: asm.bench.load.input_on is False, 30, what="load off")
            await async_wait_until(lambda: panel.banner.isVisible(), 30, what="banner")
            await async_wait_until(lambda: "switched OFF" in panel.banner.text.text(), 30)
            assert "emergency stop (toolbar button)" in panel.banner.text.text()
            assert "not acknowledged" in panel.trip.text()
            # stays (no timeout, no modal dialog) while the panel's periodic refresh runs on
            seen: list[bool] = []
            panel.refresh_timer.timeout.connect(lambda: seen.append(panel.banner.isVisible()))
            await async_wait_until(lambda: len(seen) >= 2, 30, what="two refreshes of the safety panel")
            assert all(seen)
            assert panel.banner.isVisible()
            qtbot.mouseClick(panel.banner.ack, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: not panel.banner.isVisible(), 30, what="banner hidden")
            assert panel.trip.text().endswith("(acknowledged)")
            assert panel.trip.textFormat() is Qt.TextFormat.PlainText
            window.close()

    run(qloop, body())


def test_f12_is_the_emergency_stop(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=1) as asm:
            window = _window(qtbot, asm.bench)
            safety_banner.create_panel(window, asm.bench)
            window.show()
            window.activateWindow()
            await async_wait_until(lambda: QApplication.activeWindow() is window, 30, what="active window")
            await load_on(asm)
            action = next(a for a in window.actions() if a.objectName() == "action.estop")
            assert action.shortcut() == QKeySequence("F12")
            qtbot.keyClick(window, Qt.Key.Key_F12)
            await async_wait_until(lambda: asm.bench.load.input_on is False, 30, what="load off")
            trip = supervisor(asm).trip_state
            assert trip is not None
            assert trip.text == "emergency stop (keyboard F12)"
            window.close()

    run(qloop, body())


def test_a_measurement_trip_shows_its_reason_and_values(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=10) as asm:
            window = _window(qtbot, asm.bench)
            panel = safety_banner.create_panel(window, asm.bench)
            window.show()
            await wait_samples(asm, "battery.voltage.labjack")
            await load_on(asm)
            await async_wait_until(lambda: "armed" in panel.armed.text(), 30)
            sensor(asm, "labjack").offset = -2.0
            await async_wait_until(lambda: panel.banner.isVisible(), 30, what="banner")
            text = panel.banner.text.text()
            assert "below cut-off 10.500 V" in text
            assert "cutoff_voltage" not in text  # words, not the code
            await async_wait_until(lambda: asm.bench.load.input_on is False, 30, what="load off")
            assert supervisor(asm).state.discharged_ah > 0
            qtbot.mouseClick(panel.reset, Qt.MouseButton.LeftButton)
            assert supervisor(asm).state.discharged_ah == 0
            assert panel.counters.text().startswith("0.000 /")
            assert panel.counters.text().endswith(" / 24:00:00")  # h:mm:ss, not "86400 s"
            window.close()

    run(qloop, body())


def test_a_signal_closes_the_window_after_switching_off(qtbot, qloop) -> None:
    import signal

    async def body() -> None:
        async with sim_bench(speed=1) as asm:
            window = _window(qtbot, asm.bench)
            safety_banner.create_panel(window, asm.bench)
            window.show()
            closed: list[bool] = []
            window.closing.connect(lambda: closed.append(True))
            await load_on(asm)
            supervisor(asm).on_signal(signal.SIGTERM)  # what the installed handler calls
            await async_wait_until(lambda: bool(closed), 30, what="window closed")
            assert asm.bench.load.input_on is False

    run(qloop, body())


def test_the_window_holds_still_when_pause_becomes_resume_and_a_long_trip_shows(qtbot, qloop) -> None:
    """Issue 23: EMERGENCY STOP moved 14 px when Pause became Resume; the window grew past the
    screen when the banner showed a long text."""
    from PySide6.QtCore import QPoint, QTimer
    from PySide6.QtWidgets import QToolBar

    from benchgui.core.limits import ERROR

    async def body() -> None:
        async with sim_bench(speed=1) as asm:
            window = _window(qtbot, asm.bench)
            panel = safety_banner.create_panel(window, asm.bench)
            assert panel is not None
            window.resize(1000, 700)
            window.show()
            await async_wait_until(lambda: panel.toolbar_button.isVisible(), 30, what="toolbar shown")

            async def estop_x() -> int:
                turns: list[bool] = []
                for n in range(1, 4):  # event-loop turns: the toolbars lay themselves out again
                    QTimer.singleShot(0, lambda: turns.append(True))
                    await async_wait_until(lambda n=n: len(turns) >= n, 30, what="an event-loop turn")
                return panel.toolbar_button.mapTo(window, QPoint(0, 0)).x()

            bars = window.findChildren(QToolBar)
            session_bar = next(t for t in bars if t.objectName() == "toolbar.session")
            x0, width0, bar0 = await estop_x(), window.width(), session_bar.sizeHint().width()
            window.act_pause.setChecked(True)
            assert window.act_pause.text() == "Resume"
            assert session_bar.sizeHint().width() == bar0  # Resume is wider than Pause: it grew
            assert await estop_x() == x0
            window.act_pause.setChecked(False)
            assert session_bar.sizeHint().width() == bar0
            assert await estop_x() == x0
            supervisor(asm).trip(ERROR, "a very long trip text " + "that goes on " * 60)
            await async_wait_until(lambda: panel.banner.isVisible(), 30, what="banner")
            await estop_x()
            assert window.width() == width0
            assert window.minimumSizeHint().width() <= width0
            assert panel.banner.text.text().startswith("a very long trip text")  # whole text kept
            window.close()

    run(qloop, body())
