"""Issue 19: the live plots fit their y range themselves (pyqtgraph's auto-range, which scans
every curve again at each frame, is off), so the range must still follow the data: new extremes
widen it, a trace hidden from the legend no longer counts, and an unchanged span sets nothing
(the y axis is not re-rendered)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication, QGridLayout, QWidget

from benchgui.core.bench import Bench
from benchgui.model import Channel, Sample
from benchgui.widgets.frame_scheduler import RedrawMode
from benchgui.widgets.main_window import MainWindow
from benchgui.widgets.readouts import Readout, ReadoutSpec
from tests.widgets.test_frame_scheduler import ManualClock, WallClock

CHANNELS = [
    Channel.of("battery.voltage", "labjack", "V", rate_hz=10),
    Channel.of("battery.voltage", "mppt", "V", rate_hz=10),
]


@pytest.fixture
def window(qtbot, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    bench = Bench(ManualClock(), [], None)
    bench.add_channels(CHANNELS)
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    w = MainWindow(bench, settings=settings, redraw_mode=RedrawMode.CHANGES)
    qtbot.addWidget(w)
    w.timer.stop()
    w.plots.scheduler.clock = WallClock()
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def publish(w: MainWindow, labjack: float, mppt: float) -> None:
    clock = w.bench.clock
    assert isinstance(clock, ManualClock)
    clock.advance(0.1)
    t = clock.now_ns()
    w.bench.publish([Sample("battery.voltage.labjack", t, labjack), Sample("battery.voltage.mppt", t, mppt)])


def tick(w: MainWindow) -> None:
    clock = w.plots.scheduler.clock
    assert isinstance(clock, WallClock)
    clock.t += 1.0  # past the wait of new samples for their frame
    w._frame()


def y_range(w: MainWindow) -> tuple[float, float]:
    lo, hi = w.plots.plots[0].getViewBox().viewRange()[1]
    return lo, hi


def test_the_y_range_follows_new_extremes(window: MainWindow) -> None:
    assert not window.plots.plots[0].getViewBox().autoRangeEnabled()[1]  # ours, not pyqtgraph's
    publish(window, 12.0, 12.2)
    tick(window)
    lo, hi = y_range(window)
    assert lo < 12.0
    assert hi > 12.2
    assert hi - lo < 1.0
    publish(window, 14.0, 12.1)
    tick(window)
    lo, hi = y_range(window)
    assert lo < 12.0
    assert 14.0 < hi < 14.5


def test_a_trace_hidden_in_the_legend_no_longer_sets_the_range(window: MainWindow) -> None:
    publish(window, 12.0, 20.0)
    publish(window, 12.4, 20.0)
    tick(window)
    assert y_range(window)[1] > 20.0
    window.plots.curves["battery.voltage.mppt"].setVisible(False)  # what a legend click does
    tick(window)
    lo, hi = y_range(window)
    assert lo < 12.0
    assert 12.4 < hi < 13.0


def test_an_unchanged_span_does_not_set_the_range_again(window: MainWindow) -> None:
    publish(window, 12.0, 12.5)
    tick(window)
    vb = window.plots.plots[0].getViewBox()
    changes: list[object] = []
    vb.sigYRangeChanged.connect(lambda *a: changes.append(a))
    publish(window, 12.2, 12.3)  # inside the span already shown
    tick(window)
    assert window.plots.frames >= 2
    assert changes == []


def scroll_columns(w: MainWindow, n: float) -> None:
    t0, t1 = w.visible_range()
    clock = w.bench.clock
    assert isinstance(clock, ManualClock)
    clock.advance(n * (t1 - t0) / w.plots.columns())


def test_a_quiet_trace_is_not_handed_over_again_when_the_window_only_scrolls(window: MainWindow) -> None:
    publish(window, 12.0, 12.2)
    publish(window, 12.4, 12.3)
    tick(window)
    quiet = window.plots.curves["battery.voltage.mppt"]
    handed = quiet.getData()[0]
    frames = window.plots.frames
    scroll_columns(window, 3)
    w_clock = window.bench.clock
    assert isinstance(w_clock, ManualClock)
    window.bench.publish([Sample("battery.voltage.labjack", w_clock.now_ns(), 12.1)])  # the other has news
    tick(window)
    assert window.plots.frames == frames + 1  # the window scrolled: a frame
    assert quiet.getData()[0] is handed  # … without fetching and handing over the quiet trace
    t0, t1 = window.visible_range()
    t, v = window.history.series("battery.voltage.mppt", t0, t1, window.plots.columns())
    shown_t, shown_v = quiet.getData()
    assert shown_t is not None
    assert shown_v is not None
    inside = shown_t >= t0
    assert list(shown_t[inside]) == list(t)  # what is in view is exactly the window's points
    assert list(shown_v[inside]) == list(v)


def test_a_quiet_trace_is_trimmed_once_a_tenth_of_the_window_scrolled_off(window: MainWindow) -> None:
    publish(window, 12.0, 12.2)
    tick(window)
    quiet = window.plots.curves["battery.voltage.mppt"]
    handed = quiet.getData()[0]
    scroll_columns(window, 0.11 * window.plots.columns())
    tick(window)
    assert quiet.getData()[0] is not handed


class _LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_a_new_readout_text_does_not_lay_out_the_dock_again(qtbot) -> None:  # type: ignore[no-untyped-def]
    r = Readout(ReadoutSpec("battery.voltage.labjack", "V LabJack", "V", 3))
    qtbot.addWidget(r)
    r.show()
    qtbot.waitExposed(r)
    r.set_value(12.0)
    QApplication.processEvents()
    requests = _LayoutRequests()
    r.installEventFilter(requests)
    for v in (12.5, -3.25, 14.125, 9.0):
        r.set_value(v)
        QApplication.processEvents()
    assert r.value.text() == "9.000"
    assert requests.count == 0  # the label's size is fixed: only the label repaints
    r.set_value(-123456.789)  # wider than planned for: the label makes room, text shown whole
    assert r.value.width() >= r.value.fontMetrics().horizontalAdvance("-123456.789")


def test_a_new_readout_text_repaints_the_label_alone(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The value label is opaque: a new text paints it, not also the readout's frame and the
    panel under it (four paints per change before, on ~7 changes a second)."""
    from PySide6.QtCore import QEvent, QObject

    panel = QWidget()
    lay = QGridLayout(panel)
    r = Readout(ReadoutSpec("battery.voltage.labjack", "V LabJack", "V", 3))
    lay.addWidget(r)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    r.set_value(12.0)
    qtbot.waitUntil(lambda: r.value.text() == "12.000")
    QApplication.processEvents()
    painted: list[str] = []

    class Paints(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(type(obj).__name__)
            return False

    counter = Paints()
    for w in (panel, r, r.value):
        w.installEventFilter(counter)
    r.set_value(12.5)
    qtbot.waitUntil(lambda: "QLabel" in painted)
    QApplication.processEvents()
    assert painted == ["QLabel"]
    # and it looks as before: the label's background is the readout's
    assert r.value.palette().color(r.value.backgroundRole()) == r.palette().color(r.backgroundRole())


def test_the_y_range_holds_while_noise_stays_inside_and_follows_a_real_change(window: MainWindow) -> None:
    """A strip chart's y range: fitted with headroom, kept while the traces stay inside and
    fill most of it; a noisy trace no longer re-renders its axis at every frame."""
    publish(window, 12.0, 12.5)
    tick(window)
    lo, hi = y_range(window)
    span = 0.5
    assert lo < 12.0 - 0.05 * span  # headroom below …
    assert hi > 12.5 + 0.05 * span  # … and above the traces
    vb = window.plots.plots[0].getViewBox()
    changes: list[object] = []
    vb.sigYRangeChanged.connect(lambda *a: changes.append(a))
    for v in (12.52, 11.98, 12.53, 11.97):  # new extremes, but inside the headroom
        publish(window, v, 12.3)
        tick(window)
    assert changes == []
    publish(window, 13.5, 12.3)  # out of the range: fitted again, with headroom
    tick(window)
    assert len(changes) == 1
    lo2, hi2 = y_range(window)
    assert lo2 < 11.97 < 13.5 < hi2


def test_a_flat_trace_is_still_painted(window: MainWindow) -> None:
    """The traces' bounding rect has no room for the pen (``BareCurve``): a trace that does not
    move at all must still have a rect the scene paints."""
    for _ in range(5):
        publish(window, 12.0, 12.0)
    tick(window)
    curve = window.plots.curves["battery.voltage.labjack"]
    rect = curve.boundingRect()
    assert rect.height() > 0
    image = window.plots.view.grab().toImage()
    blue = (31, 119, 180)  # the LabJack's colour
    found = any(
        image.pixelColor(x, y).getRgb()[:3] == blue
        for x in range(0, image.width(), 2)
        for y in range(image.height() // 5)  # the first plot
    )
    assert found


def test_every_plot_scrolls_to_the_same_time_range_and_the_link_still_works(window: MainWindow) -> None:
    """The scrolling window is set on every plot directly (not through pyqtgraph's x link);
    all plots must show the same time range, and a pan by the operator on one plot must still
    move the others (the links are only blocked while the window sets the range)."""
    for i in range(5):
        publish(window, 12.0 + 0.01 * i, 12.1)
        tick(window)
    plots = window.plots.plots
    first = plots[0].getViewBox().viewRange()[0]
    assert first[1] > first[0]
    for p in plots[1:]:
        assert p.getViewBox().viewRange()[0] == pytest.approx(first, abs=1e-6)
    lowest = plots[-1].getViewBox()
    lowest.setXRange(first[0] - 100, first[1] - 100, padding=0)  # as a drag on the lowest plot does
    assert plots[0].getViewBox().viewRange()[0] == pytest.approx([first[0] - 100, first[1] - 100], abs=1e-3)


def test_a_traces_rect_covers_its_finite_points_and_skips_gaps() -> None:
    """The scene's rect of a trace (``BareCurve``) is worked out without pyqtgraph's
    ``dataBounds``: NaN (a gap) and infinities are left out, all-gap data has no rect."""
    import numpy as np

    from benchgui.widgets.plot_overlay import _finite_bounds

    t = np.arange(5.0)
    assert _finite_bounds(t, np.array([1.0, np.nan, 3.0, -2.0, np.nan])) == (0.0, 4.0, -2.0, 3.0)
    assert _finite_bounds(t, np.array([1.0, np.inf, 3.0, -np.inf, 2.0])) == (0.0, 4.0, 1.0, 3.0)
    assert _finite_bounds(t, np.full(5, np.nan)) is None
    assert _finite_bounds(t[:0], t[:0]) is None


def test_the_columns_follow_the_plots_width(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    """``columns()`` is kept between resizes of the view box (it is asked at every tick): a
    wider window must still give more columns, and a frame for them."""
    publish(window, 12.0, 12.1)
    tick(window)
    before = window.plots.columns()
    assert before == int(window.plots.plots[0].getViewBox().width())
    frames = window.plots.frames
    window.resize(1500, 800)
    qtbot.waitUntil(lambda: int(window.plots.plots[0].getViewBox().width()) > before, timeout=5000)
    assert window.plots.columns() == int(window.plots.plots[0].getViewBox().width()) > before
    tick(window)
    assert window.plots.frames == frames + 1
