"""Extras for the stacked plots: a second session overlaid for comparison, annotation markers.

:class:`SessionOverlay` draws another stored session's traces dashed on the same axes, shifted
by ``offset_s`` so both sessions start at the same place; it reads through its own
:class:`~benchgui.core.history.History` (min/max per pixel column from the store, in a
background thread), like the session viewer. :class:`MarkerSet` draws operator annotations as
vertical lines through every plot, with the note written in the top one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem

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
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._plots = list(plots)
        per_plot: dict[int, int] = {}
        for ch in channels:
            idx = plot_index_for(ch.name)
            if idx is None:
                continue
            n = per_plot.get(idx, 0)
            per_plot[idx] = n + 1
            color = (*color_for(ch, n), OVERLAY_ALPHA)
            curve = self._plots[idx].plot(
                name=f"{label}: {ch.label or ch.name}",
                pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine),
                connect="finite",
            )
            self.curves[ch.name] = curve  # already reduced to pixel columns by History
            cache_legend_text(self._plots[idx])

    def redraw(self, t0: float, t1: float, columns: int) -> None:
        """Draw [t0, t1] of the primary axis: the overlay's [t0 - offset, t1 - offset]."""
        for name, curve in self.curves.items():
            t, v = self.history.series(name, t0 - self.offset_s, t1 - self.offset_s, columns)
            if len(t):
                curve.setData(np.asarray(t) + self.offset_s, v, connect="finite")
            else:
                curve.setData([], [])

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
