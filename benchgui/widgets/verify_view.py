"""The verification view: how far the MPPT's and the load's readings are from the LabJack.

Shows what the core service ``bench.services.verify`` computes — live for the running session
(refreshed by the service every ``verify.live_interval_s``), or for any stored or imported session
picked in the list (the service loads it on its worker thread). A statistics table with cells
green or red against the configured tolerances, the per-region table of the selected comparison,
and three plots (:mod:`benchgui.widgets.verify_plots`). "Report…" asks the service to write the
same HTML/JSON report as ``benchgui verify``; "Export plots…" writes SVG/PNG/CSV of the plots.

What it costs (issue 19): the service recomputes the live statistics only while this view is
shown (hidden behind a tab nobody reads them), and the plots are redrawn only when the shown
comparison changed and the view is visible — a result arriving while hidden is drawn on show.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from benchgui.clock import ns_to_s
from benchgui.core.bench import Bench
from benchgui.core.verification import LIVE, Verification, VerificationService
from benchgui.errors import BenchError
from benchgui.verify.analysis import FAIL, PASS, ComparisonResult
from benchgui.verify.report import BAD, OK, UNCHECKED, UNDETERMINED, pm, summary_rows
from benchgui.verify.stats import ErrorStats
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.host import ViewHost
from benchgui.widgets.text import hms
from benchgui.widgets.verify_plots import VerifyPlots

GREEN, RED, GREY = QColor(216, 240, 216), QColor(246, 208, 208), QColor(232, 232, 232)
STATE_COLORS = {OK: GREEN, BAD: RED, UNDETERMINED: GREY}
SUMMARY_COLUMNS = (
    ("device", "Device"),
    ("reference", "Reference"),
    ("n", "Pairs"),
    ("offset", "Offset"),
    ("gain_error_pct", "Gain error %"),
    ("rms", "RMS"),
    ("max_abs", "Max |error|"),
    ("noise", "Noise"),
    ("series_r", "R (mΩ)"),
    ("verdict", "Verdict"),
)
REGION_COLUMNS = (
    "Pairs",
    "Mean ref",
    "Mean device",
    "Mean error",
    "Gain (fit)",
    "Gain here",
    "RMS",
    "Max",
    "Noise",
)


def _f(x: float, digits: int = 4) -> str:
    return "–" if not math.isfinite(x) else f"{x:.{digits}f}"


class VerifyView(QWidget):
    def __init__(self, service: VerificationService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.current: Verification | None = None
        self.shown_origin = LIVE
        self.bridge = Bridge(self)  # the service's signals fire on its worker thread
        self.bridge.listen(service.result_ready, self.on_result)
        self.bridge.listen(service.report_written, self._report_done)
        self._setup_ui()
        latest = service.latest.get(LIVE)
        if latest is not None:
            self.on_result(latest)

    # -- layout ----------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.source_combo = QComboBox()
        self.source_combo.addItem("Live (running session)", LIVE)
        self.source_combo.setMinimumContentsLength(28)
        self.reload_button = QPushButton("Refresh")
        self.report_button = QPushButton("Report…")
        self.export_button = QPushButton("Export plots…")
        self.comparison_combo = QComboBox()
        self.comparison_combo.setMinimumContentsLength(36)
        bar.addWidget(QLabel("Session:"))
        bar.addWidget(self.source_combo, 1)
        bar.addWidget(self.reload_button)
        bar.addWidget(QLabel("Plot:"))
        bar.addWidget(self.comparison_combo, 1)
        bar.addWidget(self.report_button)
        bar.addWidget(self.export_button)
        layout.addLayout(bar)
        self.status = QLabel("waiting for data…")
        self.status.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.table.setHorizontalHeaderLabels([h for _, h in SUMMARY_COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.regions = QTableWidget(0, len(REGION_COLUMNS))
        self.regions.setHorizontalHeaderLabels(list(REGION_COLUMNS))
        self.regions.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._plots: VerifyPlots | None = None  # built when first shown or asked for (see plots)
        self._split = split
        split.addWidget(self.table)
        split.addWidget(QWidget())  # where the plots go
        split.addWidget(self.regions)
        split.setSizes([170, 600, 220])
        layout.addWidget(split, 1)
        self.reload_button.clicked.connect(self.refresh)
        self.source_combo.activated.connect(self._source_chosen)
        self.comparison_combo.currentIndexChanged.connect(self._comparison_chosen)
        self.table.currentCellChanged.connect(self._row_chosen)
        self.report_button.clicked.connect(self.ask_report)
        self.export_button.clicked.connect(self.ask_export)
        self.fill_sessions()

    @property
    def plots(self) -> VerifyPlots:
        """The three plots, built the first time the view is shown (or they are asked for): the
        view sits behind the live plots at start, and its pyqtgraph plots cost the GUI ~0.05 s
        of CPU before its first frame (issue 19)."""
        if self._plots is None:
            self._plots = VerifyPlots()
            placeholder = self._split.replaceWidget(1, self._plots)  # its room, at its size
            if placeholder is not None:
                placeholder.deleteLater()
            self._plots.show_comparison(self.selected())
        return self._plots

    def showEvent(self, event: QShowEvent) -> None:
        plots = self.plots  # built now, before the view's first paint
        if plots.comparison is not self.selected():
            plots.show_comparison(self.selected())  # a result arrived while hidden
        if not self.service.live_enabled:  # someone is watching: keep the live statistics fresh
            self.service.live_enabled = True
            if self.shown_origin == LIVE:
                self.service.refresh_live()  # now, not one interval later
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.service.live_enabled = False  # behind a tab or minimised: nobody reads them
        super().hideEvent(event)

    # -- choosing what to show ---------------------------------------------------------------------
    def fill_sessions(self) -> None:
        """List the stored sessions (newest first) after the live entry."""
        keep = self.source_combo.currentData()
        self.source_combo.blockSignals(True)
        while self.source_combo.count() > 1:
            self.source_combo.removeItem(1)
        for s in reversed(self.service.sessions()):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(ns_to_s(s.started_ns)))
            self.source_combo.addItem(f"{s.id}  ({s.meta.kind}, {when})", s.id)
        idx = self.source_combo.findData(keep)
        self.source_combo.setCurrentIndex(max(0, idx))
        self.source_combo.blockSignals(False)

    def _source_chosen(self, index: int) -> None:
        self.show_origin(self.source_combo.itemData(index))

    def show_origin(self, origin: str) -> None:
        """Show the live statistics (``"live"``) or those of a stored session id."""
        self.shown_origin = origin
        cached = self.service.latest.get(origin)
        if cached is not None:
            self.on_result(cached)
        else:
            self.status.setText(f"computing {origin}…")
        self.refresh()

    def refresh(self) -> None:
        self.fill_sessions()  # a session imported meanwhile appears in the list
        if self.shown_origin == LIVE:
            self.service.refresh_live()
        else:
            try:
                self.service.analyse_session(self.shown_origin)
            except BenchError as exc:
                self.status.setText(f"cannot verify {self.shown_origin}: {exc}")

    def on_result(self, v: Verification) -> None:
        if v.origin != self.shown_origin:
            return
        self.current = v
        res = v.result
        color = {PASS: "#2ca02c", FAIL: "#d62728"}.get(res.verdict, "#888")
        what = "live session " + (v.meta.session_id or "(not recording)") if v.live else f"session {v.origin}"
        if v.live:  # the service keeps only the last window (its memory and CPU follow it)
            what += f", its last {hms(self.service.settings.live_window_s)} (h:mm:ss)"
        stamp = time.strftime("%H:%M:%S", time.localtime(v.computed_at))
        missing = f" — not compared: {len(res.missing)}" if res.missing else ""
        self.status.setText(
            f"<b style='color:{color}'>{res.verdict.upper()}</b> — {what}, computed {stamp}{missing}"
        )
        self.status.setToolTip("\n".join(res.missing))
        self._fill_table(res.comparisons)
        keep = self.comparison_combo.currentText()
        self.comparison_combo.blockSignals(True)
        self.comparison_combo.clear()
        for c in res.comparisons:
            self.comparison_combo.addItem(c.title)
        idx = self.comparison_combo.findText(keep)
        self.comparison_combo.setCurrentIndex(max(0, idx))
        self.comparison_combo.blockSignals(False)
        self._comparison_chosen(self.comparison_combo.currentIndex())

    def selected(self) -> ComparisonResult | None:
        idx = self.comparison_combo.currentIndex()
        if self.current is None or not 0 <= idx < len(self.current.result.comparisons):
            return None
        return self.current.result.comparisons[idx]

    def _row_chosen(self, row: int, *_: int) -> None:
        if row >= 0:
            self.comparison_combo.setCurrentIndex(row)

    def _comparison_chosen(self, _index: int) -> None:
        c = self.selected()
        if self._plots is not None and self.isVisible() and self._plots.comparison is not c:
            self._plots.show_comparison(c)  # hidden: drawn on show; not built: drawn when built
        self._fill_regions(c)

    # -- tables ------------------------------------------------------------------------------------
    def _fill_table(self, comparisons: list[ComparisonResult]) -> None:
        self.table.setRowCount(len(comparisons))
        for row, c in enumerate(comparisons):
            cells = summary_rows(c)
            limits = {k.metric: k.limit for k in c.checks}
            for col, (key, _) in enumerate(SUMMARY_COLUMNS):
                state = UNCHECKED
                if key == "device":
                    text = c.device_channel
                elif key == "reference":
                    text = c.reference_channel
                elif key == "verdict":
                    text = c.verdict
                    state = {PASS: OK, FAIL: BAD}.get(c.verdict, UNCHECKED)
                else:
                    text, state = cells[key]
                item = QTableWidgetItem(text)
                if key not in ("device", "reference"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if state:
                    item.setBackground(QBrush(STATE_COLORS[state]))
                if key in limits:
                    tip = f"tolerance ±{limits[key]:g}"
                    if state == UNDETERMINED:
                        tip += " — not judged: the confidence interval is wider than the tolerance"
                    item.setToolTip(tip)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()

    def _fill_regions(self, c: ComparisonResult | None) -> None:
        groups: dict[str, ErrorStats] = {} if c is None else {**c.by_region, **c.by_bin}
        self.regions.setRowCount(len(groups))
        self.regions.setVerticalHeaderLabels(list(groups))
        for row, st in enumerate(groups.values()):
            values = (
                str(st.n),
                _f(st.mean_ref),
                _f(st.mean_dev),
                _f(st.mean),
                pm(st.gain),
                _f(st.point_gain),
                _f(st.rms),
                _f(st.max_abs),
                _f(st.noise),
            )
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.regions.setItem(row, col, item)
        self.regions.resizeColumnsToContents()

    # -- report and export -------------------------------------------------------------------------
    def ask_report(self) -> None:
        if self.current is None:
            return
        dlg = QFileDialog(self, "Write verification report", "", "HTML report (*.html)")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setDefaultSuffix("html")
        dlg.selectFile(f"verification-{self.current.meta.session_id or 'live'}.html")
        dlg.fileSelected.connect(self.write_report)
        dlg.open()  # not exec(): no nested event loop under qasync

    def write_report(self, path: str) -> None:
        """Have the service write the report (HTML and JSON next to it) off the GUI thread."""
        if self.current is None or not path:
            return
        html = Path(path)
        self.status.setText(f"writing {html.name}…")
        self.service.write_report(self.current, html, html.with_suffix(".json"))

    def _report_done(self, path: Path, error: Exception | None) -> None:
        self.status.setText(f"report written to {path}" if error is None else f"report failed: {error}")

    def ask_export(self) -> None:
        dlg = QFileDialog(self, "Export plots to folder")
        dlg.setFileMode(QFileDialog.FileMode.Directory)
        dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dlg.fileSelected.connect(self.export_plots)
        dlg.open()

    def export_plots(self, directory: str) -> list[Path]:
        if not directory:
            return []
        files = self.plots.export(directory)
        self.status.setText(f"{len(files)} files written to {directory}")
        return files


def create_panel(window: ViewHost, bench: Bench) -> VerifyView | None:
    """Add the verification view when the bench has the verification service."""
    service = bench.services.verify
    if service is None:
        return None
    view = VerifyView(service)
    window.add_view("Verification", view)
    return view
