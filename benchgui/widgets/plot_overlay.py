"""Extras for the stacked plots: the cross-hair, a second session overlaid for comparison,
annotation markers.

:class:`CrossHair` draws a vertical line through every plot at the mouse and a readout of every
trace at that time, by its label with its unit (``Battery current (labjack): -3.000 A``, never
``-0.000``); the readout stays inside the plot the mouse is in (it flips to the left of the line
near the right edge) and hides when the mouse leaves the plots.

:class:`SessionOverlay` draws another stored session's traces dashed on the same axes, shifted
by ``offset_s`` so both sessions start at the same place; it reads through its own
:class:`~benchgui.core.history.History` (min/max per pixel column from the store, in a
background thread), like the session viewer. :class:`MarkerSet` draws operator annotations as
vertical lines through every plot, with the note written in the top one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsItem, QWidget

from benchgui.core.history import History
from benchgui.model import Channel

OVERLAY_ALPHA = 150
MARKER_COLOR = (190, 110, 0)


def cache_legend_text(plot: pg.PlotItem) -> None:
    """Paint legend entries from pixmaps: laying their text out again costs every frame."""
    if plot.legend is not None:
        for sample, label in plot.legend.items:
            sample.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            label.item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def bare_curve(name: str, pen: QPen) -> pg.PlotCurveItem:
    """A trace as a bare ``PlotCurveItem``, not a ``PlotDataItem``: History already hands over
    at most two finite-or-gap points per pixel column of exactly the visible window, so the data
    item's machinery (clipping, downsampling, log/FFT modes, a second set of arrays, its signals)
    only costs Python at every ``setData`` (measured ~0.1 ms per trace and frame, issue 19).
    NaN marks a gap (:func:`hand_over` says where to look for them); pyqtgraph's own finite
    check of every point is skipped."""
    return BareCurve(name=name, pen=pen, connect="finite", skipFiniteCheck=True)


class BareCurve(pg.PlotCurveItem):
    """A trace whose bounding rect is its data's, without pyqtgraph's room for the pen.

    pyqtgraph widens the rect by the pen's width in pixels, which it works out through the item's
    device transform after every change of the view, i.e. at every scrolled frame (~7 % of the
    GUI's CPU in py-spy, 12 traces). The room is not needed here: the live view repaints its
    whole viewport each frame (``FullViewportUpdate``) and Qt does not clip an item's painting to
    its bounding rect. A flat trace keeps a rect of non-zero height, so that no culling of empty
    rects can hide it (Qt 6.11 paints it even with a zero-height rect; that is not promised)."""

    def pixelPadding(self) -> float:
        return 0.0

    def boundingRect(self) -> QRectF:
        if self._boundingRect is None:  # type: ignore[has-type]
            bounds = _finite_bounds(self.xData, self.yData)
            if bounds is None:
                return QRectF()
            x0, x1, y0, y1 = bounds
            dx = (x1 - x0) * 1e-6 or max(abs(x0), 1.0) * 1e-9
            dy = (y1 - y0) * 1e-6 or max(abs(y0), 1.0) * 1e-9
            self._boundingRect = QRectF(x0 - dx, y0 - dy, x1 - x0 + 2 * dx, y1 - y0 + 2 * dy)
        return self._boundingRect  # type: ignore[has-type]  # pyqtgraph's cache, untyped


def _finite_bounds(x: np.ndarray | None, y: np.ndarray | None) -> tuple[float, float, float, float] | None:
    """(x0, x1, y0, y1) of the finite points, or None when there are none. The scene asks for a
    trace's rect after every ``setData``; pyqtgraph's ``dataBounds`` works it out per axis inside
    a ``warnings.catch_warnings`` block, ~8 % of the GUI thread's busy time in py-spy (issue 19).
    ``fmin``/``fmax`` skip NaN (a gap) without a warning; an infinity falls back to a mask."""
    if x is None or y is None or len(x) == 0 or len(y) == 0:
        return None
    out = []
    for d in (x, y):
        lo, hi = float(np.fmin.reduce(d)), float(np.fmax.reduce(d))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            d = d[np.isfinite(d)]
            if len(d) == 0:
                return None
            lo, hi = float(d.min()), float(d.max())
        out += [lo, hi]
    return out[0], out[1], out[2], out[3]


def hand_over(curve: pg.PlotCurveItem, t: np.ndarray, v: np.ndarray) -> None:
    """Give ``curve`` its points. Only a trace with a gap (a value that is not finite: NaN marks
    a gap; the time stamps always are finite) is drawn in pieces between the gaps
    (``connect="finite"``, which splits the arrays in Python even when there is nothing to split:
    14 % of the paint's py-spy samples); the rest as one line (``connect="all"``): measured
    0.083 → 0.070 ms per trace painted."""
    gaps = not bool(np.isfinite(v).all())
    curve.setData(t, v, connect="finite" if gaps else "all")


def value_text(value: float, unit: str) -> str:
    """``-0.00001 A`` → ``0.000 A``: a rounded zero has no sign."""
    decimals = 3 if abs(value) < 100 else 1
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return f"{text} {unit}".rstrip()


class CrossHair(QObject):
    """The cross-hair of a stack of plots (see the module text)."""

    def __init__(
        self,
        view: QWidget,
        plots: Sequence[pg.PlotItem],
        curves: Mapping[str, pg.PlotCurveItem],
        channels: Mapping[str, Channel],
    ) -> None:
        super().__init__(view)
        self._plots = list(plots)
        self._curves = curves
        self._channels = channels
        self.lines: list[pg.InfiniteLine] = []
        pen = pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine)
        for p in self._plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            line.setVisible(False)
            p.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        self.readout = pg.TextItem(anchor=(0, 0), color=(30, 30, 30), fill=pg.mkBrush(255, 255, 255, 220))
        self.readout.setZValue(100)
        self.readout.setVisible(False)
        self._host: pg.PlotItem | None = None
        view.installEventFilter(self)  # the mouse leaving the plots hides it
        viewport = getattr(view, "viewport", None)
        if callable(viewport):
            viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.hide()
        return False

    def mouse_moved(self, pos: QPointF) -> None:
        for p in self._plots:
            if p.getViewBox().sceneBoundingRect().contains(pos):
                self.show(p.getViewBox().mapSceneToView(pos).x(), p)
                return
        self.hide()

    def hide(self) -> None:
        for line in self.lines:
            line.setVisible(False)
        self.readout.setVisible(False)

    def values_at(self, x: float) -> dict[str, float]:
        """Each visible trace's value nearest to time ``x``."""
        out = {}
        for name, curve in self._curves.items():
            t, v = curve.getData()
            if t is None or len(t) == 0:
                continue
            i = int(np.clip(np.searchsorted(t, x), 1, len(t) - 1)) if len(t) > 1 else 0
            j = i if i == 0 or abs(t[i] - x) < abs(t[i - 1] - x) else i - 1
            if np.isfinite(v[j]):
                out[name] = float(v[j])
        return out

    def text_at(self, x: float) -> str:
        lines = [time.strftime("%H:%M:%S", time.localtime(x))]
        for name, value in self.values_at(x).items():
            ch = self._channels.get(name)
            label, unit = (ch.label or name, ch.unit) if ch is not None else (name, "")
            lines.append(f"{label}: {value_text(value, unit)}")
        return "\n".join(lines)

    def show(self, x: float, where: pg.PlotItem | None = None) -> None:
        plot: pg.PlotItem = where if where is not None else self._plots[0]
        for line in self.lines:
            line.setPos(x)
            line.setVisible(True)
        if self._host is not plot:  # the readout lives in the plot the mouse is in
            if self._host is not None:
                self._host.removeItem(self.readout)
            plot.addItem(self.readout, ignoreBounds=True)
            self._host = plot
        self.readout.setText(self.text_at(x))
        (x0, x1), (_, y1) = plot.getViewBox().viewRange()
        right_half = x > (x0 + x1) / 2  # near the right edge it opens to the left of the line
        self.readout.setAnchor((1, 0) if right_half else (0, 0))
        self.readout.setPos(x, y1)
        self.readout.setVisible(True)


class SessionOverlay:
    def __init__(
        self,
        plots: Sequence[pg.PlotItem],
        plot_index_for: Callable[[str], int | None],
        color_for: Callable[[Channel, int], tuple[int, int, int]],
        history: History,
        channels: Sequence[Channel],
        offset_s: float,
        label: str,
    ) -> None:
        self.history = history
        self.offset_s = offset_s
        self.label = label
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self._plots = list(plots)
        per_plot: dict[int, int] = {}
        for ch in channels:
            idx = plot_index_for(ch.name)
            if idx is None:
                continue
            n = per_plot.get(idx, 0)
            per_plot[idx] = n + 1
            color = (*color_for(ch, n), OVERLAY_ALPHA)
            curve = bare_curve(
                f"{label}: {ch.label or ch.name}", pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine)
            )
            self._plots[idx].addItem(curve)
            self.curves[ch.name] = curve  # already reduced to pixel columns by History
            cache_legend_text(self._plots[idx])

    def redraw(self, t0: float, t1: float, columns: int) -> None:
        """Draw [t0, t1] of the primary axis: the overlay's [t0 - offset, t1 - offset]."""
        for name, curve in self.curves.items():
            t, v = self.history.series(name, t0 - self.offset_s, t1 - self.offset_s, columns)
            hand_over(curve, np.asarray(t, dtype=float) + self.offset_s, np.asarray(v, dtype=float))

    def remove(self) -> None:
        for curve in self.curves.values():
            for p in self._plots:
                if curve in p.listDataItems():
                    p.removeItem(curve)
                    if p.legend is not None:
                        p.legend.removeItem(curve)
        self.curves.clear()
        self.history.close()


class MarkerSet:
    def __init__(self, plots: Sequence[pg.PlotItem]) -> None:
        self._plots = list(plots)
        self.items: list[tuple[float, str]] = []
        self._lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []

    def add(self, t_s: float, text: str) -> None:
        self.items.append((t_s, text))
        pen = pg.mkPen(MARKER_COLOR, width=1, style=Qt.PenStyle.DashDotLine)
        for i, p in enumerate(self._plots):
            opts = {}
            if i == 0:
                opts = {
                    "label": text,
                    "labelOpts": {
                        "position": 0.92,
                        "color": MARKER_COLOR,
                        "fill": pg.mkBrush(255, 255, 255, 200),
                        "anchors": [(0, 0), (0, 0)],
                    },
                }
            line = pg.InfiniteLine(pos=t_s, angle=90, movable=False, pen=pen, **opts)
            line.setToolTip(text)
            line.setZValue(50)
            p.addItem(line, ignoreBounds=True)
            self._lines.append((p, line))

    def set(self, markers: Sequence[tuple[float, str]]) -> None:
        self.clear()
        for t_s, text in markers:
            self.add(t_s, text)

    def clear(self) -> None:
        for p, line in self._lines:
            p.removeItem(line)
        self._lines.clear()
        self.items.clear()
