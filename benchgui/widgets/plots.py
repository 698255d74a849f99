"""Live plots: one stacked set of pyqtgraph plots sharing one time axis.

The panel draws from :class:`~benchgui.core.history.History` (ring buffers plus the store), at
most two points per pixel column per trace, so hours of data stay smooth. The window's timer asks
:meth:`PlotPanel.redraw_if_changed`, which draws only when new samples, a moved view or a
scroll of one pixel column changed the picture (:mod:`benchgui.widgets.frame_scheduler`), and
hands pyqtgraph only the traces whose data changed. Traces appear as channels appear. A
cross-hair shows every trace's value at the cursor time.
"""

from __future__ import annotations

import fnmatch
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QVBoxLayout, QWidget

from benchgui.core.history import History
from benchgui.model import Channel, SampleFlag
from benchgui.widgets.frame_scheduler import FrameScheduler, RedrawMode
from benchgui.widgets.plot_axes import TimeAxis, ValueAxis, grid_under_data
from benchgui.widgets.plot_overlay import (
    CrossHair,
    MarkerSet,
    SessionOverlay,
    bare_curve,
    cache_legend_text,
    hand_over,
)

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


CurveKey = tuple[float, float, int, int, int]  # t0, t1, columns, samples appended, store fetches


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


# The y range of a plot follows its traces like a strip-chart recorder's: fitted with headroom
# above and below, and kept while the traces stay inside and span most of it. Fitted exactly at
# every frame, a new extreme or one scrolling off moved the range of a noisy trace at almost
# every frame, and with it the axis and the grid had to be rendered again: with this rule the
# default 5-minute view used ~0.7 % of a core less (benchmarks/bench_gui_cpu.py; README).
Y_HEADROOM = 0.1  # of the traces' span, added above and below when the range is fitted
Y_REFIT_BELOW = 0.6  # the traces' span under this share of the range: fit again (zoom in)


def holds(rng: tuple[float, float], lo: float, hi: float) -> bool:
    """Whether the y range ``rng`` still shows traces spanning ``lo``…``hi`` well: all of it
    inside, and over at least :data:`Y_REFIT_BELOW` of the range's height."""
    r0, r1 = rng
    return r0 <= lo and hi <= r1 and (hi - lo) >= Y_REFIT_BELOW * (r1 - r0)


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
        redraw_mode: RedrawMode = RedrawMode.CHANGES,
    ) -> None:
        super().__init__(parent)
        self.history = history
        self.scheduler = FrameScheduler(redraw_mode)
        self._curve_keys: dict[str, CurveKey] = {}
        self._curve_data: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # what pyqtgraph has
        self.specs = list(specs)
        self.range_fn: Callable[[], tuple[float, float] | None] = lambda: None
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self._curve_plot: dict[str, int] = {}
        self.frames = 0
        self.last_frame_ms = 0.0
        self._last_range: tuple[float, float] | None = None
        self.over_range: dict[int, str] = {}  # plot index → channels shown as over range
        self.overlay: SessionOverlay | None = None  # a second session, for comparison
        self._y_ranges: dict[int, tuple[float, float]] = {}  # plot index → y range last set
        self._columns: int | None = None  # columns(), until the view box is resized
        self._setup_ui(redraw_mode)
        self.markers = MarkerSet(self.plots)  # operator annotations

    def _setup_ui(self, redraw_mode: RedrawMode) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget()
        # most of the viewport changes every frame: one full repaint is cheaper than the region
        # bookkeeping of minimal updates (measured 29 → 22 ms per frame offscreen, with caching)
        self.view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        layout.addWidget(self.view)
        self.plots: list[pg.PlotItem] = []
        for i, spec in enumerate(self.specs):
            # axes cheaper to draw again at each scroll, opaque grid under the data (plot_axes)
            axes = {
                "bottom": TimeAxis(orientation="bottom", utcOffset=-time.localtime().tm_gmtoff),
                "left": ValueAxis(orientation="left"),
            }
            p = self.view.addPlot(row=i, col=0, axisItems=axes)
            grid_under_data(p)
            # pyqtgraph's "Plot Options" (FFT, log, downsample, alpha, average…) act only on
            # PlotDataItems; the traces here are bare PlotCurveItems fed benchgui's own per-column
            # min/max, so those entries would do nothing. The view's own menu (View All, axes,
            # mouse mode, Export…) stays.
            p.setMenuEnabled(False, enableViewBoxMenu=None)
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
            for side in ("left", "bottom"):
                p.getAxis(side).setCacheMode(_CACHED)
                p.getAxis(side).label.setCacheMode(_CACHED)  # its title: laid out again at each paint
            legend.setCacheMode(_CACHED)
            # no pyqtgraph clipping or downsampling: History hands over <= 2 points per pixel
            # column of exactly the visible window already
            p.getViewBox().setMouseEnabled(x=True, y=False)
            if redraw_mode is RedrawMode.FIXED:  # the baseline, as before: pyqtgraph's auto-range
                p.enableAutoRange(axis="y")
            else:
                # the y range follows the data, fitted by :meth:`_fit_y` from the points handed
                # over: pyqtgraph's auto-range scans every curve of the plot again at each frame
                # (a sixth of a frame's CPU, measured) and y cannot be zoomed anyway
                p.disableAutoRange(axis="y")
            for side in ("top", "right"):
                # hidden, but linked to the view: with their automatic SI prefix on, each scroll
                # set their (empty) title's HTML again and re-laid it out (py-spy, ~3 % of the GUI)
                p.getAxis(side).enableAutoSIPrefix(False)
            if i > 0:
                p.setXLink(self.plots[0])
            if i < len(self.specs) - 1:
                p.hideAxis("bottom")  # the time axis is on the lowest plot; hidden ones cost no paint
            self.plots.append(p)
        self.plots[0].getViewBox().sigResized.connect(self._resized)
        # cross-hair (plot_overlay.CrossHair): units, inside the plot, hidden on leave
        self.channels: dict[str, Channel] = {}
        self.crosshair = CrossHair(self.view, self.plots, self.curves, self.channels)
        self.cursor_lines = self.crosshair.lines
        self.readout = self.crosshair.readout
        # the scene's items change geometry at every frame (each trace's data, each view's range):
        # a BSP index of them is rebuilt for nothing. Qt's advice for such scenes is no index; a
        # lookup (the mouse) is then linear in the ~100 items. Measured: ~5 % of a frame.
        self.view.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
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
            # wider pens are several times slower to draw
            curve = bare_curve(ch.label or ch.name, pg.mkPen(color_for(ch, n), width=1))
            self.plots[idx].addItem(curve)  # … and into the legend, by its name
            self.curves[ch.name] = curve
            self.channels[ch.name] = ch
            self._curve_plot[ch.name] = idx
            curve.visibleChanged.connect(self.scheduler.invalidate)  # the legend hides a trace
            cache_legend_text(self.plots[idx])
            self.scheduler.invalidate()

    def set_history(self, history: History) -> None:
        self.history = history
        for c in self.curves.values():
            c.setData([], [])
        self._curve_keys.clear()
        self._curve_data.clear()
        self._y_ranges.clear()
        self.scheduler.invalidate()

    # -- drawing ---------------------------------------------------------------------------------
    def columns(self) -> int:
        """The plots' pixel columns: the width of their data area (the view box), not of the
        widget with its axis strip (~8 % more columns, so more frames and points than pixels).
        Asked several times at every tick of the window's timer: kept from the view box's last
        resize rather than asked of pyqtgraph each time."""
        if self._columns is None:
            self._columns = max(100, int(self.plots[0].getViewBox().width()))
        return self._columns

    def _resized(self, *_: object) -> None:
        self._columns = None
        self.scheduler.invalidate()

    def _range(self) -> tuple[tuple[float, float], bool]:
        """The range to show, and whether it is ours to set (False: paused or zoomed)."""
        rng = self.range_fn()
        if rng is not None:
            return rng, True
        vb_range = self.plots[0].getViewBox().viewRange()[0]
        return (vb_range[0], vb_range[1]), False

    def _version(self, name: str) -> int:
        display = self.history.display
        return display.version(name) if display is not None else 0

    def frame_state(self) -> tuple[tuple[object, ...], tuple[int, ...]]:
        """What the next frame would show, as far as deciding whether to draw it goes: the view
        (range — a scrolling window moves in whole columns —, width in columns, what the store
        delivered meanwhile) and the data (each trace's count of samples)."""
        rng, _ = self._range()
        fetched = self.history.fetched + (self.overlay.history.fetched if self.overlay is not None else 0)
        return (rng, self.columns(), fetched), tuple(self._version(n) for n in self.curves)

    def redraw_if_changed(self, min_interval_s: float | Callable[[], float] = 0.0) -> bool:
        """Draw a frame if the picture changed since the last one (the window's timer calls
        this at the rate cap); new samples alone wait ``min_interval_s`` after the last frame
        (a callable: worked out only when that is the question). True when something on screen
        changed (then repaint)."""
        view, data = self.frame_state()
        if not self.scheduler.due(view, data, min_interval_s):
            return False
        changed = self.redraw()
        self.scheduler.drawn(view, data)
        return changed

    def redraw(self) -> bool:
        """Fetch each trace's window and hand pyqtgraph the ones whose points changed; False
        when nothing on screen did (new samples that moved no point by a pixel column)."""
        rng, set_range = self._range()
        t0, t1 = rng
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            return False
        start = time.perf_counter()
        cols = self.columns()
        fixed = self.scheduler.mode is RedrawMode.FIXED
        fetched = self.history.fetched
        changed = fixed or self.overlay is not None
        for name, curve in self.curves.items():
            key = (t0, t1, cols, self._version(name), fetched)
            old_key = self._curve_keys.get(name)
            if not fixed and old_key == key:
                continue  # same samples, same range: pyqtgraph keeps what it has
            if not fixed and set_range and self._only_scrolled(old_key, key, name):
                continue  # no news: the view's move alone shows the same points, shifted
            self._curve_keys[name] = key
            t, v = self.history.series(name, t0, t1, cols)
            old = self._curve_data.get(name)
            if (
                not fixed
                and old is not None
                and old_key is not None
                and old_key[:3] == key[:3]
                and len(old[0]) == len(t)
                and (len(t) == 0 or old[0][0] == t[0])
                and np.array_equal(old[1], v, equal_nan=True)
            ):
                # the same columns with the same min/max: a new sample only moved a point
                # within its column, which no pixel shows
                continue
            self._curve_data[name] = (t, v)
            hand_over(curve, t, v)
            changed = True
        if self.overlay is not None:
            self.overlay.redraw(t0, t1, cols)
        if set_range and rng != self._last_range:
            self._set_x_range(t0, t1)
            self._last_range = rng
            changed = True
        changed = self._mark_over_range() or changed
        if not fixed:
            changed = self._fit_y(t0) or changed
        if changed and not fixed:
            # settle the y auto-range now rather than in pyqtgraph's paint preparation: a range
            # changed there schedules a second paint of every plot (measured: 2 paints a frame)
            for p in self.plots:
                p.getViewBox().prepareForPaint()
        if changed:
            self.frames += 1
            self.last_frame_ms = (time.perf_counter() - start) * 1000
        return changed

    def _set_x_range(self, t0: float, t1: float) -> None:
        """Give every plot the time range itself. Set on the first plot alone, pyqtgraph's x link
        passes it on to each of the others after working out both views' screen geometry, to line
        them up (~2 % of the GUI thread's busy time in py-spy, at every scrolled frame). The plots
        are lined up already (left axes of one width), so the link would set the same range."""
        views = [p.getViewBox() for p in self.plots]
        for vb in views:
            vb.blockLink(True)
        try:
            for vb in views:
                vb.setXRange(t0, t1, padding=0)
        finally:
            for vb in views:
                vb.blockLink(False)

    def _only_scrolled(self, old_key: CurveKey | None, key: CurveKey, name: str) -> bool:
        """Whether the points pyqtgraph has for ``name`` still show the new window exactly: no
        new samples, nothing new from the store, same width and span, the window moved forward
        (whole columns on the same grid, :func:`~benchgui.widgets.frame_scheduler.snap_range`,
        so every column left in view holds the same points), and what scrolled off on the left
        is at most a tenth of the window (then the data is trimmed by one fetch). Saves a fetch
        and a ``setData`` per quiet trace and frame (inference: about half the traces of the
        bench — the MPPT's, the SOC and the setpoint publish at 1 Hz or on change — are quiet at
        the 3 frames a second of the 5-minute window)."""
        if old_key is None or name not in self._curve_data or old_key[2:] != key[2:]:
            return False
        (a0, a1), (t0, t1) = old_key[:2], key[:2]
        span = t1 - t0
        return math.isclose(a1 - a0, span) and a1 <= t1 and a0 >= t0 - 0.1 * span

    def _fit_y(self, t0: float) -> bool:
        """Fit each plot's y range to what its visible traces span, with headroom, and keep it
        while the traces stay inside and fill most of it (:func:`holds`), so a y axis is
        re-rendered only when its range must move; True then."""
        bounds: dict[int, tuple[float, float]] = {}

        def widen(idx: int, t: np.ndarray | None, v: np.ndarray | None) -> None:
            if t is None or v is None or len(v) == 0:
                return
            # a trace that only scrolled still holds points left of the window: not counted
            v = np.asarray(v[int(np.searchsorted(t, t0)) :], dtype=float)
            if len(v) == 0:
                return
            lo, hi = float(np.fmin.reduce(v)), float(np.fmax.reduce(v))  # NaN (a gap) ignored
            if math.isfinite(lo) and math.isfinite(hi):
                old = bounds.get(idx)
                bounds[idx] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))

        for name, idx in self._curve_plot.items():
            data = self._curve_data.get(name)
            if data is not None and self.curves[name].isVisible():
                widen(idx, data[0], data[1])
        if self.overlay is not None:
            for name, curve in self.overlay.curves.items():
                where = self.plot_index_for(name)
                if where is not None and curve.isVisible():
                    widen(where, *curve.getData())
        changed = False
        for idx, (lo, hi) in bounds.items():
            held = self._y_ranges.get(idx)
            if held is not None and holds(held, lo, hi):
                continue
            rng = (lo - Y_HEADROOM * (hi - lo), hi + Y_HEADROOM * (hi - lo))
            if held != rng:
                self._y_ranges[idx] = rng
                vb = self.plots[idx].getViewBox()
                vb.setYRange(rng[0], rng[1], padding=vb.suggestPadding(1))
                changed = True
        return changed

    def _mark_over_range(self) -> bool:
        """Title a plot in red while one of its channels' latest sample is flagged OVER_RANGE
        (within 2 % of the input range: probably clipped); True when a title changed."""
        display = self.history.display
        flags = display.flags if display is not None else {}
        per_plot: dict[int, list[str]] = {}
        for name, idx in self._curve_plot.items():
            if flags.get(name, 0) & SampleFlag.OVER_RANGE:
                per_plot.setdefault(idx, []).append(name)
        changed = False
        for i, p in enumerate(self.plots):
            text = ", ".join(per_plot.get(i, []))
            if text != self.over_range.get(i, ""):
                self.over_range[i] = text
                p.setTitle(f"<span style='color:#d62728'>⚠ over range: {text}</span>" if text else None)
                changed = True
        return changed

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
        self.scheduler.invalidate()

    def set_markers(self, markers: Sequence[tuple[float, str]]) -> None:
        """Annotation markers: (epoch seconds, note)."""
        self.markers.set(markers)
        self.scheduler.invalidate()

    def add_marker(self, t_s: float, text: str) -> None:
        self.markers.add(t_s, text)
        self.scheduler.invalidate()

    # -- cross-hair (plot_overlay.CrossHair) ---------------------------------------------------
    def hide_cursor(self) -> None:
        self.crosshair.hide()

    def values_at(self, x: float) -> dict[str, float]:
        """Each visible trace's value nearest to time ``x`` (what the cross-hair shows)."""
        return self.crosshair.values_at(x)

    def show_cursor(self, x: float) -> None:
        self.crosshair.show(x)
