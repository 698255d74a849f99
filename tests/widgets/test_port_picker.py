"""The port picker on a real main window (offscreen), switching a real load source between two
simulated loads on two ptys through the core's ports service."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from benchgui.clock import ScaledClock
from benchgui.config.writer import ConfigFile
from benchgui.core.bench import Bench
from benchgui.core.ports import PortService
from benchgui.instruments.ea.driver import DEFAULT_SERIAL
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.sim import EaSimulator, SimOptions
from benchgui.instruments.ea.simdevice import SimIdentity
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.transport import SerialTransport
from benchgui.model import InstrumentState
from benchgui.simbench.world import SimWorld, WorldParams
from benchgui.widgets import port_picker
from benchgui.widgets.main_window import MainWindow
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(90)


def test_pick_a_listed_port_and_apply(qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> None:
    async def main() -> None:
        clock = ScaledClock(1.0)
        world = SimWorld(WorldParams(sun=False), clock)
        profile = load_profile("el3000")
        a = EaSimulator(world, profile, SimIdentity(serial="A"), SimOptions(pacing=False), tmp_path / "a.pty")
        b = EaSimulator(world, profile, SimIdentity(serial="B"), SimOptions(pacing=False), tmp_path / "b.pty")
        await a.start()
        await b.start()
        config = tmp_path / "config.toml"
        config.write_text(f'[instruments.ea]\nport = "{a.path}"\n')
        source = LoadSource(SerialTransport(a.path, DEFAULT_SERIAL), profile, poll_interval_s=0.05)
        bench = Bench(clock, [source], load=source)
        listed = [(a.path, "USB serial A"), (b.path, "FT232R USB UART (serial A10K)")]
        bench.services.ports = PortService(bench, ConfigFile(config), lister=lambda: listed)
        window = MainWindow(bench, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(window)
        panel = port_picker.create_panel(window, bench)
        assert isinstance(panel, port_picker.PortPicker)
        await bench.start()
        try:
            combo = panel.combos["ea"]
            assert combo.currentText() == a.path  # before any listing: the port in use
            panel.refresh_button.click()
            await async_wait_until(lambda: combo.count() == 2, 10, what="ports listed")
            assert "2 serial ports found" in panel.message.text()
            assert combo.itemText(1) == f"{b.path} — FT232R USB UART (serial A10K)"
            assert panel.chosen("ea") == a.path  # the current port stays selected
            combo.setCurrentIndex(1)
            assert panel.chosen("ea") == b.path
            panel.apply_buttons["ea"].click()
            await async_wait_until(lambda: "reconnecting there" in panel.message.text(), 10, what="applied")
            await async_wait_until(
                lambda: (
                    source.status.state is InstrumentState.CONNECTED and "serial B " in source.status.text
                ),
                10,
                what="connected to B",
            )
            assert tomllib.loads(config.read_text())["instruments"]["ea"]["port"] == b.path
            combo.setEditText("   ")
            panel.apply_buttons["ea"].click()  # refused by the service: shown, nothing changes
            await async_wait_until(lambda: "failed" in panel.message.text(), 10, what="refusal shown")
            assert "instruments.ea.port" in panel.message.text()
            assert tomllib.loads(config.read_text())["instruments"]["ea"]["port"] == b.path
        finally:
            await bench.stop()
            await a.stop()
            await b.stop()

    qloop.run_until_complete(asyncio.wait_for(main(), 60))


def test_no_panel_without_serial_instruments(qtbot: QtBot, tmp_path: Path) -> None:
    bench = Bench(ScaledClock(1.0), [])
    bench.services.ports = PortService(bench, ConfigFile(None))
    window = MainWindow(bench, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert port_picker.create_panel(window, bench) is None
