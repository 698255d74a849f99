"""Stored sessions: a list to pick one from, and a window that shows a stored session: its
metadata (operator, battery, notes), its plots and its events; Ctrl+W or Esc closes it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from benchgui.clock import ns_to_s, s_to_ns
from benchgui.core.annotations import AnnotationWriter
from benchgui.core.catalog import SessionCatalog
from benchgui.core.history import History
from benchgui.model import Event, SessionInfo
from benchgui.widgets.plots import PlotPanel
from benchgui.widgets.text import hms

MAX_EVENTS_SHOWN = 5000  # the newest; a week-long session's setpoint log would swamp the table

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
            dur = "running" if s.duration_s is None else hms(s.duration_s)
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


def meta_text(info: SessionInfo) -> str:
    """One line of who, what and when, for the viewer's head."""
    m = info.meta
    start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns_to_s(info.started_ns)))
    dur = "still recording" if info.duration_s is None else hms(info.duration_s)
    parts = [
        f"Operator: {m.operator or '—'}",
        f"Battery: {m.battery_id or '—'}",
        f"Kind: {m.kind or '—'}",
        f"Started {start}, {dur}",
        f"{info.samples:,} samples",
    ]
    return " · ".join(parts)


class SessionViewer(QMainWindow):
    """A stored session in the same plots as the live view, read from the store, with its
    metadata above and its events below (double-clicking an event shows that time).

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
        self.meta = QLabel(meta_text(info))
        self.meta.setTextFormat(Qt.TextFormat.PlainText)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QLabel(f"Notes: {info.meta.notes}" if info.meta.notes else "Notes: —")
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.notes.setWordWrap(True)
        self.events = self._events_table(catalog.events(info.id))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.panel)
        split.addWidget(self.events)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.meta)
        lay.addWidget(self.notes)
        lay.addWidget(split, 1)
        self.setCentralWidget(central)
        close = QAction("Close", self)
        close.setShortcuts([QKeySequence("Ctrl+W"), QKeySequence("Esc")])
        close.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        close.triggered.connect(self.close)
        self.addAction(close)
        self.close_action = close
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

    def _events_table(self, events: list[Event]) -> QTableWidget:
        shown = events[-MAX_EVENTS_SHOWN:]
        table = QTableWidget(len(shown), 3)
        table.setHorizontalHeaderLabels(["time", "what", "event"])
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for row, e in enumerate(shown):
            stamp = time.strftime("%H:%M:%S", time.localtime(ns_to_s(e.t_ns)))
            for col, text in enumerate((stamp, e.kind, e.text)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, e.t_ns)
                table.setItem(row, col, item)
        table.resizeColumnToContents(0)
        table.resizeColumnToContents(1)
        if len(events) > len(shown):
            table.setToolTip(f"the newest {len(shown):,} of {len(events):,} events")
        table.cellDoubleClicked.connect(self._event_chosen)
        return table

    def _event_chosen(self, row: int, _col: int) -> None:
        """Centre the plots on the event's time (the span shown stays as it is)."""
        item = self.events.item(row, 0)
        if item is None:
            return
        t = ns_to_s(int(item.data(Qt.ItemDataRole.UserRole)))
        (x0, x1), _ = self.panel.plots[0].getViewBox().viewRange()
        half = max((x1 - x0) / 2, 30.0)
        self._first = False
        self.panel.plots[0].setXRange(t - half, t + half, padding=0)

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
