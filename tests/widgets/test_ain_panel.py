"""The LabJack AIN panel (offscreen Qt under qasync) against a real source and the simulated T7:
apply live, block invalid entries with the reason, save to the config file, calibrate; and the
plots' over-range marker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import qasync

from benchgui.clock import ScaledClock
from benchgui.config.loader import load_config
from benchgui.config.schema import LabJackSection
from benchgui.config.writer import ConfigFile
from benchgui.core.ain_settings import AinSettings
from benchgui.core.bench import Bench
from benchgui.core.display import DisplayBuffers
from benchgui.core.history import History
from benchgui.instruments.labjack.sim import T7Server
from benchgui.instruments.labjack.simdevice import SimT7, Wiring
from benchgui.instruments.labjack.source import LabJackSource
from benchgui.instruments.simulated import SimLabJackSource
from benchgui.model import Channel, InstrumentState, Sample, SampleFlag
from benchgui.simbench.world import SimWorld, WorldParams
from benchgui.widgets.ain_panel import KIND_PARAMS, AinPanel, create_panel
from benchgui.widgets.plots import PlotPanel
from tests.helpers import async_wait_until

pytestmark = pytest.mark.timeout(90)
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

Scenario = Callable[[AinPanel, Bench, T7Server, SimWorld, Path], Awaitable[None]]


def run_scenario(qapp: Any, tmp_path: Path, scenario: Scenario) -> None:
    """Run ``scenario`` inside qasync's loop with a bench, a simulated T7 and a config file."""
    config = tmp_path / "config.toml"
    config.write_text('[bench]\nname = "test"\n\n[instruments.labjack]\naddress = "127.0.0.1"\n')

    async def main() -> None:
        world = SimWorld(WorldParams(sun=False), ScaledClock(1.0))
        server = T7Server(SimT7(world, Wiring.bench()), "127.0.0.1", 0)
        await server.start()
        section = load_config(config).config.instruments.labjack
        assert section is not None
        from dataclasses import replace

        source = LabJackSource(replace(section, port=server.port, poll_interval_s=0.02, timeout_s=0.5))
        bench = Bench(ScaledClock(1.0), [source])
        bench.services.config_file = ConfigFile(config)
        bench.services.ain_settings = AinSettings(source, bench.services.config_file)
        await bench.start()
        panel = AinPanel(bench.services.ain_settings)
        try:
            await async_wait_until(lambda: source.polls > 3, 15, what="first polls")
            await scenario(panel, bench, server, world, config)
        finally:
            panel.timer.stop()
            panel.deleteLater()
            await bench.stop()
            await server.stop()

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(qapp)) as runner:
        runner.run(asyncio.wait_for(main(), 60))


def test_range_change_is_applied_live_and_saved(qapp: Any, tmp_path: Path) -> None:
    async def scenario(panel: AinPanel, bench: Bench, t7: T7Server, world: SimWorld, config: Path) -> None:
        panel.list.setCurrentRow(0)
        assert panel.ed_quantity.text() == "battery.voltage"
        asked: list[str] = []
        answers = [False, True]
        panel.confirm = lambda question, answer: (asked.append(question), answer(answers.pop(0)))
        panel.cb_range.setCurrentIndex(panel.cb_range.findData(1.0))
        assert panel.dirty
        assert panel.btn_apply.isEnabled()
        panel.refresh_live()  # warned before applying: the live input is beyond ±1 V
        assert "the selected ±1 V range is below this input" in panel.lb_live.text()
        panel.btn_apply.click()  # issue 23: applied without a word before; now asked first
        assert len(asked) == 1
        assert "Battery voltage (AIN2) reads +2." in asked[0]
        assert "beyond the ±1 V range" in asked[0]
        assert "Not applied" in panel.lb_status.text()
        assert t7.device.ains[2].range_v == 10.0
        panel.btn_apply.click()  # Yes: applied as before
        await async_wait_until(lambda: "Saved" in panel.lb_status.text(), 10, what="apply + save")
        assert len(asked) == 2
        assert "Applied to the T7" in panel.lb_status.text()
        assert t7.device.ains[2].range_v == 1.0
        saved = load_config(config).config.instruments.labjack
        assert saved is not None
        assert saved.channels[0].range_v == 1.0
        assert saved.address == "127.0.0.1"
        src = bench.sources["labjack"]
        assert isinstance(src, LabJackSource)
        await async_wait_until(lambda: (r := src.latest("battery.voltage")) is not None and r.flags, 10)
        panel.refresh_live()
        assert "OVER RANGE" in panel.lb_live.text()
        assert panel.lb_device.text().startswith("LabJack T7: connected: T7 #470099999")
        assert bench.status["labjack"].state is InstrumentState.CONNECTED

    run_scenario(qapp, tmp_path, scenario)


def test_invalid_entries_are_blocked_with_the_reason(qapp: Any, tmp_path: Path) -> None:
    async def scenario(panel: AinPanel, bench: Bench, t7: T7Server, world: SimWorld, config: Path) -> None:
        before = config.read_text()
        panel.list.setCurrentRow(1)
        assert panel.sp_ain.value() == 1
        panel.cb_mode.setCurrentIndex(1)  # differential on AIN1: a T7 pairs even inputs only
        assert not panel.btn_apply.isEnabled()
        assert "channels[1].differential" in panel.lb_status.text()
        assert "even" in panel.lb_status.text()
        assert not await panel.apply()
        panel.cb_mode.setCurrentIndex(0)
        panel.cb_kind.setCurrentIndex(panel.cb_kind.findData("la55p"))
        panel.params["r_m_ohm"].setValue(0.0)
        assert "r_m_ohm" in panel.lb_status.text()
        panel.sp_ain.setValue(2)  # AIN2 is the voltage channel's
        assert not panel.btn_apply.isEnabled()
        panel.revert()
        assert panel.btn_apply.isEnabled()
        assert not panel.dirty
        assert config.read_text() == before
        assert t7.device.ains[1].negative_ch == 199

    run_scenario(qapp, tmp_path, scenario)


def test_two_point_calibration(qapp: Any, tmp_path: Path) -> None:
    async def scenario(panel: AinPanel, bench: Bench, t7: T7Server, world: SimWorld, config: Path) -> None:
        src = bench.sources["labjack"]
        assert isinstance(src, LabJackSource)
        panel.list.setCurrentRow(1)  # battery current, LA 55-P reading 4 % low with a 5 mA offset

        async def settle(amps: float) -> None:
            world.set_current("load", amps)
            expected = amps * 0.96 + 0.005
            await async_wait_until(
                lambda: abs((src.uncalibrated_mean("battery.current") or 99) - expected) < 0.02,
                10,
            )

        await settle(0.0)
        panel.sp_ref.setValue(0.0)
        panel.btn_p1.click()
        await settle(-4.0)
        panel.sp_ref.setValue(-4.0)
        panel.btn_p2.click()
        panel.btn_cal.click()
        await async_wait_until(lambda: "Saved" in panel.lb_status.text(), 10, what="calibration saved")
        saved = load_config(config).config.instruments.labjack
        assert saved is not None
        cal = saved.channels[1].calibration
        assert cal.gain == pytest.approx(1 / 0.96, rel=0.02)
        assert cal.calibrated_at.endswith("Z")
        assert len(cal.points) == 2
        assert "gain 1.0" in panel.lb_cal.text()
        n = src.polls
        await async_wait_until(lambda: src.polls > n + 5, 10)
        reading = src.latest("battery.current")
        assert reading is not None
        assert reading.value == pytest.approx(-4.0, abs=0.05)

    run_scenario(qapp, tmp_path, scenario)


def test_create_panel_only_for_the_real_source(qapp: Any) -> None:
    class Window:
        def __init__(self) -> None:
            self.added: list[str] = []

        def add_panel(self, title: str, widget: Any) -> None:
            self.added.append(title)

    bench = Bench(ScaledClock(1.0), [SimLabJackSource(SimWorld())])
    w = Window()
    assert bench.ain is None
    assert create_panel(w, bench) is None
    assert w.added == []

    source = LabJackSource(LabJackSection())  # never started: the panel only needs the service
    bench = Bench(ScaledClock(1.0), [source])
    assert bench.ain is source
    bench.services.ain_settings = AinSettings(source, None)  # what the assembly attaches
    panel = create_panel(w, bench)
    assert isinstance(panel, AinPanel)
    assert w.added == ["LabJack AIN"]
    panel.timer.stop()
    panel.deleteLater()


def test_plots_mark_over_range(qtbot: Any) -> None:
    display = DisplayBuffers(60)
    ch = Channel.of("battery.voltage", "labjack", "V")
    display.add_channel(ch)
    plots = PlotPanel(History(display, None))
    qtbot.addWidget(plots)
    plots.add_channels([ch])
    display.append([Sample(ch.name, 1_000_000_000, 5.0, int(SampleFlag.OVER_RANGE))])
    plots.range_fn = lambda: (0.0, 2.0)
    plots.redraw()
    assert "over range: battery.voltage.labjack" in plots.plots[0].titleLabel.text
    display.append([Sample(ch.name, 1_100_000_000, 2.0, 0)])
    plots.redraw()
    assert plots.over_range[0] == ""
    plots.history.close()


def test_fields_keep_what_is_typed_and_apply_sends_exactly_that(qapp: Any, tmp_path: Path) -> None:
    """Issue 23: live readings arrive while a transfer parameter is typed — the field keeps the
    text, the panel says "not sent", Apply sends (and saves) what is shown; a field showing no
    number blocks Apply instead of sending the last valid value."""

    async def scenario(panel: AinPanel, bench: Bench, t7: T7Server, world: SimWorld, config: Path) -> None:
        from PySide6.QtTest import QTest

        src = bench.sources["labjack"]
        assert isinstance(src, LabJackSource)
        panel.list.setCurrentRow(0)
        kind = panel.cb_kind.currentData()
        name = next(n for n in KIND_PARAMS[kind] if n in panel.params)
        spin = panel.params[name]
        spin.setFocus()
        spin.selectAll()
        QTest.keyClicks(spin.lineEdit(), "4.5")
        shown = spin.text()
        assert "not sent" in panel.lb_status.text()
        assert panel.btn_apply.styleSheet() != ""
        for _ in range(3):  # live readings while the field holds the edit
            n = src.polls
            await async_wait_until(lambda n=n: src.polls > n + 2, 10, what="polls")
            panel.refresh_live()
            assert spin.text() == shown
        panel.btn_apply.click()
        await async_wait_until(lambda: "Saved" in panel.lb_status.text(), 10, what="apply + save")
        saved = load_config(config).config.instruments.labjack
        assert saved is not None
        assert getattr(saved.channels[0].transfer, name) == pytest.approx(4.5)
        assert panel.btn_apply.styleSheet() == ""

        before = config.read_text()
        spin.selectAll()
        QTest.keyClicks(spin.lineEdit(), "-")  # not a number: nothing is sent
        assert not await panel.apply()
        assert "not a valid value" in panel.lb_status.text()
        assert config.read_text() == before

        panel.sp_ref.selectAll()
        QTest.keyClicks(panel.sp_ref.lineEdit(), "-")
        panel.revert()
        panel.cal.capture(0)  # a reference that is no number captures nothing
        assert "no point captured" in panel.lb_status.text()

    run_scenario(qapp, tmp_path, scenario)
