"""Issue 23 item 2 in the Load panel: setpoints checked against the safety limits before sending,
a confirmation near the limit, Input on refused while a trip is latched — on the simulated load."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from benchgui.config.schema import EaSection
from benchgui.core.bench import Bench
from benchgui.core.limits import Limits
from benchgui.core.safety import Supervisor
from benchgui.instruments.ea import factory
from benchgui.instruments.ea.sim import EaSimulator
from benchgui.simbench.world import SimWorld, WorldParams
from benchgui.widgets import load_panel
from tests.helpers import async_wait_until
from tests.widgets.test_load_panel import run_in_qasync

pytestmark = pytest.mark.timeout(90)


def type_setpoint(qtbot: Any, panel: load_panel.LoadPanel, text: str) -> None:
    spin = panel.setpoint_spin
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)


Body = Callable[[load_panel.LoadPanel, Any, EaSimulator, Supervisor, list[str], list[bool]], Awaitable[None]]


def with_panel(qtbot: Any, qapp: QApplication, body: Body) -> None:
    """A Load panel on the simulated load with a supervisor (20 A, asks above 80 %) and an
    injected confirmation that records the question and answers from ``answers``."""

    async def scenario() -> None:
        world = SimWorld(WorldParams(sun=False))
        closers: list[Callable[[], Awaitable[None]]] = []
        src = await factory.simulated(world, EaSection(poll_interval_s=0.05), closers)
        sim: EaSimulator = src.simulator  # type: ignore[attr-defined]  # set by the factory
        bench = Bench(world.clock, [src], None, load=src)
        sup = Supervisor(bench, Limits(max_current_a=20.0, confirm_fraction=0.8, measurements=False))
        bench.services.supervisor = sup
        panel = load_panel.LoadPanel(bench, src)
        qtbot.addWidget(panel)
        panel.show()
        asked: list[str] = []
        answers: list[bool] = []
        panel.confirm = lambda question, answer: (asked.append(question), answer(answers.pop(0)))
        try:
            await bench.start()
            sup.start(handle_signals=False)
            await async_wait_until(lambda: "EL 3160-60A" in panel.identity_label.text(), 10)
            await src.set_remote(True)
            await src.set_current(1.0)
            await async_wait_until(lambda: abs(sim.device.stage.set_current_a - 1.0) < 0.01, 30)
            await body(panel, src, sim, sup, asked, answers)
        finally:
            await sup.aclose()
            await bench.stop()
            for close in closers:
                await close()

    run_in_qasync(qapp, scenario)


def test_setpoints_beyond_the_limit_are_refused_and_near_it_asked(qtbot: Any, qapp: QApplication) -> None:
    """Reproduction: 25 A typed with a 20 A limit was sent (and tripped 2 s after Input on)."""

    async def body(
        panel: load_panel.LoadPanel,
        src: Any,
        sim: EaSimulator,
        sup: Supervisor,
        asked: list[str],
        answers: list[bool],
    ) -> None:
        type_setpoint(qtbot, panel, "25")
        qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
        assert "25 A exceeds [safety] max_current_a (20 A)" in panel.error_label.text()
        assert "nothing sent" in panel.error_label.text()
        assert asked == []
        assert src.state.set_current_a == 1.0

        # above 80 % of the limit: asked first; No sends nothing, Yes sends exactly that
        answers.extend([False, True])
        type_setpoint(qtbot, panel, "17")
        qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
        assert len(asked) == 1
        assert "85% of [safety] max_current_a (20 A)" in asked[0]
        assert "not confirmed" in panel.error_label.text()
        assert src.state.set_current_a == 1.0
        qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
        await async_wait_until(lambda: src.state.set_current_a == 17.0, 30, what="17 A sent")
        await async_wait_until(lambda: abs(sim.device.stage.set_current_a - 17.0) < 0.01, 30)
        assert len(asked) == 2
        type_setpoint(qtbot, panel, "5")  # below the fraction: no question
        qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
        await async_wait_until(lambda: src.state.set_current_a == 5.0, 30, what="5 A sent")
        assert len(asked) == 2

    with_panel(qtbot, qapp, body)


def test_input_on_is_refused_while_a_trip_is_latched(qtbot: Any, qapp: QApplication) -> None:
    """Reproduction: Input on while a trip was latched went to the device (and was switched off
    again 3 ms later by the supervisor); the panel said nothing."""

    async def body(
        panel: load_panel.LoadPanel,
        src: Any,
        sim: EaSimulator,
        sup: Supervisor,
        asked: list[str],
        answers: list[bool],
    ) -> None:
        sup.emergency_stop("test")
        await async_wait_until(lambda: sup.trip_state is not None and sup.trip_state.load_off, 30)
        await async_wait_until(lambda: panel.trip_label.isVisible(), 30, what="trip shown")
        assert "emergency stop (test)" in panel.trip_label.text()
        sent: list[bool] = []  # every set_input that reaches the real source, in order
        real_set_input = src.set_input

        async def spy(on: bool) -> None:
            sent.append(on)
            await real_set_input(on)

        src.set_input = spy
        qtbot.mouseClick(panel.input_button, Qt.MouseButton.LeftButton)
        assert "Input on refused: safety trip not acknowledged" in panel.error_label.text()
        assert not panel.input_button.isChecked()
        await src.set_remote(True)  # a round trip on the same link after the click
        assert True not in sent
        assert sim.device.input_on is False

        sup.acknowledge()
        await async_wait_until(lambda: not panel.trip_label.isVisible(), 30, what="trip cleared")
        qtbot.mouseClick(panel.input_button, Qt.MouseButton.LeftButton)
        await async_wait_until(lambda: sim.device.input_on, 30, what="input on after acknowledge")
        assert sent[-1] is True
        await src.set_input(False)

    with_panel(qtbot, qapp, body)
