"""Stored sessions: a list to pick one from, and a window that shows a stored session's plots."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from benchgui.clock import ns_to_s, s_to_ns
from benchgui.core.annotations import AnnotationWriter
from benchgui.core.catalog import SessionCatalog
from benchgui.core.history import History
from benchgui.model import SessionInfo
from benchgui.widgets.plots import PlotPanel

if TYPE_CHECKING:
    from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent


class SessionsDialog(QDialog):
    open_session = Signal(str)

    def __init__(self, sessions: Sequence[SessionInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sessions")
        self.resize(760, 420)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(len(sessions), 6)
        self.table.setHorizontalHeaderLabels(["id", "start", "duration", "samples", "operator", "battery"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, s in enumerate(reversed(list(sessions))):
            dur = "running" if s.duration_s is None else f"{s.duration_s / 60:.1f} min"
            cells = [
                s.id,
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns_to_s(s.started_ns))),
                dur,
                str(s.samples),
                s.meta.operator,
                s.meta.battery_id,
            ]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.doubleClicked.connect(lambda _: self._open())
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Close
        )
        buttons.accepted.connect(self._open)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _open(self) -> None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        if item is not None:
            self.open_session.emit(item.text())
            self.accept()


class SessionViewer(QMainWindow):
    """A stored session in the same plots as the live view, read from the store.

    Its annotations show as markers; double-clicking a plot adds one at that time (stored in
    the session by :class:`~benchgui.core.annotations.AnnotationWriter`, off the GUI thread).
    """

    def __init__(self, catalog: SessionCatalog, session_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        info = catalog.session(session_id)
        self.session_id = info.id
        self.setWindowTitle(
            f"Session {info.id} — {info.meta.battery_id or 'no battery id'} (double-click to annotate)"
        )
        self.resize(1100, 750)
        self.history = History(None, catalog.store_path, info.id, max_gap_s=None)
        self.panel = PlotPanel(self.history)
        self.panel.add_channels(catalog.channels(info.id))
        self.setCentralWidget(self.panel)
        span = catalog.span_s(info.id)
        self._span = span
        self._first = True
        self.panel.range_fn = self._range
        self.panel.set_markers(
            [
                (ns_to_s(e.t_ns), e.text)
                for e in catalog.events(info.id, "annotation")
                if e.kind == "annotation"
            ]
        )
        self.writer = AnnotationWriter(catalog.store_path)
        self.panel.view.scene().sigMouseClicked.connect(self._clicked)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.panel.redraw)
        self._timer.start(200)

    def _range(self) -> tuple[float, float] | None:
        if self._first and self._span is not None:
            self._first = False
            return self._span
        return None  # the operator pans and zooms freely

    def _clicked(self, ev: MouseClickEvent) -> None:
        if not ev.double():
            return
        pos = ev.scenePos()
        for p in self.panel.plots:
            if p.sceneBoundingRect().contains(pos):
                self.ask_annotation(p.getViewBox().mapSceneToView(pos).x())
                return

    def ask_annotation(self, t_s: float) -> QInputDialog:
        dlg = QInputDialog(self)
        dlg.setWindowTitle("Annotation")
        dlg.setLabelText(f"Note at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t_s))}:")
        dlg.textValueSelected.connect(lambda text: self._note(t_s, text))
        dlg.open()  # not exec(): no nested event loop under qasync
        return dlg

    def _note(self, t_s: float, text: str) -> None:
        if text.strip():
            self.annotate(t_s, text.strip())

    def annotate(self, t_s: float, text: str) -> None:
        """Add a note afterwards: stored in the session, shown at once."""
        self.writer.add(self.session_id, s_to_ns(t_s), text)
        self.panel.add_marker(t_s, text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        self.history.close()
        self.writer.close()
        super().closeEvent(event)
