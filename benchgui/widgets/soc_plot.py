"""A PNG of a SOC replay: the estimate with its ±3σ band against the comparison channels.

Used by ``benchgui soc replay … --plot PNG`` (the only place the CLI touches Qt, and only when
asked): pyqtgraph renders offscreen and exports the scene. Epoch times get a date axis, run
times (seconds from the start of a CSV) a plain one in hours.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from benchgui.soc.replay import ReplayResult

COLORS = {
    "soc.mppt": (214, 39, 40),
    "soc.spkf": (255, 127, 14),
    "soc.coulomb": (44, 160, 44),
}


def render_replay_png(
    path: Path,
    result: ReplayResult,
    compare: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    title: str = "SOC replay",
    size: tuple[int, int] = (1200, 600),
) -> None:
    """Write the plot to ``path`` (creates a QApplication offscreen if none exists)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 - must live while rendering
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    epoch = bool(len(result.t_s)) and float(result.t_s[0]) > 1e9
    scale = 1.0 if epoch else 1 / 3600.0
    view = pg.GraphicsLayoutWidget()
    view.resize(*size)
    axis = {"bottom": pg.DateAxisItem(orientation="bottom")} if epoch else {}
    plot = view.addPlot(axisItems=axis, title=title)
    plot.setLabel("left", "SOC", units="%")
    if not epoch:
        plot.setLabel("bottom", "time", units="h")
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.addLegend(offset=(10, 10))
    t = result.t_s * scale
    soc = 100 * result.soc
    band = 300 * result.soc_sigma
    hi = plot.plot(t, soc + band, pen=pg.mkPen((148, 103, 189, 80)))
    lo = plot.plot(t, soc - band, pen=pg.mkPen((148, 103, 189, 80)))
    plot.addItem(pg.FillBetweenItem(hi, lo, brush=pg.mkBrush(148, 103, 189, 50)))
    plot.plot(t, soc, pen=pg.mkPen((148, 103, 189), width=2), name="SPKF replay (±3σ band)")
    plot.plot(
        t,
        100 * result.coulomb,
        pen=pg.mkPen((44, 160, 44), width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
        name="coulomb counting (replay)",
    )
    extra = [(214, 39, 40), (255, 127, 14), (31, 119, 180), (127, 127, 127)]
    for k, (name, (tc, vc)) in enumerate((compare or {}).items()):
        color = COLORS.get(name.split(" ")[0], extra[k % len(extra)])
        plot.plot(np.asarray(tc) * scale, vc, pen=pg.mkPen(color, width=1.5), name=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter = ImageExporter(plot)
    exporter.parameters()["width"] = size[0]
    exporter.export(str(path))
    view.close()
