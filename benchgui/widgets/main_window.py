"""The main window: live plots on one time axis, big readouts, instrument status, sessions.

It observes the bench through a :class:`~benchgui.widgets.bridge.Bridge`; a timer, never
faster than the rate cap (``display.redraw_hz``, 2 Hz with ``--low-power``) and sleeping until
the window scrolls or the readouts are due, asks the plots whether anything visible changed and
draws only then (:mod:`benchgui.widgets.frame_scheduler`); hidden tabs and docks are not drawn
at all. Commands (start/stop session, annotate, compare: :mod:`benchgui.widgets.session_window`)
go to the bench. Instrument panels (load, charger, LabJack, SOC…) are added as docks with
:meth:`MainWindow.add_panel`; the layout persists in QSettings.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMessageBox,
    QTabBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from benchgui.clock import ns_to_s
from benchgui.core.bench import Bench
from benchgui.core.catalog import SessionCatalog
from benchgui.core.history import History
from benchgui.model import SessionMeta
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.frame_scheduler import (
    COLUMN_MARGIN_S,
    RedrawMode,
    on_screen,
    pause_timers,
    snap_range,
    snap_session,
    tick_wait_s,
)
from benchgui.widgets.plots import DEFAULT_PLOTS, PlotPanel, PlotSpec
from benchgui.widgets.readouts import ReadoutPanel
from benchgui.widgets.session_window import SessionWindow
from benchgui.widgets.sessions_dialog import SessionViewer
from benchgui.widgets.status_panel import StatusPanel
from benchgui.widgets.window_parts import fix_width, scrolled, what_stops

log = logging.getLogger(__name__)

WINDOWS = [("1 min", 60.0), ("5 min", 300.0), ("15 min", 900.0), ("60 min", 3600.0), ("Whole session", 0.0)]


class MainWindow(SessionWindow):
    closing = Signal()

    def __init__(
        self,
        bench: Bench,
        *,
        catalog: SessionCatalog | None = None,
        default_meta: SessionMeta | None = None,
        window_s: float = 300.0,
        redraw_hz: float = 20.0,
        plot_specs: tuple[PlotSpec, ...] = DEFAULT_PLOTS,
        settings: QSettings | None = None,
        redraw_mode: RedrawMode = RedrawMode.CHANGES,
    ) -> None:
        super().__init__()
        self.bench = bench
        self.catalog = catalog
        self.default_meta = default_meta or SessionMeta()
        self.settings = settings or QSettings("benchgui", "benchgui")
        self.paused = False
        self.window_s = window_s
        self._viewers: list[SessionViewer] = []
        self.close_box: QMessageBox | None = None  # the open "close during a run?" question
        self._close_confirmed = False
        self.bridge = Bridge(self)
        store = bench.recorder.store_path if bench.recorder else None
        self.history = History(bench.display, store, None, max_gap_s=None)
        self.setWindowTitle(f"benchgui — {bench.name}")
        self.resize(1280, 800)
        self.redraw_mode = redraw_mode
        self._setup_ui(plot_specs)
        self._connect()
        # Ask for a frame on a single-shot timer re-armed after each, so drawing never takes more
        # than half of the event loop's time: acquisition and the core share this loop (qasync).
        # It sleeps until something may need a frame (the next pixel column, the readouts' turn;
        # frame_scheduler.tick_wait_s); what the operator does wakes it (request_frame).
        self.frame_period_s = 1.0 / redraw_hz
        self.last_frame_s = 0.0
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._frame)
        self.timer.start(int(1000 * self.frame_period_s))
        self.plots.scheduler.on_invalidate = self.request_frame  # a new trace, a resize, an overlay
        self.views.currentChanged.connect(lambda _: self.request_frame())
        for p in self.plots.plots:  # the operator's pan and zoom
            p.getViewBox().sigRangeChangedManually.connect(lambda *_: self.request_frame())
        self._restore()

    # -- layout ------------------------------------------------------------------------------
    def _setup_ui(self, plot_specs: tuple[PlotSpec, ...]) -> None:
        self.plots = PlotPanel(self.history, plot_specs, redraw_mode=self.redraw_mode)
        self.plots.range_fn = self.visible_range_or_frozen
        self.plots.add_channels(list(self.bench.channels.values()))
        self.views = QTabWidget()  # the live plots, plus full-size views such as verification
        self.views.setDocumentMode(True)
        self.views.addTab(self.plots, "Live")
        self.setCentralWidget(self.views)
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)

        tb = QToolBar("Session", self)
        tb.setObjectName("toolbar.session")
        self.addToolBar(tb)
        self.act_start = QAction("● Start session…", self)
        self.act_stop = QAction("■ Stop session", self)
        self.act_pause = QAction("Pause", self, checkable=True)
        self.act_pause.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.act_annotate = QAction("Annotate…", self)
        self.act_annotate.setShortcut(QKeySequence("Ctrl+N"))
        self.act_sessions = QAction("Sessions…", self)
        self.act_compare = QAction("Compare with…", self)
        self.act_compare.setToolTip("Overlay a stored session on the same axes, aligned at the start")
        self.act_clear_compare = QAction("Clear comparison", self)
        self.act_clear_compare.setEnabled(False)
        for a in (self.act_start, self.act_stop):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_pause)
        fix_width(tb, self.act_pause, ("Pause", "Resume"))
        tb.addWidget(QLabel(" Show: "))
        self.window_combo = QComboBox()
        for label, _ in WINDOWS:
            self.window_combo.addItem(label)
        self.window_combo.setCurrentIndex(self._window_index(self.window_s))
        tb.addWidget(self.window_combo)
        tb.addSeparator()
        tb.addAction(self.act_annotate)
        tb.addAction(self.act_sessions)
        tb.addAction(self.act_compare)
        tb.addAction(self.act_clear_compare)

        side = QWidget()
        lay = QVBoxLayout(side)
        lay.setContentsMargins(0, 0, 0, 0)
        self.readouts = ReadoutPanel(self.bench.display.latest, clock=lambda: self.plots.scheduler.clock())
        self.status_panel = StatusPanel()
        for st in self.bench.status.values():
            self.status_panel.set_status(st)
        lay.addWidget(self.readouts)
        lay.addWidget(self.status_panel)
        lay.addStretch(1)
        self.add_panel("Readouts", side, Qt.DockWidgetArea.RightDockWidgetArea)

        self.session_label = QLabel()
        self.recorder_label = QLabel()
        self.statusBar().addWidget(self.session_label, 1)
        self.statusBar().addPermanentWidget(self.recorder_label)
        self._show_session(self.bench.session)

    def add_view(self, title: str, widget: QWidget) -> None:
        """Add a full-size view as a tab beside the live plots (it needs the room a dock lacks)."""
        self.views.addTab(scrolled(widget), title)

    def show_panel(self, title: str) -> bool:
        """Bring a dock to the front of its tab group; False if there is no such dock."""
        for d in self.findChildren(QDockWidget):
            if d.objectName() == f"dock.{title}":
                d.show()
                d.raise_()
                return True
        return False

    def panel_titles(self) -> list[str]:
        """The titles of the docks, in the order they were added."""
        return [
            d.objectName().removeprefix("dock.")
            for d in self.findChildren(QDockWidget)
            if d.objectName().startswith("dock.")
        ]

    def show_all_docks(self) -> None:
        """Every dock side by side (none hidden behind a tab): the GUI soak's worst case."""
        docks = [d for d in self.findChildren(QDockWidget) if d.objectName().startswith("dock.")]
        for n, dock in enumerate(docks):
            area = Qt.DockWidgetArea.LeftDockWidgetArea if n % 2 else Qt.DockWidgetArea.RightDockWidgetArea
            self.addDockWidget(area, dock, Qt.Orientation.Vertical)  # moves it out of its tab group
            dock.show()

    def add_panel(
        self, title: str, widget: QWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """Add an instrument or tool panel as a dock (tabbed with others in the same area)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock.{title}")
        dock.setWidget(scrolled(widget))
        dock.visibilityChanged.connect(lambda visible: self._pause_timers(widget, not visible))
        existing = [
            d for d in self.findChildren(QDockWidget) if self.dockWidgetArea(d) == area and d is not dock
        ]
        self.addDockWidget(area, dock)
        if existing and title != "Readouts":
            self.tabifyDockWidget(existing[-1], dock)
            for bar in self.findChildren(QTabBar):  # many panels: full names, scroll arrows
                bar.setElideMode(Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)
        # as wide as its widest panel needs, no wider (the tab bar would ask for all its tabs)
        group = [d for d in self.findChildren(QDockWidget) if self.dockWidgetArea(d) == area]
        width = max(d.widget().sizeHint().width() for d in group)
        self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        return dock

    def _pause_timers(self, widget: QWidget, paused: bool) -> None:
        if self.redraw_mode is not RedrawMode.FIXED:  # the baseline, as before
            pause_timers(widget, paused)

    def _connect(self) -> None:
        b, bench = self.bridge, self.bench
        b.listen(bench.status_changed, self.status_panel.set_status)
        b.listen(bench.channels_added, self.plots.add_channels)
        b.listen(bench.session_changed, self._show_session)
        if bench.recorder is not None:
            b.listen(bench.recorder.state_changed, self._show_recorder)
        self.act_start.triggered.connect(self.ask_start_session)
        self.act_stop.triggered.connect(self.stop_session)
        self.act_pause.toggled.connect(self.set_paused)
        self.act_annotate.triggered.connect(self.ask_annotation)
        self.act_sessions.triggered.connect(self.show_sessions)
        self.act_compare.triggered.connect(self.ask_compare)
        self.act_clear_compare.triggered.connect(self.clear_compare)
        b.listen(bench.event_recorded, self._on_event)
        self.window_combo.currentIndexChanged.connect(self._window_changed)

    # -- time window -----------------------------------------------------------------------------
    @staticmethod
    def _window_index(window_s: float) -> int:
        for i, (_, s) in enumerate(WINDOWS):
            if s == window_s:
                return i
        return 1

    def _window_changed(self, index: int) -> None:
        self.window_s = WINDOWS[index][1]
        self.settings.setValue("window_s", self.window_s)
        self.request_frame()

    def latest_time(self) -> float:
        """Newest sample time on the bench (the right edge of the live view)."""
        replay = self.bench.services.replay
        if replay is not None:
            return float(replay.position_s())
        return ns_to_s(self.bench.clock.now_ns())

    def visible_range(self, t1: float | None = None) -> tuple[float, float]:
        """The live window (ending at ``t1``, by default now); it scrolls in whole pixel columns (a
        frame at most once per column)."""
        if t1 is None:
            t1 = self.latest_time()
        if self.redraw_mode is RedrawMode.FIXED:  # as before issue 19: wherever the clock is
            if self.window_s > 0:
                return (t1 - self.window_s, t1)
            start = self.primary_start_s()
            return (start, max(t1, start + 1))
        cols = self.plots.columns()
        if self.window_s > 0:
            return snap_range(t1, self.window_s, cols)
        return snap_session(self.primary_start_s(), t1, cols)

    def primary_start_s(self) -> float:
        """Start of what the window shows: the replayed session, the recording, or the first sample."""
        replay = self.bench.services.replay
        if replay is not None:
            return ns_to_s(replay.plan.first_ns)
        s = self.bench.session
        if s is not None:
            return ns_to_s(s.started_ns)
        return self._first_sample_time() or self.latest_time() - 60

    def _first_sample_time(self) -> float | None:
        firsts = [
            t
            for n in self.bench.display.names()
            if (b := self.bench.display.get(n)) is not None and (t := b.first_time()) is not None
        ]
        return min(firsts) if firsts else None

    def set_paused(self, paused: bool) -> None:
        """Freeze the time axis; the operator can pan and zoom the frozen view."""
        self.paused = paused
        self.act_pause.setText("Resume" if paused else "Pause")
        self.request_frame()

    def visible_range_or_frozen(self) -> tuple[float, float] | None:
        return None if self.paused else self.visible_range()

    def redraw(self) -> None:
        """Draw the plots and refresh the readouts now, whatever changed."""
        self.plots.redraw()
        self._refresh_readouts()

    def _refresh_readouts(self) -> None:
        # grey after 5 s without news — at least 2 s of real time when the bench runs faster
        self.readouts.refresh(self.latest_time(), stale_after_s=max(5.0, 2.0 * self.bench.clock.speed))

    def data_interval_s(self) -> float:
        """How long new samples alone wait after a frame: one pixel column of the window in
        real time (the newest column is drawn once per column), between the rate cap and 1 s."""
        if self.paused:
            return 1.0
        t0, t1 = self.visible_range()
        column_s = (t1 - t0) / self.plots.columns() / self.bench.clock.speed
        return min(1.0, max(self.frame_period_s, column_s))

    def _frame(self) -> None:
        """One tick of the timer: a frame only for what is visible and changed."""
        t0 = time.perf_counter()
        try:
            if self.redraw_mode is RedrawMode.FIXED:  # as before issue 19: every tick, painted now
                self.redraw()
                if self.views.currentWidget() is self.plots:
                    self.plots.view.viewport().repaint()
                return
            # the items changed schedule one paint of the view (an explicit repaint here would
            # paint twice: the scene's own update arrives after it)
            drew = False
            if self.views.currentWidget() is self.plots and on_screen(self.plots):
                drew = self.plots.redraw_if_changed(self.data_interval_s)
            if self.readouts.due(with_frame=drew) and on_screen(self.readouts):
                # a few times a second, with a frame when there is one (one paint of the window);
                # a readout repaints only when its text changes
                self._refresh_readouts()
        finally:
            self.last_frame_s = time.perf_counter() - t0
            self.timer.start(math.ceil(1000 * max(self._next_tick_s(), 2.0 * self.last_frame_s)))

    def _next_tick_s(self) -> float:
        """How long the timer may sleep (:func:`tick_wait_s`). Never raises: a timer not re-armed
        would freeze the screen."""
        try:
            if self.redraw_mode is RedrawMode.FIXED or self.bench.services.replay is not None:
                return self.frame_period_s  # a replay moves at its own pace: at the rate cap
            if self.history.pending():
                return self.frame_period_s  # the store's part of the window lands any moment
            # readouts that cannot be seen are not refreshed: their turn would stay overdue
            waits = [self.readouts.due_in()] if on_screen(self.readouts) else []
            if self.views.currentWidget() is self.plots:
                if not self.paused:
                    t1 = self.latest_time()
                    scrolls_at = self.visible_range(t1)[1]
                    waits.append((scrolls_at - t1) / self.bench.clock.speed + COLUMN_MARGIN_S)
                waits.append(self.plots.scheduler.data_due_in(self.data_interval_s()))
            return tick_wait_s(self.frame_period_s, *waits)
        except Exception:
            log.exception("working out the next frame's time failed; ticking at the rate cap")
            return self.frame_period_s

    def request_frame(self) -> None:
        """The picture changed by the operator's hand (pause, window, zoom, a new trace): tick
        within the rate cap rather than at the end of an idle sleep."""
        cap_ms = math.ceil(1000 * self.frame_period_s)
        if self.timer.isActive() and self.timer.remainingTime() > cap_ms:
            self.timer.start(cap_ms)

    # -- persistence -----------------------------------------------------------------------------
    def _restore(self) -> None:
        geo = self.settings.value("geometry")
        state = self.settings.value("state")
        if isinstance(geo, QByteArray | bytes):
            self.restoreGeometry(geo)
        if isinstance(state, QByteArray | bytes):
            self.restoreState(state)
        w = self.settings.value("window_s")
        if w is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.window_combo.setCurrentIndex(self._window_index(float(w)))

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.settings.setValue("window_s", self.window_s)
        self.settings.sync()

    # -- closing -------------------------------------------------------------------------------------
    def what_stops(self) -> list[str]:
        """What closing the window would end now (``window_parts.what_stops``)."""
        return what_stops(self.bench)

    def ask_close(self, stops: list[str]) -> QMessageBox:
        """Ask before ending a run (one click must not end a 10-hour discharge). Not exec():
        no nested event loop under qasync; the answer arrives in :meth:`_close_answered`."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Close benchgui?",
            "Closing the window stops:\n" + "\n".join(f"• {s}" for s in stops) + "\n\nClose anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)  # Return keeps the run going
        box.finished.connect(
            lambda result: self._close_answered(result == QMessageBox.StandardButton.Yes.value)
        )
        self.close_box = box
        box.open()
        return box

    def _close_answered(self, yes: bool) -> None:
        if self.close_box is not None:
            self.close_box.deleteLater()
        self.close_box = None
        if yes:
            self.close_without_asking()

    def close_without_asking(self) -> None:
        """Close as before the question existed: for --quit-after and a signal's exit request."""
        self._close_confirmed = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        stops = [] if self._close_confirmed else self.what_stops()
        if stops:
            event.ignore()
            if self.close_box is None:
                self.ask_close(stops)
            else:
                self.close_box.raise_()
            return
        self.save_layout()
        self.timer.stop()
        for v in self._viewers:
            v.close()
        self.plots.set_overlay(None)
        self.history.close()
        self.closing.emit()
        super().closeEvent(event)
