"""The verification view's three plots: device vs reference, error over time, error histogram.

Draws one :class:`~benchgui.verify.analysis.ComparisonResult` (computed by the core service; no
arithmetic beyond a histogram happens here). Points are coloured by operating region, as in the
HTML report. Each plot exports as SVG, PNG and CSV through pyqtgraph's exporters (also from the
right-click menu), for a thesis or a paper.

What is drawn is bounded (issue 19): a stored 20-h session holds ~144 k aligned pairs, more points
than the plots have pixels. The scatter and the error-over-time plot keep one pair per cell of a
grid about as fine as the screen (:func:`thin`), per region, so outliers and the envelope stay
while the point count does not grow with the session; the histogram, the ideal and fit lines and
every statistic use all pairs. The CSV export writes every pair, not the thinned ones.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as pg_exporters
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from benchgui.verify import regions as rg
from benchgui.verify.analysis import ComparisonResult
from benchgui.widgets import pg_compat

REGION_COLORS = {
    rg.REST: (127, 127, 127),
    rg.ZERO: (188, 189, 34),
    rg.CHARGE: (44, 160, 44),
    rg.DISCHARGE: (214, 39, 40),
    rg.UNKNOWN: (31, 119, 180),
}
ORDER = (rg.REST, rg.ZERO, rg.CHARGE, rg.DISCHARGE, rg.UNKNOWN)
EXPORT_FORMATS = ("svg", "png", "csv")
GRID = (640, 400)  # cells of the thinning grid (x, y): about the pixels of a plot on a full screen
MAX_DRAWN = 4000  # points per plot at most: a coarser grid when the data still fill more cells

pg.setConfigOptions(antialias=False, background="w", foreground="k")  # as the live plots
pg_compat.install()  # SVG export with Qt >= 6.10


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def thin(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, grid: tuple[int, int] = GRID, limit: int = MAX_DRAWN
) -> np.ndarray:
    """Indices of the points to draw: the first pair of each occupied (group, cell) of a
    ``grid`` over the data's range, halving the grid until at most ``limit`` remain.

    Every occupied cell keeps a real pair (not a cell centre), so the shape, the spread and the
    outliers look as with all points at screen resolution; order is kept (time stays sorted).
    """
    n = len(x)
    if n <= limit:
        return np.arange(n)
    xf, yf = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    _, g = np.unique(groups, return_inverse=True)
    x0, y0 = float(np.min(xf)), float(np.min(yf))
    xs, ys = float(np.ptp(xf)) or 1.0, float(np.ptp(yf)) or 1.0
    cols, rows = grid
    while True:
        cx = np.minimum((xf - x0) * (cols / xs), cols - 1).astype(np.int64)
        cy = np.minimum((yf - y0) * (rows / ys), rows - 1).astype(np.int64)
        _, first = np.unique((g.astype(np.int64) * rows + cy) * cols + cx, return_index=True)
        if len(first) <= limit or (cols <= 2 and rows <= 2):
            return np.sort(first)
        cols, rows = max(cols // 2, 2), max(rows // 2, 2)


class VerifyPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: ComparisonResult | None = None
        self.drawn_scatter = self.drawn_residual = 0  # points handed to the plots (all regions)
        self.draws = 0  # comparisons drawn (a redraw costs; the view asks only when needed)
        self._setup_ui()

    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget()
        layout.addWidget(self.view)
        self.scatter = self.view.addPlot(row=0, col=0, rowspan=2)
        self.scatter.showGrid(x=True, y=True, alpha=0.25)
        self.scatter.addLegend(offset=(5, 5), labelTextSize="8pt")
        axis = pg.DateAxisItem(orientation="bottom", utcOffset=-time.localtime().tm_gmtoff)
        self.residual = self.view.addPlot(row=0, col=1, axisItems={"bottom": axis})
        self.residual.showGrid(x=True, y=True, alpha=0.25)
        self.histogram = self.view.addPlot(row=1, col=1)
        self.histogram.showGrid(x=True, y=True, alpha=0.25)
        self.histogram.setLabel("left", "pairs")
        self.scatter_items: dict[str, pg.PlotDataItem] = {}
        self.residual_items: dict[str, pg.PlotDataItem] = {}
        for region in ORDER:
            color = REGION_COLORS[region]
            common = {"pen": None, "symbol": "o", "symbolSize": 3, "symbolPen": None, "symbolBrush": color}
            self.scatter_items[region] = self.scatter.plot([], [], name=region, **common)
            self.residual_items[region] = self.residual.plot([], [], **common)
        self.ideal = self.scatter.plot(
            [], [], name="ideal", pen=pg.mkPen((80, 80, 80), width=1.5, style=Qt.PenStyle.DashLine)
        )
        self.fit = self.scatter.plot([], [], name="fit", pen=pg.mkPen((255, 127, 14), width=2))
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine))
        self.residual.addItem(self.zero, ignoreBounds=True)
        self.bars = self.histogram.plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=(31, 119, 180, 160), pen=(31, 119, 180)
        )

    def plots(self) -> dict[str, pg.PlotItem]:
        return {"scatter": self.scatter, "residual": self.residual, "histogram": self.histogram}

    def clear(self) -> None:
        self.comparison = None
        self.drawn_scatter = self.drawn_residual = 0
        for item in (*self.scatter_items.values(), *self.residual_items.values(), self.ideal, self.fit):
            item.setData([], [])
        self.bars.setData([0, 1], [0])

    def show_comparison(self, c: ComparisonResult | None) -> None:
        if c is None:
            self.clear()
            return
        self.comparison = c
        self.draws += 1
        a = c.aligned
        u = c.unit
        self.scatter.setTitle(f"{c.device} vs {c.reference}")
        self.scatter.setLabel("bottom", c.reference_channel, units=u)
        self.scatter.setLabel("left", c.device_channel, units=u)
        self.residual.setTitle(f"error {c.device} − {c.reference}")
        self.residual.setLabel("left", "error", units=u)
        self.histogram.setLabel("bottom", "error", units=u)
        self._draw_points(c, full=False)
        if len(a):
            lo, hi = float(np.min(a.ref)), float(np.max(a.ref))
            self.ideal.setData([lo, hi], [lo, hi])
            line = c.fit_line()
            if line is not None:
                self.fit.setData([lo, hi], [line[0] * lo + line[1], line[0] * hi + line[1]])
            else:
                self.fit.setData([], [])
            err = a.error
            span = float(np.ptp(err)) or 1e-6
            counts, edges = np.histogram(err, bins=60, range=(float(err.min()), float(err.min()) + span))
            self.bars.setData(edges, counts)
        else:
            self.ideal.setData([], [])
            self.fit.setData([], [])
            self.bars.setData([0, 1], [0])
        for p in self.plots().values():
            p.enableAutoRange()

    def _draw_points(self, c: ComparisonResult, full: bool) -> None:
        """Hand the scatter and error plots their points: thinned (:func:`thin`), or all pairs."""
        a = c.aligned
        keep_s = slice(None) if full else thin(a.ref, a.dev, c.labels)
        keep_r = slice(None) if full else thin(a.t, a.error, c.labels)
        labels_s, labels_r = c.labels[keep_s], c.labels[keep_r]
        ref, dev, t, err = a.ref[keep_s], a.dev[keep_s], a.t[keep_r], a.error[keep_r]
        for region in ORDER:
            ms, mr = labels_s == region, labels_r == region
            self.scatter_items[region].setData(ref[ms], dev[ms])
            self.residual_items[region].setData(t[mr], err[mr])
        self.drawn_scatter = len(ref)
        self.drawn_residual = len(t)

    def export(self, directory: str | Path, stem: str = "") -> list[Path]:
        """Write every plot as SVG, PNG and CSV into ``directory``; returns the files written."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        c = self.comparison
        stem = stem or (
            _safe(f"{c.device}-vs-{c.reference}-{c.quantity}") if c is not None else "verification"
        )
        written = []
        for name, plot in self.plots().items():
            for fmt in EXPORT_FORMATS:
                path = d / f"{stem}-{name}.{fmt}"
                if fmt == "svg":
                    exporter: pg_exporters.Exporter = pg_exporters.SVGExporter(plot)
                elif fmt == "png":
                    exporter = pg_exporters.ImageExporter(plot)
                    exporter.parameters()["width"] = 1200
                else:
                    exporter = pg_exporters.CSVExporter(plot)
                if fmt == "csv" and c is not None and name != "histogram":
                    self._draw_points(c, full=True)  # the numbers: every pair, as the report
                    try:
                        exporter.export(str(path))
                    finally:
                        self._draw_points(c, full=False)
                else:
                    exporter.export(str(path))
                written.append(path)
        return written
