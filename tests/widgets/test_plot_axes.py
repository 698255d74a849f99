"""Issue 19: the live plots' axes remember what a scroll does not change, and draw their grid
opaque under the data — without drawing anything else than pyqtgraph's own axes would.

Each check compares with a plain pyqtgraph axis in the same layout and the same range, over a
window scrolling one pixel column at a time (ticks and labels entering and leaving at the edges),
across a change of zoom level, and across midnight."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QPainter, QPicture

from benchgui.model import Channel
from benchgui.widgets.plot_axes import TimeAxis, ValueAxis, grid_under_data
from benchgui.widgets.plot_overlay import bare_curve, hand_over
from benchgui.widgets.plots import PlotPanel, PlotSpec

UTC_OFFSET = -time.localtime().tm_gmtoff


Drawn = tuple[list[tuple[float, float, float, float]], list[tuple[float, str]], set[int]]


def specs(axis: pg.AxisItem) -> Drawn:
    """(tick lines, (label x, text), the tick pens' alphas) of what the axis would draw now."""
    picture = QPicture()
    painter = QPainter(picture)
    try:
        out = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert out is not None
    _, ticks, texts = out
    lines = [(round(a.x(), 6), round(a.y(), 6), round(b.x(), 6), round(b.y(), 6)) for _, a, b in ticks]
    labels = [(round(rect.center().x(), 6), text) for rect, _, text in texts]
    return lines, labels, {pen.color().alpha() for pen, _, _ in ticks}


@pytest.fixture
def pair(qtbot):  # type: ignore[no-untyped-def]
    """Two plots of the same size, one with our axes, one with pyqtgraph's, x and y linked."""
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    ours = view.addPlot(
        row=0,
        col=0,
        axisItems={"bottom": TimeAxis(orientation="bottom", utcOffset=UTC_OFFSET), "left": ValueAxis("left")},
    )
    theirs = view.addPlot(
        row=1, col=0, axisItems={"bottom": pg.DateAxisItem(orientation="bottom", utcOffset=UTC_OFFSET)}
    )
    for p in (ours, theirs):
        p.showGrid(x=True, y=True, alpha=0.25)
        p.getAxis("left").setWidth(72)
    theirs.setXLink(ours)
    theirs.setYLink(ours)
    view.resize(900, 500)
    view.show()
    qtbot.waitExposed(view)
    yield ours, theirs
    view.close()  # (held until here: the items live as long as their view)


def test_the_time_axis_draws_what_pyqtgraphs_draws_while_the_window_scrolls(pair) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    span = 300.0
    width = ours.getViewBox().width()
    column = span / width
    end = 1_780_000_000.0 - (1_780_000_000.0 % 86_400) + 86_400 - 20 * column  # just before midnight
    seen: set[str] = set()
    axis = ours.getAxis("bottom")
    moved = axis.scrolled_frames
    for i in range(120):
        ours.setXRange(end - span + i * column, end + i * column, padding=0)
        mine, reference = specs(ours.getAxis("bottom")), specs(theirs.getAxis("bottom"))
        assert mine[:2] == reference[:2]
        assert mine[2] == {255}  # opaque grid lines
        assert reference[2] != {255}  # (pyqtgraph's are not: the comparison means something)
        seen.update(text for _, text in mine[1])
    assert "00:00:00" in seen  # crossed midnight
    # most frames moved the last ticks (the comparison covered that path), some worked them out
    assert 60 < axis.scrolled_frames - moved < 120
    for span in (60.0, 3600.0, 86_400.0, 300.0):  # zoom levels change, and back
        ours.setXRange(end - span, end, padding=0)
        assert specs(ours.getAxis("bottom"))[:2] == specs(theirs.getAxis("bottom"))[:2]


def test_the_value_axis_draws_pyqtgraphs_ticks_with_an_opaque_grid(pair) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    for lo, hi in ((12.0, 12.9), (-3.2, -2.8), (0.0, 100.0)):
        ours.setYRange(lo, hi, padding=0)
        mine, reference = specs(ours.getAxis("left")), specs(theirs.getAxis("left"))
        assert mine[:2] == reference[:2]
        assert mine[2] == {255}


def test_grid_lines_have_the_colour_the_transparent_grid_had_on_white(pair) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = pair
    ours.setXRange(1_780_000_000.0, 1_780_000_300.0, padding=0)
    picture = QPicture()
    painter = QPainter(picture)
    try:
        mine = ours.getAxis("bottom").generateDrawSpecs(painter)[1]
        reference = theirs.getAxis("bottom").generateDrawSpecs(painter)[1]
    finally:
        painter.end()
    for (pen, _, _), (ref, _, _) in zip(mine, reference, strict=True):
        a = ref.color().alpha() / 255
        assert pen.color().red() == pytest.approx(ref.color().red() * a + 255 * (1 - a), abs=1)


def test_the_live_plots_keep_their_axes_under_the_data(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = PlotPanel(history=None, specs=[PlotSpec("Battery voltage", "V", ("battery.voltage.*",))])  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.add_channels([Channel.of("battery.voltage", "labjack", "V")])
    plot = panel.plots[0]
    curve = panel.curves["battery.voltage.labjack"]
    assert isinstance(plot.getAxis("bottom"), TimeAxis)
    for side in ("left", "bottom"):
        # painted before the view box and everything in it (the traces)
        assert plot.getAxis(side).zValue() < plot.getViewBox().zValue()
    assert isinstance(curve, pg.PlotCurveItem)
    assert curve in plot.listDataItems()  # the legend and the plot know the bare curve
    assert [label.text for _, label in plot.legend.items] == ["battery.voltage (labjack)"]


def test_grid_under_data_is_idempotent(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    p = view.addPlot()
    grid_under_data(p)
    z = p.getAxis("left").zValue()
    grid_under_data(p)
    assert p.getViewBox() in view.scene().items()  # (the view held: its items live with it)
    assert p.getAxis("left").zValue() == z < p.getViewBox().zValue()


def test_a_gap_in_a_trace_is_still_drawn_as_a_gap(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Traces without a gap are handed over as one line (cheaper), those with one in pieces."""
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    curve = bare_curve("v", pg.mkPen("k"))
    view.addPlot().addItem(curve)

    def pieces() -> int:
        path = curve.getPath()
        return sum(1 for i in range(path.elementCount()) if path.elementAt(i).isMoveTo())

    t = np.arange(10.0)
    hand_over(curve, t, np.where(t == 4, np.nan, t))
    assert pieces() == 2
    hand_over(curve, t, t * 2)
    assert pieces() == 1
    hand_over(curve, t, np.where(t >= 7, np.inf, t))  # not finite either: not drawn
    assert pieces() == 1
    assert curve.getPath().boundingRect().right() <= 6
    hand_over(curve, t[:0], t[:0])
    assert curve.getPath().elementCount() == 0


def test_the_live_plots_offer_no_plot_options_that_would_do_nothing(qtbot) -> None:  # type: ignore[no-untyped-def]
    """pyqtgraph's per-curve options (FFT, log, downsample…) only act on PlotDataItems: the
    live plots' bare curves would ignore them, so the menu does not offer them; the view's
    own menu (View All, axes, Export) stays."""
    panel = PlotPanel(history=None, specs=[PlotSpec("Battery voltage", "V", ("battery.voltage.*",))])  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    plot = panel.plots[0]
    assert plot.getContextMenus(None) is None
    assert plot.getViewBox().menuEnabled()
