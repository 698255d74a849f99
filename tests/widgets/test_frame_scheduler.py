"""Issue 19: the live plots draw a frame only when the picture changed.

The window's timer tick (``MainWindow._frame``) is called by hand on a bench whose clock moves
only when the test says so, and the plots' frame counter is read: no samples and no time → no
frame; one sample → one frame; one pixel column of time → one frame; a hidden tab → none. On
the code before issue 19 every tick drew a frame, so the first assertions fail there.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel

from benchgui.core.bench import Bench
from benchgui.model import Channel, Sample
from benchgui.widgets.frame_scheduler import (
    COLUMN_MARGIN_S,
    IDLE_TICK_S,
    RedrawMode,
    on_screen,
    snap_range,
    tick_wait_s,
)
from benchgui.widgets.main_window import MainWindow
from benchgui.widgets.readouts import READOUT_PERIOD_S, READOUT_WITH_FRAME_S

CHANNELS = [
    Channel.of("battery.voltage", "labjack", "V", rate_hz=10),
    Channel.of("battery.current", "labjack", "A", rate_hz=10),
]


class ManualClock:
    """Bench time that moves only when the test says so."""

    speed = 1.0

    def __init__(self) -> None:
        self.t_ns = time.time_ns()

    def advance(self, seconds: float) -> None:
        self.t_ns += round(seconds * 1e9)

    def now_ns(self) -> int:
        return self.t_ns

    def monotonic(self) -> float:
        return self.t_ns / 1e9

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class WallClock:
    """The scheduler's wall clock (frame pacing), moved by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _window(qtbot, bench: Bench, tmp_path: Path, mode: RedrawMode) -> MainWindow:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / f"gui-{mode.value}.ini"), QSettings.Format.IniFormat)
    w = MainWindow(bench, settings=settings, redraw_mode=mode)
    qtbot.addWidget(w)
    w.timer.stop()  # the test ticks by hand
    w.plots.scheduler.clock = WallClock()
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def bench(clock: ManualClock) -> Bench:
    b = Bench(clock, [], None)
    b.add_channels(CHANNELS)
    return b


@pytest.fixture
def window(qtbot, bench: Bench, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    return _window(qtbot, bench, tmp_path, RedrawMode.CHANGES)


def publish(bench: Bench, value: float) -> None:
    t = bench.clock.now_ns()
    bench.publish([Sample("battery.voltage.labjack", t, value), Sample("battery.current.labjack", t, -1.0)])


def ticks(window: MainWindow, n: int = 5) -> int:
    """Frames drawn by ``n`` timer ticks."""
    before = window.plots.frames
    for _ in range(n):
        window._frame()
    return window.plots.frames - before


def test_no_samples_and_no_time_draw_no_frames(window: MainWindow, bench: Bench) -> None:
    publish(bench, 12.0)
    window._frame()  # the first picture
    assert ticks(window, 10) == 0


def wall(window: MainWindow) -> WallClock:
    clock = window.plots.scheduler.clock
    assert isinstance(clock, WallClock)
    return clock


def test_a_sample_draws_one_frame(window: MainWindow, bench: Bench) -> None:
    publish(bench, 12.0)
    window._frame()
    publish(bench, 12.5)
    wall(window).t += 1.0  # the longest a sample waits for its frame
    assert ticks(window) == 1
    _t, v = window.plots.curves["battery.voltage.labjack"].getData()
    assert v is not None
    assert v.max() == pytest.approx(12.5)  # the frame shows the new sample


def test_samples_within_one_column_share_one_frame(window: MainWindow, bench: Bench) -> None:
    publish(bench, 12.0)
    window._frame()
    interval = window.data_interval_s()
    assert 0 < interval <= 1.0
    for i in range(5):  # a burst of news, faster than one pixel column of time
        publish(bench, 12.1 + 0.1 * i)
        wall(window).t += interval / 10
        window._frame()
    assert ticks(window, 1) == 0
    wall(window).t += interval
    assert ticks(window) == 1
    _t, v = window.plots.curves["battery.voltage.labjack"].getData()
    assert v is not None
    assert v.max() == pytest.approx(12.5)


def test_the_window_scrolls_in_whole_pixel_columns(window: MainWindow, clock: ManualClock) -> None:
    window._frame()
    t0, t1 = window.visible_range()
    column = (t1 - t0) / window.plots.columns()
    # move to just past a column boundary: the next column is a full column of time away
    clock.advance(t1 - clock.now_ns() / 1e9 + column * 0.01)
    assert ticks(window, 1) == 1
    clock.advance(column * 0.5)
    assert ticks(window) == 0  # half a column: nothing on screen moves
    clock.advance(column * 0.5)
    assert ticks(window) == 1


def test_a_hidden_tab_costs_no_frame(window: MainWindow, bench: Bench) -> None:
    publish(bench, 12.0)
    window._frame()
    window.add_view("Other", QLabel("another view"))
    window.views.setCurrentIndex(1)
    publish(bench, 13.0)
    wall(window).t += 1.0
    assert ticks(window) == 0
    window.views.setCurrentIndex(0)
    assert ticks(window) == 1  # back in front: the new sample is drawn once


def test_fixed_rate_baseline_draws_every_tick(qtbot, bench: Bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, bench, tmp_path, RedrawMode.FIXED)
    publish(bench, 12.0)
    assert ticks(w, 4) == 4  # the benchmark's baseline (BENCHGUI_REDRAW=fixed) stays as it was


class _Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_a_readout_repaints_only_when_its_text_changes(window: MainWindow, bench: Bench, qtbot) -> None:  # type: ignore[no-untyped-def]
    label = window.readouts.readouts["battery.voltage.labjack"].value
    paints = _Paints()
    label.installEventFilter(paints)
    publish(bench, 12.0)
    window._frame()
    assert label.text() == "12.000"
    qtbot.waitUntil(lambda: paints.count > 0)  # the new text is painted
    QApplication.processEvents()
    paints.count = 0
    publish(bench, 12.0001)  # the same three decimals
    window._frame()
    window._frame()
    QApplication.processEvents()
    assert label.text() == "12.000"
    assert paints.count == 0
    publish(bench, 12.5)
    window.plots.scheduler.clock.t += READOUT_PERIOD_S  # type: ignore[attr-defined]
    window._frame()
    qtbot.waitUntil(lambda: paints.count > 0)  # the new text is painted
    assert label.text() == "12.500"


def test_readouts_show_at_most_every_readout_period(window: MainWindow, bench: Bench) -> None:
    """The LabJack publishes at 10 Hz and the timer ticks at 20 Hz; the readouts show a few
    times a second (a number changing ten times a second cannot be read), with the frames."""
    label = window.readouts.readouts["battery.voltage.labjack"].value
    wall = window.plots.scheduler.clock
    texts: list[str] = []
    for i in range(40):  # two seconds of 20 Hz ticks, a new value at every other one
        if i % 2 == 0:
            publish(bench, 12.0 + 0.01 * i)
        wall.t += 0.05  # type: ignore[attr-defined]
        window._frame()
        if not texts or texts[-1] != label.text():
            texts.append(label.text())
    assert 2 / READOUT_PERIOD_S - 1 <= len(texts) <= 2 / READOUT_WITH_FRAME_S + 1
    wall.t += READOUT_PERIOD_S  # type: ignore[attr-defined]
    window._frame()
    assert label.text() == "12.380"  # the latest value, once the period has passed
    publish(bench, 13.0)
    window.redraw()  # an explicit redraw shows now, whatever the period
    assert label.text() == "13.000"


def test_snap_range_moves_in_whole_columns() -> None:
    a = snap_range(1000.01, 300.0, 1200)
    b = snap_range(1000.2, 300.0, 1200)
    assert a == b  # within one column of 0.25 s
    assert a[1] - a[0] == pytest.approx(300.0)
    assert snap_range(1000.3, 300.0, 1200)[1] == pytest.approx(a[1] + 0.25)


def test_low_power_caps_updates_at_2_hz(tmp_path: Path) -> None:
    import argparse

    from benchgui.app import redraw_hz
    from benchgui.cli import build_parser
    from benchgui.config import load_config

    assert build_parser().parse_args(["--low-power"]).low_power is True
    assert build_parser().parse_args([]).low_power is False

    cfg = tmp_path / "c.toml"
    cfg.write_text("[display]\nredraw_hz = 20.0\n")
    loaded = load_config(str(cfg))
    assert redraw_hz(argparse.Namespace(low_power=False), loaded) == 20.0
    assert redraw_hz(argparse.Namespace(low_power=True), loaded) == 2.0
    cfg.write_text("[display]\nlow_power = true\n")
    assert redraw_hz(argparse.Namespace(low_power=False), load_config(str(cfg))) == 2.0


def test_a_dock_behind_another_has_its_refresh_timer_stopped(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = QLabel("a panel refreshed on a timer")
    panel.pause_when_hidden = True  # type: ignore[attr-defined]  # as the SOC gauge says
    timer = QTimer(panel)
    timer.start(200)
    window.add_panel("Behind", panel)
    window.show_panel("Readouts")
    qtbot.waitUntil(lambda: not on_screen(panel))
    qtbot.waitUntil(lambda: not timer.isActive())  # tabbed behind the readouts: no refresh
    window.show_panel("Behind")
    qtbot.waitUntil(lambda: on_screen(panel))
    qtbot.waitUntil(timer.isActive)
    assert not on_screen(window.readouts)


def test_panel_option_brings_that_dock_to_the_front(window: MainWindow, qtbot, caplog) -> None:  # type: ignore[no-untyped-def]
    from benchgui.app import front_panel

    panel = QLabel("a panel behind the readouts")
    window.add_panel("Behind", panel)
    window.show_panel("Readouts")
    qtbot.waitUntil(lambda: not on_screen(panel))
    assert front_panel(window, "Behind")  # --panel Behind
    qtbot.waitUntil(lambda: on_screen(panel))
    assert not on_screen(window.readouts)
    assert not front_panel(window, "Nope")
    assert "--panel 'Nope': no such panel (there are: " in caplog.text
    assert {"Readouts", "Behind"} <= set(window.panel_titles())
    assert on_screen(panel)  # a wrong title changes nothing


def test_a_panel_that_does_not_opt_in_keeps_its_timer(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The safety panel's timer also keeps the banner above the plots current: never paused."""
    panel = QLabel("a panel whose timer drives more than its dock")
    timer = QTimer(panel)
    timer.start(200)
    window.add_panel("Behind", panel)
    window.show_panel("Readouts")
    qtbot.waitUntil(lambda: not on_screen(panel))
    assert timer.isActive()


def test_readouts_show_with_a_frame_and_without_one_after_the_longer_period(
    window: MainWindow, bench: Bench
) -> None:
    """Shown in the same tick as a frame (one paint of the window for both) once
    READOUT_WITH_FRAME_S has passed; with no frame (plots behind a tab) every READOUT_PERIOD_S."""
    label = window.readouts.readouts["battery.voltage.labjack"].value
    wall = window.plots.scheduler.clock
    publish(bench, 12.0)
    window.redraw()
    frames = window.plots.frames
    publish(bench, 12.5)
    wall.t += READOUT_WITH_FRAME_S  # type: ignore[attr-defined]  # also past new samples' wait
    wall.t += 1.0  # type: ignore[attr-defined]
    window._frame()
    assert window.plots.frames == frames + 1  # a frame …
    assert label.text() == "12.500"  # … and the readouts with it
    window.add_view("Other", QLabel("another view"))
    window.views.setCurrentIndex(window.views.count() - 1)  # another tab: no frames
    assert window.views.currentWidget() is not window.plots
    publish(bench, 13.0)
    wall.t += READOUT_WITH_FRAME_S  # type: ignore[attr-defined]
    window._frame()
    assert label.text() == "12.500"  # no frame: not yet
    wall.t += READOUT_PERIOD_S - READOUT_WITH_FRAME_S  # type: ignore[attr-defined]
    window._frame()
    assert label.text() == "13.000"


# -- the timer sleeps until something may need a frame -------------------------------------------
def test_tick_wait_lies_between_the_rate_cap_and_the_idle_tick() -> None:
    assert tick_wait_s(0.05, 0.3, 0.4) == pytest.approx(0.3)  # the first thing due
    assert tick_wait_s(0.05, -1.0, 0.4) == pytest.approx(0.05)  # overdue: at the rate cap
    assert tick_wait_s(0.05, 7.0) == pytest.approx(IDLE_TICK_S)  # far off: the safety net
    assert tick_wait_s(0.5, 0.1) == pytest.approx(0.5)  # --low-power's cap wins
    assert tick_wait_s(0.05) == pytest.approx(IDLE_TICK_S)  # nothing due at all


def armed_for(window: MainWindow, wait_s: float) -> int:
    """The timer's interval after a tick that found ``wait_s``: never less than twice the time
    that tick took (drawing takes at most half of the loop), however fast the machine."""
    return math.ceil(1000 * max(wait_s, 2.0 * window.last_frame_s))


def _mid_column(window: MainWindow, clock: ManualClock) -> float:
    """Put the bench clock half a column before the window scrolls; the column's length."""
    window._frame()
    t0, t1 = window.visible_range()
    column = (t1 - t0) / window.plots.columns()
    clock.advance(t1 - clock.now_ns() / 1e9 + column * 0.5)
    return column


def test_the_timer_sleeps_until_the_window_scrolls(
    window: MainWindow, bench: Bench, clock: ManualClock
) -> None:
    """Issue 19: a tick at 20 Hz that found nothing to draw still cost CPU; in the 5-minute
    window the picture changes only once per pixel column (~0.3–0.4 s)."""
    publish(bench, 12.0)
    column = _mid_column(window, clock)
    assert window.frame_period_s < column / 2  # the test means something: a column > 2 caps
    assert ticks(window, 1) == 1  # the window scrolled
    t1 = clock.now_ns() / 1e9
    scrolls_at = window.visible_range()[1]
    assert window.timer.interval() == armed_for(window, (scrolls_at - t1) + COLUMN_MARGIN_S)
    clock.advance(scrolls_at - t1 + COLUMN_MARGIN_S)  # when the timer fires
    wall(window).t += column
    assert ticks(window, 1) == 1  # … there is a frame to draw


def test_behind_another_tab_the_timer_waits_for_the_readouts(window: MainWindow, bench: Bench) -> None:
    publish(bench, 12.0)
    window._frame()
    window.add_view("Other", QLabel("another view"))
    window.views.setCurrentIndex(window.views.count() - 1)
    wall(window).t += READOUT_PERIOD_S
    window._frame()  # the readouts show: due again in READOUT_PERIOD_S
    assert window.timer.interval() == armed_for(window, READOUT_PERIOD_S)


def test_closed_readouts_do_not_keep_the_timer_at_the_rate_cap(
    window: MainWindow, bench: Bench, qtbot
) -> None:  # type: ignore[no-untyped-def]
    """Readouts that cannot be seen are never refreshed, so their turn is always overdue."""
    publish(bench, 12.0)
    window._frame()
    window.add_view("Other", QLabel("another view"))
    window.views.setCurrentIndex(window.views.count() - 1)
    dock = next(d for d in window.findChildren(QDockWidget) if d.objectName() == "dock.Readouts")
    dock.close()
    qtbot.waitUntil(lambda: not on_screen(window.readouts))
    wall(window).t += 10 * READOUT_PERIOD_S
    window._frame()
    assert window.timer.interval() == armed_for(window, IDLE_TICK_S)


def test_a_fetch_in_flight_keeps_the_rate_cap(window: MainWindow, clock: ManualClock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _mid_column(window, clock)
    window._frame()
    assert window.timer.interval() > math.ceil(1000 * window.frame_period_s)
    monkeypatch.setattr(window.history, "pending", lambda: True)
    window._frame()
    assert window.timer.interval() == armed_for(window, window.frame_period_s)


def wheel(window: MainWindow) -> None:
    """The operator's mouse wheel over the first plot."""
    view = window.plots.view
    vb = window.plots.plots[0].getViewBox()
    pos = QPointF(view.mapFromScene(vb.mapToScene(vb.boundingRect().center())))
    glob = QPointF(view.viewport().mapToGlobal(pos.toPoint()))
    event = QWheelEvent(
        pos,
        glob,
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


@pytest.mark.parametrize("action", ["pause", "window", "zoom", "new trace", "tab"])
def test_what_the_operator_does_wakes_the_timer(window: MainWindow, action: str) -> None:
    cap_ms = math.ceil(1000 * window.frame_period_s)
    window.timer.start(5000)  # asleep
    if action == "pause":
        window.act_pause.setChecked(True)
    elif action == "window":
        combo = window.window_combo
        combo.setCurrentIndex((combo.currentIndex() + 1) % combo.count())
    elif action == "zoom":
        wheel(window)
    elif action == "new trace":
        window.plots.add_channels([Channel.of("battery.power", "labjack", "W", rate_hz=10)])
    else:
        window.add_view("Other", QLabel("another view"))
        window.views.setCurrentIndex(window.views.count() - 1)
    assert window.timer.isActive()
    assert window.timer.remainingTime() <= cap_ms


def test_a_failing_wait_still_rearms_the_timer(window: MainWindow, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    def broken() -> float:
        raise RuntimeError("clock gone")

    monkeypatch.setattr(window.history, "pending", broken)
    window.timer.stop()
    window._frame()
    assert window.timer.isActive()
    assert window.timer.interval() == armed_for(window, window.frame_period_s)
    assert "next frame" in caplog.text
