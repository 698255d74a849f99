"""The Safety limits editor on a real window (offscreen Qt) over a running simulated bench."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from benchgui.config.writer import ConfigFile
from benchgui.widgets import safety_banner
from benchgui.widgets.main_window import MainWindow
from tests.helpers import async_wait_until
from tests.safety_kit import sim_bench, supervisor
from tests.widgets.qasync_kit import run

pytestmark = pytest.mark.timeout(60)


def _window_with_panel(qtbot, asm):  # type: ignore[no-untyped-def]
    window = MainWindow(asm.bench)
    qtbot.addWidget(window)
    panel = safety_banner.create_panel(window, asm.bench)
    assert panel is not None
    return window, panel


def test_edit_apply_and_save(qtbot, qloop, tmp_path: Path) -> None:
    cfg = tmp_path / "benchgui.toml"
    cfg.write_text("[simulation]\nsun = false\n")

    async def body() -> None:
        async with sim_bench(speed=1) as asm:
            asm.bench.services.safety_settings.config_file = ConfigFile(cfg)
            window, panel = _window_with_panel(qtbot, asm)
            window.show()
            qtbot.mouseClick(panel.edit_limits, Qt.MouseButton.LeftButton)
            dialog = panel.limits_dialog
            assert dialog is not None
            assert dialog.isVisible()
            assert not dialog.isModal()  # the emergency stop stays reachable
            editor = dialog.editor
            assert editor.spins["max_current_a"].value() == 20.0
            assert editor.spins["cutoff_voltage_v"].text() == "auto (from the battery)"
            assert editor.values() == {}
            editor.spins["max_current_a"].setValue(12.5)
            editor.spins["voltage_disagreement_mv"].setValue(250)
            assert editor.values() == {"max_current_a": 12.5, "voltage_disagreement_mv": 250.0}
            dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()
            await async_wait_until(lambda: "saved" in editor.status.text(), 30, what="saved")
            assert supervisor(asm).limits.max_current_a == 12.5
            assert supervisor(asm).limits.voltage_disagreement_v == 0.25
            assert tomllib.loads(cfg.read_text())["safety"]["max_current_a"] == 12.5
            await async_wait_until(lambda: "max 12.5 A" in panel.limits.text(), 30, what="panel shows it")
            assert editor.values() == {}  # what is in force is what the form shows

            editor.sources.setText("")
            assert not await editor.apply()
            assert "Not applied" in editor.status.text()
            assert "voltage_sources" in editor.status.text()
            assert supervisor(asm).limits.voltage_sources == ("labjack", "mppt")
            editor.revert()
            assert editor.sources.text() == "labjack, mppt"
            window.close()

    run(qloop, body())


def test_without_a_config_file_it_says_not_saved(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=1) as asm:
            window, panel = _window_with_panel(qtbot, asm)
            panel.open_limits()
            editor = panel.limits_dialog.editor
            editor.enabled.setChecked(False)
            assert await editor.apply()
            assert "not saved" in editor.status.text()
            assert supervisor(asm).limits.measurements is False
            await async_wait_until(lambda: "DISABLED" in panel.limits.text(), 30, what="panel shows it")
            window.close()

    run(qloop, body())


def test_a_finer_configured_value_is_not_changed_by_showing_it(qtbot, qloop) -> None:
    async def body() -> None:
        async with sim_bench(speed=1, config={"safety": {"voltage_disagreement_mv": 12.5}}) as asm:
            window, panel = _window_with_panel(qtbot, asm)
            panel.open_limits()
            editor = panel.limits_dialog.editor
            assert editor.values() == {}
            assert await editor.apply()
            assert supervisor(asm).limits.voltage_disagreement_v == 0.0125
            window.close()

    run(qloop, body())
