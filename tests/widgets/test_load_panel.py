"""The load panel against the real load source and the simulator on a pty, under qasync."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from benchgui.config.schema import EaSection
from benchgui.core.bench import Bench
from benchgui.instruments.ea import factory
from benchgui.instruments.ea.sim import EaSimulator
from benchgui.simbench.world import SimWorld, WorldParams
from benchgui.widgets import load_panel
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(90)


class Window:
    def __init__(self) -> None:
        self.panels: list[tuple[str, QWidget]] = []

    def add_panel(self, title: str, widget: QWidget) -> None:
        self.panels.append((title, widget))


def run_in_qasync(qapp: QApplication, scenario: Callable[[], Awaitable[None]]) -> None:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def shown_panel(
    qtbot: Any, closers: list[Callable[[], Awaitable[None]]]
) -> tuple[Any, Bench, load_panel.LoadPanel]:
    """A simulated load polled at 20 Hz (not started), its bench, and the panel for it, shown."""
    world = SimWorld(WorldParams(sun=False))
    src = await factory.simulated(world, EaSection(poll_interval_s=0.05), closers)
    bench = Bench(world.clock, [src], None, load=src)
    panel = load_panel.LoadPanel(bench, src)
    qtbot.addWidget(panel)
    panel.show()  # (a hidden widget is not polished: no style change to count)
    return src, bench, panel


def test_panel_commands_the_load_and_shows_its_state(qtbot: Any, qapp: QApplication) -> None:
    async def scenario() -> None:
        world = SimWorld(WorldParams(sun=False))
        closers: list[Callable[[], Awaitable[None]]] = []
        src = await factory.simulated(world, EaSection(poll_interval_s=0.05), closers)
        sim: EaSimulator = src.simulator  # type: ignore[attr-defined]  # set by the factory
        bench = Bench(world.clock, [src], None, load=src)
        window = Window()
        panel = load_panel.create_panel(window, bench)
        assert isinstance(panel, load_panel.LoadPanel)
        assert window.panels == [("Load", panel)]
        qtbot.addWidget(panel)
        try:
            await bench.start()
            await async_wait_until(lambda: "EL 3160-60A" in panel.identity_label.text(), 10)
            assert "connected" in panel.link_label.text()
            assert panel.setpoint_spin.maximum() == 60.0  # from the identified nominals
            panel.mode_combo.setCurrentText("CP")
            assert panel.setpoint_spin.maximum() == 400.0
            panel.mode_combo.setCurrentText("CC")

            qtbot.mouseClick(panel.remote_button, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: sim.device.remote, 30)
            await async_wait_until(lambda: panel.indicators["Remote"].property("on") is True, 30)

            panel.setpoint_spin.setValue(75)  # clamped by the spin box to the nominal
            assert panel.setpoint_spin.value() == 60.0
            panel.setpoint_spin.setValue(2.5)
            qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: src.state.set_current_a == 2.5, 30)
            qtbot.mouseClick(panel.input_button, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: sim.device.input_on, 30)
            await async_wait_until(lambda: panel.readouts["I"].text().startswith("2.5"), 30)
            assert panel.readouts["U"].text().endswith(" V")
            assert panel.readouts["Ah"].text().endswith(" Ah")
            assert panel.input_button.isChecked()
            assert panel.input_button.text() == "Input ON"
            await async_wait_until(lambda: panel.indicators["CC"].property("on") is True, 30)
            assert panel.indicators["OVP"].property("on") is False
            assert panel.error_label.text() == ""

            sim.device.alarms.add("otp")  # the device reports over-temperature
            await async_wait_until(lambda: panel.indicators["OTP"].property("on") is True, 30)

            await sim.vanish()  # unplugged: the status says so, commands report the error
            await async_wait_until(lambda: panel.link_label.text().startswith("reconnecting"), 30)
            assert not panel.set_button.isEnabled()
            panel._command("current setpoint", src.set_current(1.0))
            await async_wait_until(lambda: "not connected" in panel.error_label.text(), 30)
        finally:
            await bench.stop()
            for close in closers:
                await close()

    run_in_qasync(qapp, scenario)


def test_no_load_no_panel() -> None:
    class NoLoad:
        load = None

    assert load_panel.create_panel(Window(), NoLoad()) is None  # type: ignore[arg-type]


def test_a_setpoint_being_typed_survives_live_updates(qtbot: Any, qapp: QApplication) -> None:
    """Issue 23: click the CC field, type 3, live updates arrive — the field still shows 3,
    marked as not sent, and Set sends 3.000 A (it sent the old 2.000 A before)."""

    async def scenario() -> None:
        closers: list[Callable[[], Awaitable[None]]] = []
        src, bench, panel = await shown_panel(qtbot, closers)
        states: list[object] = []
        panel.bridge.listen(src.state_changed, states.append)  # what the panel is shown, in order
        try:
            await bench.start()
            await async_wait_until(lambda: "EL 3160-60A" in panel.identity_label.text(), 10)
            await src.set_remote(True)
            panel.setpoint_spin.setValue(2.0)
            panel.apply_setpoint()
            await async_wait_until(lambda: src.state.set_current_a == 2.0, 30)
            assert not panel.setpoint_pending.isVisible()

            spin = panel.setpoint_spin
            spin.setFocus()
            qtbot.mouseClick(spin.lineEdit(), Qt.MouseButton.LeftButton)
            spin.selectAll()
            qtbot.keyClicks(spin.lineEdit(), "3")
            assert spin.text() == "3 A"
            assert panel.setpoint_pending.isVisible()  # marked: typed, not sent
            assert panel.setpoint_pending.text() == "not sent"
            for _ in range(3):  # live updates: the load's state changes while the operator types
                seen = len(states)
                await src.set_input(not bool(src.state.input_on))
                await async_wait_until(lambda n=seen: len(states) > n, 30, what="a state update")
                assert spin.text() == "3 A"
            qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
            await async_wait_until(lambda: src.state.set_current_a == 3.0, 30, what="3 A sent")
            await async_wait_until(lambda: not panel.setpoint_pending.isVisible(), 30, what="mark cleared")
            assert spin.text() == "3.000 A"

            spin.setFocus()
            spin.selectAll()
            qtbot.keyClicks(spin.lineEdit(), "-")  # not a value: Set refuses and says so
            panel.apply_setpoint()
            assert "not a valid" in panel.error_label.text()
            assert src.state.set_current_a == 3.0
        finally:
            await bench.stop()
            for close in closers:
                await close()

    run_in_qasync(qapp, scenario)


def test_a_state_with_only_new_readings_restyles_no_lamp(qtbot: Any, qapp: QApplication) -> None:
    """Issue 19: the load's state arrives with every poll because its readings change; the
    lamps are styled again only when what they show changed (a style sheet set again
    re-polishes the widget)."""
    import dataclasses

    from PySide6.QtCore import QEvent, QObject

    async def scenario() -> None:
        closers: list[Callable[[], Awaitable[None]]] = []
        src, _bench, panel = await shown_panel(qtbot, closers)
        restyled: list[str] = []

        class Count(QObject):
            def eventFilter(self, obj: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.StyleChange:
                    restyled.append(obj.objectName())
                return False

        counter = Count()
        for name, lamp in panel.indicators.items():
            lamp.setObjectName(name)
            lamp.installEventFilter(counter)
        try:
            state = dataclasses.replace(src.state, connected=True, remote=True, input_on=False, mode="CC")
            panel.show_state(state)
            assert panel.indicators["Remote"].property("on") is True
            restyled.clear()
            for i in range(5):  # polls: new readings, same lamps
                panel.show_state(dataclasses.replace(state, voltage_v=12.0 + i, current_a=0.1 * i))
            assert restyled == []
            panel.show_state(dataclasses.replace(state, input_on=True))
            assert restyled == ["Input"]
            assert panel.indicators["Input"].property("on") is True
        finally:
            for close in closers:
                await close()

    run_in_qasync(qapp, scenario)
