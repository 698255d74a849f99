"""The program panel: pick an example, edit, start/pause/abort, progress and per-step results."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from benchgui.core.programs.runner import RunnerState
from benchgui.widgets import program_panel
from benchgui.widgets.main_window import MainWindow
from tests.helpers import async_wait_until
from tests.safety_kit import runner, sim_bench, wait_samples
from tests.widgets.qasync_kit import run

pytestmark = pytest.mark.timeout(60)

PULSES = """[program]
name = "two pulses"

[[step]]
kind = "pulse"
current_a = 5.0
base_current_a = 0.5
on_s = 5
off_s = 5
count = 2
"""


def _panel(qtbot, bench):  # type: ignore[no-untyped-def]
    window = MainWindow(bench)
    qtbot.addWidget(window)
    panel = program_panel.create_panel(window, bench)
    assert panel is not None
    window.show()
    return window, panel


def test_example_runs_from_the_panel_and_abort_switches_off(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=10) as asm:
            window, panel = _panel(qtbot, asm.bench)
            names = [panel.examples.itemText(i) for i in range(panel.examples.count())]
            index = names.index("discharge-5A-to-cutoff.toml")
            panel.examples.activated.emit(index)  # as if picked from the list
            assert runner(asm).program is not None
            assert "5 A to cut-off" in panel.steps.topLevelItem(0).text(1)
            assert "until_voltage_below_v" in panel.editor.toPlainText()
            await wait_samples(asm, "battery.voltage.labjack")
            qtbot.mouseClick(panel.start_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: asm.bench.load.input_on is True, 30, what="load on")
            await async_wait_until(lambda: panel.results.rowCount() == 1, 30)
            assert panel.results.item(0, 2).text() == "running"
            assert "Step 1/2" in panel.status.text()
            assert not panel.start_btn.isEnabled()
            # some charge drawn before pausing (the results show 4 decimals), however fast this runs
            await async_wait_until(lambda: runner(asm).snapshot().ah >= 0.001, 30, what="1 mAh counted")
            qtbot.mouseClick(panel.pause_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: runner(asm).state is RunnerState.PAUSED, 30)
            assert asm.bench.load.input_on is False
            panel.refresh()
            assert panel.pause_btn.text() == "Resume"
            assert panel.status.shown_text().startswith("(paused — load off) Step 1/2")  # not markup
            assert panel.status.textFormat() is Qt.TextFormat.PlainText
            qtbot.mouseClick(panel.pause_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: asm.bench.load.input_on is True, 30, what="resumed")
            qtbot.mouseClick(panel.abort_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: runner(asm).state is RunnerState.FINISHED, 30)
            assert asm.bench.load.input_on is False
            panel.refresh()
            assert panel.status.text() == "Ended: stopped by operator"  # words, not the code
            assert panel.results.item(0, 2).text() == "stopped by operator"
            assert float(panel.results.item(0, 4).text()) > 0  # Ah counted
            window.close()

    run(qloop, body())


def test_program_built_in_the_editor_shows_dcir(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=20) as asm:
            window, panel = _panel(qtbot, asm.bench)
            panel.editor.setPlainText(PULSES.replace("count = 2", 'count = "two"'))
            assert not panel.apply_text()
            assert "step[0].count" in panel.error.text()
            panel.editor.setPlainText(PULSES)
            await wait_samples(asm, "battery.voltage.labjack")
            qtbot.mouseClick(panel.start_btn, Qt.MouseButton.LeftButton)  # applies the text first
            await async_wait_until(lambda: runner(asm).state is RunnerState.FINISHED, 20, what="program end")
            panel.refresh()
            assert panel.error.text() == ""
            assert "completed" in panel.status.text()
            dcir_cell = panel.results.item(0, 7).text()
            assert dcir_cell.endswith("(2)")
            assert 15 < float(dcir_cell.split()[0]) < 45  # mΩ of the simulated 7.2 Ah block
            assert "Ah" in panel.totals.text()
            window.close()

    run(qloop, body())


def test_add_step_templates_make_a_valid_program(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=10) as asm:
            window, panel = _panel(qtbot, asm.bench)
            for snippet in program_panel.TEMPLATES.values():
                if "csv" not in snippet:  # a relative CSV needs the program saved next to it
                    panel.append_step(snippet)
            assert panel.apply_text(), panel.error.text()
            program = runner(asm).program
            assert program is not None
            assert program.name == "New program"
            assert panel.steps.topLevelItemCount() == len(program.steps) == len(program_panel.TEMPLATES) - 1
            window.close()

    run(qloop, body())


def test_start_refused_is_shown_not_raised(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=10, config={"safety": {"max_current_a": 3}}) as asm:
            window, panel = _panel(qtbot, asm.bench)
            panel.editor.setPlainText(PULSES)
            qtbot.mouseClick(panel.start_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: "max_current_a" in panel.error.text(), 30)
            assert asm.bench.load.input_on is False
            window.close()

    run(qloop, body())


def test_closing_during_a_program_asks_naming_the_program_and_its_step(qtbot, qloop) -> None:
    """Issue 23: one click must not end a 10-hour run. No keeps the window and the program;
    Yes closes as before (the app then switches the load off and closes the session)."""
    from PySide6.QtWidgets import QMessageBox

    async def body() -> None:
        async with sim_bench(speed=10) as asm:
            window, panel = _panel(qtbot, asm.bench)
            closed: list[bool] = []
            window.closing.connect(lambda: closed.append(True))
            panel.editor.setPlainText(PULSES)
            await wait_samples(asm, "battery.voltage.labjack")
            qtbot.mouseClick(panel.start_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: runner(asm).state is RunnerState.RUNNING, 30, what="running")
            qtbot.mouseClick(panel.pause_btn, Qt.MouseButton.LeftButton)  # holds still, however fast
            await async_wait_until(lambda: runner(asm).state is RunnerState.PAUSED, 30, what="paused")
            window.close()
            box = window.close_box
            assert box is not None
            assert "the program “two pulses” at step 1 of" in box.text()
            assert "paused" in box.text()
            box.button(QMessageBox.StandardButton.No).click()
            assert window.isVisible()
            assert not closed
            assert runner(asm).state is RunnerState.PAUSED
            window.close()
            box = window.close_box
            assert box is not None
            box.button(QMessageBox.StandardButton.Yes).click()
            assert closed == [True]
            assert not window.isVisible()
            runner(asm).abort()
            await async_wait_until(lambda: runner(asm).state is RunnerState.FINISHED, 30, what="aborted")

    run(qloop, body())


SHORT_THEN_LONG = """[program]
name = "short settle, long rest"
description = "a description long enough to be elided in any dock: {filler}"

[[step]]
kind = "cc"
current_a = 0.5
duration_s = 2

[[step]]
kind = "rest"
duration_s = 3600
"""


def test_progress_weighs_steps_by_time_and_an_abort_is_not_100_percent(qtbot, qloop) -> None:
    """Issue 23: 51 % after 12 % of the time (each step counted alike) and 100 % after an abort.
    After a 2-s step of a 3602-s program the bar must be near 0, and stay short of 100 % when
    the operator aborts; the end is said in words."""

    async def body() -> None:
        async with sim_bench(speed=20) as asm:
            window, panel = _panel(qtbot, asm.bench)
            width0 = window.width()
            panel.editor.setPlainText(SHORT_THEN_LONG.format(filler="x" * 400))
            await wait_samples(asm, "battery.voltage.labjack")
            qtbot.mouseClick(panel.start_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: runner(asm).snapshot().leaf == 2, 60, what="second step")
            panel.refresh()
            assert runner(asm).snapshot().fraction < 0.5  # equal steps would say ≥ 50 %
            assert panel.progress.value() < 500
            qtbot.mouseClick(panel.abort_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: runner(asm).state is RunnerState.FINISHED, 30, what="aborted")
            panel.refresh()
            assert panel.progress.value() < 500  # not 100 % after an abort
            assert panel.status.text() == "Ended: stopped by operator"
            assert panel.results.item(1, 2).text() == "stopped by operator"
            assert panel.results.item(0, 2).text() == "time reached"
            # the long description is elided, not widening the window past its screen
            window.show_panel("Programs")
            await async_wait_until(lambda: panel.name.width() > 50, 30, what="panel laid out")
            assert panel.name.text().endswith("x" * 400)
            assert panel.name.shown_text().endswith("…")
            assert window.width() == width0
            assert window.minimumSizeHint().width() <= width0
            window.close()

    run(qloop, body())


def test_the_trip_refusal_clears_when_the_trip_is_acknowledged(qtbot, qloop) -> None:
    """Issue 23: "safety trip not acknowledged" stayed 17 minutes after Acknowledge."""

    async def body() -> None:
        async with sim_bench(speed=10) as asm:
            window, panel = _panel(qtbot, asm.bench)
            sup = runner(asm).supervisor
            assert sup is not None
            sup.emergency_stop("test")
            panel.editor.setPlainText(PULSES)
            qtbot.mouseClick(panel.start_btn, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: "not acknowledged" in panel.error.text(), 30, what="refusal")
            assert asm.bench.load.input_on is not True
            sup.acknowledge()
            await async_wait_until(lambda: panel.error.text() == "", 30, what="refusal cleared")
            window.close()

    run(qloop, body())
