"""The charger panel on a real main window, fed by the real MPPT source and simulator (offscreen)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from benchgui.clock import ScaledClock
from benchgui.core.bench import Bench
from benchgui.instruments.mppt.sim import MpptSimServer
from benchgui.instruments.mppt.sim_model import SimOptions
from benchgui.instruments.mppt.source import MpptSource
from benchgui.instruments.simulated import SimMpptSource
from benchgui.instruments.transport import Backoff, SerialTransport
from benchgui.simbench.world import SimWorld, WorldParams
from benchgui.widgets import charger_panel
from benchgui.widgets.main_window import MainWindow
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(90)


Scenario = Callable[[MpptSimServer, MpptSource, MainWindow, charger_panel.ChargerPanel], Awaitable[None]]


def run_with_panel(
    qloop: qasync.QEventLoop,
    qtbot: QtBot,
    tmp_path: Path,
    scenario: Scenario,
    options: SimOptions | None = None,
) -> None:
    async def main() -> None:
        clock = ScaledClock(1.0)
        world = SimWorld(WorldParams(sun_start_hour=11.0), clock)
        opts = options or SimOptions(period_s=0.1, load_output_a=0.4)
        server = MpptSimServer(world, tmp_path / "mppt.pty", opts)
        await server.start()
        source = MpptSource(
            SerialTransport(server.path), period_s=opts.period_s, timeout_s=2.0, backoff=Backoff(0.05, 0.2)
        )
        bench = Bench(clock, [source])
        window = MainWindow(bench, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(window)  # closed and deleted at teardown
        panel = charger_panel.create_panel(window, bench)
        assert isinstance(panel, charger_panel.ChargerPanel)
        await bench.start()
        try:
            await scenario(server, source, window, panel)
        finally:
            await bench.stop()
            await server.aclose()

    qloop.run_until_complete(asyncio.wait_for(main(), 60))


def test_panel_shows_state_power_energy_and_device(
    qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    async def scenario(server, source, window, panel) -> None:  # type: ignore[no-untyped-def]
        await async_wait_until(lambda: panel.text("device") == "Libre Solar MPPT 1210 HUS", 15, what="info")
        await async_wait_until(lambda: panel.text("charger") != "—", 10, what="charger state")
        assert panel.text("charger") in {
            "idle",
            "bulk (CC/MPPT)",
            "topping (CV/absorption)",
            "trickle (float)",
        }
        assert panel.text("dcdc") in {"off", "MPPT", "CC at low side", "CV at low side"}
        assert panel.text("errors") == "none"
        assert panel.text("load_info") == "on"
        assert panel.text("serial") == "SIM1210H"
        assert panel.text("firmware").startswith("0.1")
        assert panel.text("battery_w").endswith(" W")
        assert panel.text("solar_w").endswith(" W")
        await async_wait_until(lambda: panel.text("load_w") not in ("—", "0.0 W"), 10, what="load power")
        assert panel.text("solar_wh").endswith(" Wh")
        assert "connected" in panel.text("link")
        assert panel.load_toggle.isEnabled()
        assert panel.load_toggle.isChecked()

    run_with_panel(qloop, qtbot, tmp_path, scenario)


def test_error_flags_are_decoded_to_text(qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> None:
    async def scenario(server, source, window, panel) -> None:  # type: ignore[no-untyped-def]
        server.model.force_error_flags = 0x2000 | 0x1
        await async_wait_until(lambda: "internal overtemperature" in panel.text("errors"), 10, what="flags")
        assert "battery undervoltage" in panel.text("errors")
        assert "d62728" in panel.labels["errors"].styleSheet()

    run_with_panel(qloop, qtbot, tmp_path, scenario)


def test_load_toggle_and_period_go_to_the_device(
    qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    async def scenario(server, source, window, panel) -> None:  # type: ignore[no-untyped-def]
        await async_wait_until(lambda: panel.load_toggle.isEnabled(), 15, what="connected")
        panel.load_toggle.click()  # on → off
        await async_wait_until(lambda: "done" in panel.message.text(), 10, what="load off done")
        assert server.model.tree["input"]["LoadEn"].value is False
        await async_wait_until(lambda: panel.text("load_info") == "off", 10)
        assert not panel.load_toggle.isChecked()
        panel.period_spin.setValue(0.5)
        panel.period_button.click()
        await async_wait_until(lambda: "every 0.5 s: done" in panel.message.text(), 10, what="period")
        assert server.model.period_s == 0.5
        await server.vanish()  # a command while unplugged shows an error, never raises
        await async_wait_until(lambda: not panel.load_toggle.isEnabled(), 10, what="disabled")
        panel.set_load_output(True)
        await async_wait_until(lambda: "failed" in panel.message.text(), 10, what="error shown")
        assert "not connected" in panel.message.text()

    run_with_panel(qloop, qtbot, tmp_path, scenario)


def test_fixed_period_firmware_is_explained(qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> None:
    async def scenario(server, source, window, panel) -> None:  # type: ignore[no-untyped-def]
        await async_wait_until(lambda: panel.period_button.isEnabled(), 15, what="connected")
        panel.period_spin.setValue(2.0)
        panel.period_button.click()
        await async_wait_until(lambda: "every second" in panel.message.text(), 10, what="explained")
        await async_wait_until(lambda: not panel.period_button.isEnabled(), 10, what="button off")
        assert not panel.period_spin.isEnabled()
        assert source.snapshot.period_settable is False
        assert server.model.period_s == 1.0

    run_with_panel(qloop, qtbot, tmp_path, scenario, SimOptions(period_s=1.0, fixed_period=True))


def test_no_panel_without_a_thingset_mppt(qtbot: QtBot, tmp_path: Path) -> None:
    world = SimWorld(WorldParams())
    bench = Bench(world.clock, [SimMpptSource(world)])
    window = MainWindow(bench, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert charger_panel.create_panel(window, bench) is None


def test_a_period_being_typed_survives_live_updates(
    qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    """Issue 23: the period field keeps what the operator typed while statements arrive, says
    "not sent" until Set, and Set sends what it shows; a text that is no number sends nothing."""

    async def scenario(server, source, window, panel) -> None:  # type: ignore[no-untyped-def]
        await async_wait_until(lambda: panel.period_button.isEnabled(), 15, what="connected")
        window.show()
        spin = panel.period_spin
        assert not panel.period_guard.label.isVisible()
        spin.setFocus()
        spin.selectAll()
        qtbot.keyClicks(spin.lineEdit(), "0.5")
        assert spin.text() == "0.5 s"
        assert panel.period_guard.label.isVisible()
        assert panel.period_guard.label.text() == "not sent"
        assert spin.property("pending") is True
        for _ in range(3):  # snapshots arrive and the panel repaints while the field is edited
            seen = source.snapshot.statements
            await async_wait_until(lambda n=seen: source.snapshot.statements > n + 2, 10, what="statements")
            panel._dirty = True
            panel.refresh()
            assert spin.text() == "0.5 s"
        panel.period_button.click()
        await async_wait_until(lambda: "every 0.5 s: done" in panel.message.text(), 10, what="period")
        assert server.model.period_s == 0.5
        assert not panel.period_guard.label.isVisible()
        assert spin.property("pending") is False

        spin.setFocus()
        spin.selectAll()
        qtbot.keyClicks(spin.lineEdit(), "0.0")  # below the 0.1 s minimum: refused, not sent
        panel.period_button.click()
        assert "not a valid value" in panel.message.text()
        assert server.model.period_s == 0.5

    run_with_panel(qloop, qtbot, tmp_path, scenario)


def test_fixed_period_never_overwrites_the_field_being_typed(
    qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    """A firmware with a fixed period: the panel shows 1 s, but not over the operator's typing."""

    async def scenario(server, source, window, panel) -> None:  # type: ignore[no-untyped-def]
        await async_wait_until(lambda: panel.period_button.isEnabled(), 15, what="connected")
        panel.period_spin.setValue(2.0)
        panel.period_button.click()
        await async_wait_until(lambda: "every second" in panel.message.text(), 10, what="explained")
        assert panel.period_spin.value() == 1.0  # the refusal drops the edit: the fixed period shows
        assert not panel.period_guard.pending
        panel.period_spin.setEnabled(True)  # as if settable again for a moment: the operator types
        panel.period_spin.selectAll()
        qtbot.keyClicks(panel.period_spin.lineEdit(), "3")
        panel._dirty = True
        panel.refresh()  # the snapshot still says "fixed": the field keeps the 3 typed
        assert panel.period_spin.text() == "3 s"
        assert not panel.period_guard.label.isHidden()

    run_with_panel(qloop, qtbot, tmp_path, scenario, SimOptions(period_s=1.0, fixed_period=True))
