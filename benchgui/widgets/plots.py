"""Live plots: one stacked set of pyqtgraph plots sharing one time axis.

The panel redraws on a timer from :class:`~benchgui.core.history.History` (ring buffers plus
the store), at most two points per pixel column per trace, so hours of data stay smooth. Traces
appear as channels appear. A cross-hair shows every trace's value at the cursor time.
"""

from __future__ import annotations

import fnmatch
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QVBoxLayout, QWidget

from benchgui.core.history import History
from benchgui.model import Channel, SampleFlag
from benchgui.widgets.plot_overlay import CrossHair, MarkerSet, SessionOverlay, cache_legend_text

pg.setConfigOptions(antialias=False, background="w", foreground="k")
_CACHED = QGraphicsItem.CacheMode.DeviceCoordinateCache
LEGEND_STRIP_PX = 23  # the room above each plot that its legend lives in

PALETTE = {
    "labjack": (31, 119, 180),
    "mppt": (214, 39, 40),
    "load": (44, 160, 44),
    "spkf": (148, 103, 189),
    "setpoint": (255, 127, 14),
}
EXTRA = [(140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


@dataclass(frozen=True)
class PlotSpec:
    title: str
    unit: str
    patterns: tuple[str, ...]


DEFAULT_PLOTS = (
    PlotSpec("Battery voltage", "V", ("battery.voltage.*",)),
    PlotSpec("Battery current", "A", ("battery.current.*",)),
    PlotSpec("Battery power", "W", ("battery.power.*",)),
    PlotSpec("Load setpoint", "A", ("load.current.setpoint",)),
    PlotSpec("State of charge", "%", ("soc.spkf", "soc.coulomb", "soc.mppt")),
)


def color_for(channel: Channel, index: int) -> tuple[int, int, int]:
    return (
        PALETTE.get(channel.source)
        or PALETTE.get(channel.name.rsplit(".", 1)[-1])
        or EXTRA[index % len(EXTRA)]
    )


class PlotPanel(QWidget):
    """Stacked plots with linked time axes.

    ``range_fn`` returns the (t0, t1) to show in epoch seconds, or None to leave the view alone
    (paused, or the operator zoomed).
    """

    def __init__(
        self,
        history: History,
        specs: Sequence[PlotSpec] = DEFAULT_PLOTS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.history = history
        self.specs = list(specs)
        self.range_fn: Callable[[], tuple[float, float] | None] = lambda: None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._curve_plot: dict[str, int] = {}
        self.frames = 0
        self.last_frame_ms = 0.0
        self._last_range: tuple[float, float] | None = None
        self.over_range: dict[int, str] = {}  # plot index → channels shown as over range
        self.overlay: SessionOverlay | None = None  # a second session, for comparison
        self._setup_ui()
        self.markers = MarkerSet(self.plots)  # operator annotations

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget()
        # most of the viewport changes every frame: one full repaint is cheaper than the region
        # bookkeeping of minimal updates (measured 29 → 22 ms per frame offscreen, with caching)
        self.view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        layout.addWidget(self.view)
        self.plots: list[pg.PlotItem] = []
        for i, spec in enumerate(self.specs):
            axis = pg.DateAxisItem(orientation="bottom", utcOffset=-time.localtime().tm_gmtoff)
            p = self.view.addPlot(row=i, col=0, axisItems={"bottom": axis})
            p.setLabel("left", spec.title, units=spec.unit)
            p.getAxis("left").setWidth(72)  # equal widths keep the stacked time axes aligned
            p.showGrid(x=True, y=True, alpha=0.25)
            for side in ("left", "bottom"):
                # major and one minor tick level: every extra level of grid lines costs more to
                # paint than the traces themselves (measured: 25 → 14 ms per frame offscreen)
                p.getAxis(side).setStyle(maxTickLevel=1, maxTextLevel=1)
            # the legend in a strip above the data (never on the traces): one row, anchored to the
            # plot item in its (otherwise empty) title row, past the left axis
            legend = pg.LegendItem(offset=(76, 1), labelTextSize="8pt", colCount=4, verSpacing=0)
            legend.layout.setContentsMargins(0, 0, 0, 0)
            legend.setParentItem(p)
            p.legend = legend
            p.layout.setRowFixedHeight(0, LEGEND_STRIP_PX)
            # axes (with their grid) and legends change far less often than the traces: paint
            # them from a pixmap until they change, instead of replaying their text every frame
            p.getAxis("left").setCacheMode(_CACHED)
            p.getAxis("bottom").setCacheMode(_CACHED)
            legend.setCacheMode(_CACHED)
            # no pyqtgraph clipping or downsampling: History hands over <= 2 points per pixel
            # column of exactly the visible window already
            p.getViewBox().setMouseEnabled(x=True, y=False)
            p.enableAutoRange(axis="y")  # follows the data; y cannot be zoomed, so it stays on
            if i > 0:
                p.setXLink(self.plots[0])
            if i < len(self.specs) - 1:
                p.hideAxis("bottom")  # the time axis is on the lowest plot; hidden ones cost no paint
            self.plots.append(p)
        # cross-hair (plot_overlay.CrossHair): units, inside the plot, hidden on leave
        self.channels: dict[str, Channel] = {}
        self.crosshair = CrossHair(self.view, self.plots, self.curves, self.channels)
        self.cursor_lines = self.crosshair.lines
        self.readout = self.crosshair.readout
        self.view.scene().sigMouseMoved.connect(self.crosshair.mouse_moved)

    # -- traces ----------------------------------------------------------------------------------
    def plot_index_for(self, name: str) -> int | None:
        for i, spec in enumerate(self.specs):
            if any(fnmatch.fnmatchcase(name, pat) for pat in spec.patterns):
                return i
        return None

    def add_channels(self, channels: Sequence[Channel]) -> None:
        for ch in channels:
            idx = self.plot_index_for(ch.name)
            if idx is None or ch.name in self.curves:
                continue
            n = sum(1 for v in self._curve_plot.values() if v == idx)
            curve = self.plots[idx].plot(
                name=ch.label or ch.name,
                pen=pg.mkPen(color_for(ch, n), width=1),  # wider pens are several times slower to draw
                connect="finite",
            )
            self.curves[ch.name] = curve
            self.channels[ch.name] = ch
            self._curve_plot[ch.name] = idx
            cache_legend_text(self.plots[idx])

    def set_history(self, history: History) -> None:
        self.history = history
        for c in self.curves.values():
            c.setData([], [])

    # -- drawing ---------------------------------------------------------------------------------
    def columns(self) -> int:
        return max(100, int(self.view.width()))

    def redraw(self) -> None:
        """Fetch each trace's window and hand it to pyqtgraph (called by the window's timer)."""
        rng = self.range_fn()
        if rng is None:
            vb_range = self.plots[0].getViewBox().viewRange()[0]
            rng = (vb_range[0], vb_range[1])
            set_range = False
        else:
            set_range = True
        t0, t1 = rng
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            return
        start = time.perf_counter()
        cols = self.columns()
        for name, curve in self.curves.items():
            t, v = self.history.series(name, t0, t1, cols)
            curve.setData(t, v, connect="finite") if len(t) else curve.setData([], [])
        if self.overlay is not None:
            self.overlay.redraw(t0, t1, cols)
        if set_range and rng != self._last_range:
            self.plots[0].setXRange(t0, t1, padding=0)
            self._last_range = rng
        self._mark_over_range()
        self.frames += 1
        self.last_frame_ms = (time.perf_counter() - start) * 1000

    def _mark_over_range(self) -> None:
        """Title a plot in red while one of its channels' latest sample is flagged OVER_RANGE
        (within 2 % of the input range: probably clipped)."""
        display = self.history.display
        flags = display.flags if display is not None else {}
        per_plot: dict[int, list[str]] = {}
        for name, idx in self._curve_plot.items():
            if flags.get(name, 0) & SampleFlag.OVER_RANGE:
                per_plot.setdefault(idx, []).append(name)
        for i, p in enumerate(self.plots):
            text = ", ".join(per_plot.get(i, []))
            if text != self.over_range.get(i, ""):
                self.over_range[i] = text
                p.setTitle(f"<span style='color:#d62728'>⚠ over range: {text}</span>" if text else None)

    # -- comparison and annotations ---------------------------------------------------------------
    def set_overlay(
        self,
        history: History | None,
        channels: Sequence[Channel] = (),
        offset_s: float = 0.0,
        label: str = "",
    ) -> None:
        """Overlay another session's traces (dashed), shifted by ``offset_s``; None removes it."""
        if self.overlay is not None:
            self.overlay.remove()
            self.overlay = None
        if history is not None:
            self.overlay = SessionOverlay(
                self.plots, self.plot_index_for, color_for, history, channels, offset_s, label
            )

    def set_markers(self, markers: Sequence[tuple[float, str]]) -> None:
        """Annotation markers: (epoch seconds, note)."""
        self.markers.set(markers)

    def add_marker(self, t_s: float, text: str) -> None:
        self.markers.add(t_s, text)

    # -- cross-hair (plot_overlay.CrossHair) ---------------------------------------------------
    def hide_cursor(self) -> None:
        self.crosshair.hide()

    def values_at(self, x: float) -> dict[str, float]:
        """Each visible trace's value nearest to time ``x`` (what the cross-hair shows)."""
        return self.crosshair.values_at(x)

    def show_cursor(self, x: float) -> None:
        self.crosshair.show(x)
