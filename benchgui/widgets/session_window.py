"""The session half of the main window: recording sessions, annotations, a replay, a stored
session overlaid for comparison, and the sessions list. Split from
:mod:`benchgui.widgets.main_window` to keep that module about the live view; the window builds
the widgets and actions these methods use (declared here for the type checker)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QLabel, QMainWindow

from benchgui.clock import ns_to_s
from benchgui.core.history import History
from benchgui.model import Event, SessionMeta
from benchgui.widgets.session_dialog import SessionDialog
from benchgui.widgets.sessions_dialog import SessionsDialog, SessionViewer

if TYPE_CHECKING:  # only named here
    from PySide6.QtGui import QAction

    from benchgui.core.bench import Bench
    from benchgui.core.catalog import SessionCatalog
    from benchgui.core.recorder import RecorderState
    from benchgui.core.replay import ReplayService
    from benchgui.core.session import Session
    from benchgui.widgets.plots import PlotPanel


class SessionWindow(QMainWindow):
    """Session commands and views; :class:`~benchgui.widgets.main_window.MainWindow` is one."""

    bench: Bench
    catalog: SessionCatalog | None
    default_meta: SessionMeta
    history: History
    plots: PlotPanel
    session_label: QLabel
    recorder_label: QLabel
    act_start: QAction
    act_stop: QAction
    act_clear_compare: QAction
    _viewers: list[SessionViewer]

    def primary_start_s(self) -> float:
        raise NotImplementedError  # the live view's (MainWindow)

    # -- sessions --------------------------------------------------------------------------------
    def _show_session(self, session: Session | None) -> None:
        if session is not None:
            self.history.set_session(session.id, ns_to_s(session.started_ns))
        else:
            self.history.set_session(None)
        if session is None:
            self.session_label.setText("<b style='color:#d62728'>Not recording</b> — live view only")
        else:
            m = session.meta
            who = ", ".join(x for x in (m.operator, m.battery_id) if x)
            self.session_label.setText(f"Recording session <b>{session.id}</b> {('— ' + who) if who else ''}")
        self.act_stop.setEnabled(session is not None)

    def _show_recorder(self, state: RecorderState) -> None:
        color = "#2ca02c" if state.ok else "#d62728"
        self.recorder_label.setText(f"<span style='color:{color}'>store: {state.text}</span>")

    def ask_start_session(self) -> None:
        meta = self.bench.session.meta if self.bench.session else self.default_meta
        dlg = SessionDialog(meta, self)
        dlg.accepted.connect(lambda: self.bench.start_session(dlg.meta()))
        dlg.open()  # not exec(): no nested event loop under qasync

    def stop_session(self) -> None:
        self.bench.stop_session()

    def ask_annotation(self) -> None:
        t_ns = self.bench.clock.now_ns()
        dlg = QInputDialog(self)
        dlg.setWindowTitle("Annotation")
        dlg.setLabelText(f"Note at {time.strftime('%H:%M:%S', time.localtime(ns_to_s(t_ns)))}:")
        dlg.textValueSelected.connect(lambda text: text.strip() and self.bench.annotate(text.strip(), t_ns))
        dlg.open()

    # -- replay, comparison, annotation markers ---------------------------------------------------
    def set_replay(self, replay: ReplayService) -> None:
        """Show a replay (``bench.services.replay``): its session's stored data and notes."""
        info = replay.session
        self.history.set_session(info.id, ns_to_s(replay.plan.first_ns))
        who = ", ".join(x for x in (info.meta.operator, info.meta.battery_id) if x)
        self.session_label.setText(
            f"Replaying session <b>{info.id}</b> ({info.meta.kind}{', ' + who if who else ''}) "
            f"at {replay.speed:g}× — notes are added to it"
        )
        self.setWindowTitle(f"benchgui — replay of {info.id}")
        self.act_start.setEnabled(False)
        self.act_stop.setEnabled(False)
        self.load_markers(info.id)

    def load_markers(self, session_id: str) -> None:
        """Show a stored session's annotations as markers."""
        if self.catalog is None:
            return
        events = self.catalog.events(session_id, "annotation")
        self.plots.set_markers([(ns_to_s(e.t_ns), e.text) for e in events if e.kind == "annotation"])

    def _on_event(self, event: Event) -> None:
        if event.kind == "annotation":
            self.plots.add_marker(ns_to_s(event.t_ns), event.text)

    def ask_compare(self) -> None:
        if self.catalog is None:
            return
        dlg = SessionsDialog(self.catalog.sessions(), self)
        dlg.setWindowTitle("Compare with session")
        dlg.open_session.connect(self.compare_with)
        dlg.open()

    def compare_with(self, session_id: str) -> None:
        """Overlay a stored session, shifted so that its first sample lines up with our start."""
        if self.catalog is None:
            return
        info = self.catalog.session(session_id)
        span = self.catalog.span_s(info.id)
        if span is None:
            self.statusBar().showMessage(f"Session {info.id} has no samples", 5000)
            return
        history = History(None, self.catalog.store_path, info.id, max_gap_s=None)
        offset = self.primary_start_s() - span[0]
        self.plots.set_overlay(history, self.catalog.channels(info.id), offset, info.id)
        self.act_clear_compare.setEnabled(True)
        self.statusBar().showMessage(f"Comparing with session {info.id} (dashed), aligned at the start", 8000)

    def clear_compare(self) -> None:
        self.plots.set_overlay(None)
        self.act_clear_compare.setEnabled(False)

    def show_sessions(self) -> None:
        if self.catalog is None:
            return
        dlg = SessionsDialog(self.catalog.sessions(), self)
        dlg.open_session.connect(self.open_session_viewer)
        dlg.open()

    def open_session_viewer(self, session_id: str) -> SessionViewer | None:
        if self.catalog is None:
            return None
        viewer = SessionViewer(self.catalog, session_id)
        self._viewers.append(viewer)
        viewer.show()
        return viewer
