"""Axes of the live plots that cost less to draw at every scroll (issue 19).

The time axis of the lowest plot is drawn again at every frame of a scrolling window (its
range moved by one pixel column), with its grid lines across the plot. Measured offscreen with
the bench's 5 plots and 12 traces (``benchmarks/plot_frame.py``, load average 4–7): ~0.9 ms of
Python working out the same ticks and labels again (zoom level, label texts, their sizes) and
~0.6 ms replaying the picture, most of it the semi-transparent grid lines — Qt's raster engine
blends a line with alpha through its thread pool, ~10× the cost of an opaque line of the same
length (0.59 vs 0.06 ms for the axis's 11 lines into a pixmap), more when the other core is busy.

So, without changing what is drawn:

- :class:`TimeAxis` remembers what does not change while the window only scrolls: the zoom level
  for a density (seconds per pixel), each tick's label text and each text's size. The ticks, their
  positions and which labels fit are still worked out by pyqtgraph at every frame.
- both axis classes draw their grid lines in the opaque colour that the semi-transparent grid
  has over the plot background (white), and the plots put their axes under the data
  (:func:`grid_under_data`), so a trace crossing a grid line is drawn over it, not tinted by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
from pyqtgraph import Point
from pyqtgraph.graphicsItems.DateAxisItem import HOUR_SPACING
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

_MEMO_LIMIT = 4096  # texts and sizes remembered; cleared beyond (a day at 1 s ticks is 86,400)


def _over(color: QColor, background: QColor) -> QColor:
    """``color`` (with alpha) as painted over an opaque ``background``: an opaque colour."""
    a = color.alpha() / 255.0
    return QColor(
        round(color.red() * a + background.red() * (1 - a)),
        round(color.green() * a + background.green() * (1 - a)),
        round(color.blue() * a + background.blue() * (1 - a)),
    )


def _opaque_ticks(specs: Any, background: QColor) -> Any:
    """pyqtgraph's draw specs with every semi-transparent tick/grid pen made opaque."""
    if specs is None:
        return None
    axis_spec, tick_specs, text_specs = specs
    pens: dict[int, QPen] = {}
    out = []
    for pen, p1, p2 in tick_specs:
        if pen.color().alpha() < 255:
            opaque = pens.get(id(pen))
            if opaque is None:
                opaque = pens[id(pen)] = QPen(pen)
                opaque.setColor(_over(pen.color(), background))
            pen = opaque
        out.append((pen, p1, p2))
    return axis_spec, out, text_specs


def _background() -> QColor:
    return QColor(pg.mkColor(pg.getConfigOption("background")))


class ValueAxis(pg.AxisItem):
    """A y axis whose grid lines are opaque (see the module text)."""

    def generateDrawSpecs(self, p: QPainter) -> Any:
        return _opaque_ticks(super().generateDrawSpecs(p), _background())


class _MeasuringPainter:
    """The two calls pyqtgraph's ``generateDrawSpecs`` makes on its painter, the size of a text
    remembered (the size of "12:34:56" does not change while the window scrolls)."""

    def __init__(self, painter: QPainter, sizes: dict[tuple[str, str], QRectF]) -> None:
        self._painter = painter
        self._sizes = sizes
        self._font_key = painter.font().key()

    def setFont(self, font: Any) -> None:
        self._painter.setFont(font)
        self._font_key = self._painter.font().key()

    def fontMetrics(self) -> Any:
        return self._painter.fontMetrics()

    def boundingRect(self, rect: QRectF, flags: Any, text: str) -> QRectF:
        key = (self._font_key, text)
        known = self._sizes.get(key)
        if known is None:
            if len(self._sizes) > _MEMO_LIMIT:
                self._sizes.clear()
            known = self._sizes[key] = self._painter.boundingRect(rect, flags, text)
        return QRectF(known)  # pyqtgraph changes the rect it gets


@dataclass
class _Drawn:
    """What the time axis drew last by pyqtgraph's own code, to scroll it (see :class:`TimeAxis`)."""

    key: tuple[object, ...]  # geometry, pens, style: all that fixes the picture but the range
    level: Any  # pyqtgraph's zoom level (a ZoomLevel)
    length_px: float  # the axis's length in device pixels
    values: list[float]  # the tick values (one level)
    pen: QPen  # the ticks' pen as pyqtgraph made it (alpha from the tick count)
    axis_spec: Any
    strings: list[str]


class TimeAxis(pg.DateAxisItem):
    """The date axis of the lowest plot, cheaper to draw again at each scroll (module text).

    While the window only scrolls, with the same ticks in view, :meth:`generateDrawSpecs` moves
    the ticks and labels pyqtgraph worked out last instead of working them out again (~6 % of the
    GUI thread's busy time in py-spy, at every frame of the 5-minute window). It does so for zoom
    levels of one tick kind between a second and an hour apart (the 5-minute window's: seconds,
    every 30 s), where the ticks are whole multiples of their step; pyqtgraph's code draws every
    other case, and every frame where a tick came into view or left it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._zoom_density = math.nan
        self._strings: dict[tuple[float, float], str] = {}
        self._sizes: dict[tuple[str, str], QRectF] = {}
        self._drawn: _Drawn | None = None
        self._last_levels: list[tuple[float, list[float]]] | None = None
        self.scrolled_frames = 0  # frames drawn by moving the last ticks (tests, benchmarks)
        super().__init__(*args, **kwargs)

    def setZoomLevelForDensity(self, density: float) -> None:
        # the zoom level follows the density (seconds per pixel), which a scrolling window keeps
        # but for rounding: a change below 1e-9 keeps the level (inference: the levels' bounds
        # are whole multiples of a second per tick width, never that close to the density)
        if math.isclose(density, self._zoom_density, rel_tol=1e-9):
            return
        self._strings.clear()  # a new level formats its ticks differently
        super().setZoomLevelForDensity(density)
        self._zoom_density = density

    def tickValues(self, minVal: float, maxVal: float, size: float) -> Any:
        levels = super().tickValues(minVal, maxVal, size)
        self._last_levels = levels
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        missing = [v for v in values if (spacing, v) not in self._strings]
        if missing:
            if len(self._strings) > _MEMO_LIMIT:
                self._strings.clear()
            for v, s in zip(missing, super().tickStrings(missing, scale, spacing), strict=True):
                self._strings[(spacing, v)] = s
        return [self._strings[(spacing, v)] for v in values]

    def generateDrawSpecs(self, p: QPainter) -> Any:
        measuring: Any = _MeasuringPainter(p, self._sizes)
        specs = self._scrolled(measuring)
        if specs is None:
            self._last_levels = None
            specs = super().generateDrawSpecs(measuring)
            self._remember(specs)
        else:
            self.scrolled_frames += 1
        return _opaque_ticks(specs, _background())

    def setTickFont(self, font: Any) -> None:
        self._sizes.clear()
        self._zoom_density = math.nan
        self._drawn = None
        super().setTickFont(font)

    # -- the scrolled frame ----------------------------------------------------------------------
    def _key(self) -> tuple[object, ...] | None:
        """All that fixes the picture but the range; None where only pyqtgraph's code draws."""
        view = self.linkedView()
        widget = self.getViewWidget()
        if self.orientation != "bottom" or view is None or widget is None or self._tickLevels is not None:
            return None
        if (
            any(self.style["stopAxisAtTick"])
            or not self.style["showValues"]
            or self.style["maxTextLevel"] < 0
        ):
            return None
        bounds = self.mapRectFromParent(self.geometry())
        tick_bounds = bounds if self.grid is False else view.mapRectToItem(self, view.boundingRect())
        font = self.style["tickFont"]
        return (
            bounds.getRect(),
            tick_bounds.getRect(),
            self.sceneTransform(),
            widget.viewportTransform(),
            self.tickPen(),
            self.grid,
            self.style["tickLength"],
            self.style["tickTextOffset"][1],
            font.key() if font is not None else None,
        )

    def _remember(self, specs: Any) -> None:
        """Keep what pyqtgraph's code drew, if a scroll can move it: one tick level of whole
        seconds under an hour, every tick drawn."""
        self._drawn = None
        levels, key = self._last_levels, self._key()
        if specs is None or levels is None or key is None or len(levels) != 1:
            return
        spacing, values = levels[0]
        tick_specs = specs[1]
        if not (1 <= spacing < HOUR_SPACING) or not values or len(tick_specs) != len(values):
            return
        points = [self.mapToDevice(pt) for pt in specs[0][1:]]
        if None in points:
            return
        length = Point(points[1] - points[0]).length()  # as pyqtgraph measures it
        strings = [self._strings.get((spacing, v)) for v in values]
        if any(s is None for s in strings):
            return
        self._drawn = _Drawn(key, self.zoomLevel, length, list(values), tick_specs[0][0], specs[0], strings)  # type: ignore[arg-type]

    def _scrolled(self, p: Any) -> Any:
        """pyqtgraph's draw specs for the present range, made by moving the last ones (same
        ticks in view), or None: then pyqtgraph's code works them out."""
        drawn = self._drawn
        if drawn is None or self._key() != drawn.key:
            return None
        lo, hi = self.range
        dif = hi - lo
        if dif <= 0:
            return None
        self.setZoomLevelForDensity(dif / drawn.length_px)  # as pyqtgraph's tickValues does
        specs = self.zoomLevel.tickSpecs
        if self.zoomLevel is not drawn.level or len(specs) != 1:
            return None
        ticks, _ = specs[0].makeTicks(lo, hi, self.minSpacing)  # what its tickValues would give
        values = ticks.tolist()
        if values != drawn.values:
            return None  # a tick came into view or left it
        # from here as AxisItem.generateDrawSpecs computes a bottom axis (pyqtgraph 0.14)
        bounds_rect, tick_rect = drawn.key[0], drawn.key[1]
        width = bounds_rect[2]  # type: ignore[index]
        tick_start, tick_stop = tick_rect[1], bounds_rect[1]  # type: ignore[index]
        x_scale = width / dif
        offset = lo * x_scale
        x_min, x_max = sorted((lo * x_scale - offset, hi * x_scale - offset))
        tick_end = tick_stop if self.grid is not False else tick_stop + self.style["tickLength"]
        tick_specs = []
        positions = []
        for v in values:
            x = v * x_scale - offset
            if x < x_min or x > x_max:
                return None
            positions.append(x)
            tick_specs.append((drawn.pen, Point(x, tick_start), Point(x, tick_end)))
        font = self.style["tickFont"]
        if font is not None:
            p.setFont(font)
        text_offset = max(0, self.style["tickLength"]) + self.style["tickTextOffset"][1]
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextDontClip
        br = self.boundingRect()
        text_specs = []
        tallest = 0.0
        for x, text in zip(positions, drawn.strings, strict=True):
            size = p.boundingRect(QRectF(0, 0, 100, 100), Qt.AlignmentFlag.AlignCenter, text)
            w, h = size.width(), size.height() * 0.8
            tallest = max(tallest, h)
            rect = QRectF(x - w / 2.0, tick_stop + text_offset, w, h)
            if br & rect != rect:
                continue
            text_specs.append((rect, flags, text))
        self._updateMaxTextSize(tallest)
        return drawn.axis_spec, tick_specs, text_specs


def grid_under_data(plot: pg.PlotItem) -> None:
    """Put the plot's axes, with their (opaque) grid, under the data: the traces cross the grid
    lines on top, as they showed through the semi-transparent grid before. The view box clips its
    items, so nothing of the data reaches the axes' own strips (labels, ticks)."""
    below = plot.getViewBox().zValue() - 1
    for name in ("left", "bottom"):
        plot.getAxis(name).setZValue(below)
