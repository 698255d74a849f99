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
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF
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


class TimeAxis(pg.DateAxisItem):
    """The date axis of the lowest plot, cheaper to draw again at each scroll (module text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._zoom_density = math.nan
        self._strings: dict[tuple[float, float], str] = {}
        self._sizes: dict[tuple[str, str], QRectF] = {}
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
        return _opaque_ticks(super().generateDrawSpecs(measuring), _background())

    def setTickFont(self, font: Any) -> None:
        self._sizes.clear()
        self._zoom_density = math.nan
        super().setTickFont(font)


def grid_under_data(plot: pg.PlotItem) -> None:
    """Put the plot's axes, with their (opaque) grid, under the data: the traces cross the grid
    lines on top, as they showed through the semi-transparent grid before. The view box clips its
    items, so nothing of the data reaches the axes' own strips (labels, ticks)."""
    below = plot.getViewBox().zValue() - 1
    for name in ("left", "bottom"):
        plot.getAxis(name).setZValue(below)
