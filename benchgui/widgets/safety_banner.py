"""The safety banner, the emergency stop and the safety panel.

* A red banner across the top of the window while a trip is latched — no modal dialog that
  could sit unseen behind another window or block the event loop; it stays until the operator
  presses *Acknowledge*.
* An **EMERGENCY STOP** button, always visible in its own toolbar, and the keyboard shortcut
  **F12** (application-wide): both trip the supervisor, which switches the load input off.
* A "Safety" dock: armed or not, the voltage source the cut-off is judged on, discharged Ah and
  discharge time against their limits, and the limits themselves — editable while the bench
  runs (*Edit limits…*, see :mod:`benchgui.widgets.safety_limits`).

Everything here observes the supervisor (``bench.services.supervisor``) and calls its
methods; the switching off happens in the core. When the supervisor reports that SIGINT/SIGTERM
asked the application to exit, the window is closed (which shuts the bench down cleanly).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from benchgui.clock import ns_to_s
from benchgui.core.bench import Bench
from benchgui.core.limits import Limits
from benchgui.core.safety import SafetyState, Supervisor
from benchgui.core.safety_settings import SafetySettings
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.safety_limits import SafetyLimitsDialog
from benchgui.widgets.text import ElidedLabel, hms, set_style

if TYPE_CHECKING:  # the main window does not import its panels; only its type is named
    from benchgui.widgets.main_window import MainWindow

ESTOP_SHORTCUT = "F12"
ESTOP_STYLE = (
    "QPushButton { background: #c00000; color: white; font-weight: bold; padding: 6px 14px;"
    " border: 2px solid #600000; border-radius: 4px; }"
    "QPushButton:pressed { background: #800000; }"
)
BANNER_STYLE = "QFrame#safetyBanner { background: #c00000; } QLabel { color: white; }"


def _clock_text(t_ns: int | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ns_to_s(t_ns))) if t_ns else "?"


class SafetyBanner(QFrame):
    """Red, modal-free, stays until acknowledged."""

    def __init__(self, supervisor: Supervisor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.supervisor = supervisor
        self.setObjectName("safetyBanner")
        self.setStyleSheet(BANNER_STYLE)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        self.title = QLabel("⚠ SAFETY TRIP")
        self.title.setStyleSheet("font-weight: bold;")
        # one line, cut with "…" (whole text in the tooltip and the Safety dock): a long trip
        # text must not make the window wider than the screen
        self.text = ElidedLabel()
        self.ack = QPushButton("Acknowledge")
        self.ack.clicked.connect(supervisor.acknowledge)
        lay.addWidget(self.title)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.ack)

    def show_state(self, state: SafetyState) -> bool:
        """Update the text; returns whether the banner must be shown (the toolbar holding it
        is what is shown or hidden: a widget in a toolbar must not be hidden by itself)."""
        trip = state.trip
        if trip is None or trip.acknowledged:
            return False
        if trip.load_off:
            off = f"Load input switched OFF at {_clock_text(trip.off_t_ns)}."
        elif trip.escalated:
            off = "THE LOAD STILL REPORTS ITS INPUT ON: switch it off at the device or unplug the battery."
        else:
            off = "Switching the load input off… (retrying until the device reports it off)"
        self.text.setText(f"{trip.text} — at {_clock_text(trip.t_ns)}. {off}")
        return True


def _limits_text(lim: Limits) -> str:
    return (
        f"cut-off {lim.cutoff_voltage_v:g} V ({lim.cutoff_debounce_s:g} s) · "
        f"max {lim.max_current_a:g} A · {lim.max_discharge_ah:.2f} Ah · "
        f"{lim.max_discharge_time_s / 3600:g} h · battery {lim.max_battery_temperature_c:g} °C · "
        f"internal {lim.max_internal_temperature_c:g} °C · sources ±"
        f"{lim.voltage_disagreement_v * 1000:.0f} mV / {lim.disagreement_s:g} s · "
        f"sensor timeout {lim.sensor_timeout_s:g} s"
        + ("" if lim.measurements else " · MEASUREMENT INTERLOCKS DISABLED")
    )


def _estop_button(where: str, supervisor: Supervisor) -> QPushButton:
    button = QPushButton("EMERGENCY STOP")
    button.setStyleSheet(ESTOP_STYLE)
    button.setToolTip(f"Switch the load input off now ({ESTOP_SHORTCUT})")
    button.clicked.connect(lambda: supervisor.emergency_stop(where))
    return button


class SafetyPanel(QWidget):
    """Dock content: state, counters against limits, the emergency stop; :func:`create_panel` adds
    it, the always-visible emergency stop, the banner row and F12 to a main window."""

    def __init__(
        self, supervisor: Supervisor, settings: SafetySettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.supervisor = supervisor
        lay = QVBoxLayout(self)
        self.estop = _estop_button("panel button", supervisor)
        lay.addWidget(self.estop)
        grid = QGridLayout()
        self.armed = QLabel()
        self.judged = QLabel()
        self.counters = QLabel()
        self.trip = QLabel()
        self.trip.setWordWrap(True)
        for label in (self.armed, self.judged, self.counters, self.trip):
            label.setTextFormat(Qt.TextFormat.PlainText)  # words as written, never markup
        for row, (name, w) in enumerate(
            (
                ("Supervisor", self.armed),
                ("Voltage from", self.judged),
                ("Discharge", self.counters),
                ("Last trip", self.trip),
            )
        ):
            title = QLabel(name)
            title.setStyleSheet("font-weight: bold;")
            grid.addWidget(title, row, 0)
            grid.addWidget(w, row, 1)
        grid.setColumnStretch(1, 1)
        lay.addLayout(grid)
        self.reset = QPushButton("Reset discharge counters")
        self.reset.setToolTip("A new discharge: count Ah and time from zero (a program start does this too)")
        self.reset.clicked.connect(supervisor.reset_counters)
        lay.addWidget(self.reset)
        self.limits = QLabel(_limits_text(supervisor.limits))
        self.limits.setWordWrap(True)
        self.limits.setStyleSheet("color: #555;")
        lay.addWidget(self.limits)
        self.edit_limits = QPushButton("Edit limits…")
        self.edit_limits.setToolTip("Change the interlock limits now; they are saved to the config file")
        self.edit_limits.setEnabled(settings is not None)
        self.edit_limits.clicked.connect(self.open_limits)
        self.settings = settings
        self.limits_dialog: SafetyLimitsDialog | None = None
        lay.addWidget(self.edit_limits)
        lay.addStretch(1)
        # what create_panel() puts into the window's toolbars (tests and the screenshot check use them)
        self.banner = SafetyBanner(supervisor)
        self.toolbar_button = _estop_button("toolbar button", supervisor)
        self.toolbar_button.setObjectName("estopButton")
        self.banner_bar = QToolBar("Safety banner")
        # counters move while armed: refreshed twice a second from the supervisor's snapshot
        # (tests wait on its ticks, not on a clock)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.timeout.connect(lambda: self.show_state(supervisor.state))
        self.bridge = Bridge(self)

    def open_limits(self) -> None:
        if self.settings is None:
            return
        if self.limits_dialog is None:
            self.limits_dialog = SafetyLimitsDialog(self.settings, self)
        self.limits_dialog.editor.revert()
        self.limits_dialog.show()
        self.limits_dialog.raise_()

    def show_state(self, state: SafetyState) -> None:
        lim = self.supervisor.limits
        if state.armed:
            set_style(self.armed, "color: #d62728;")
            self.armed.setText("● armed — load input on")
        else:
            set_style(self.armed, "color: #2ca02c;")
            self.armed.setText("● idle — load input off")
        self.judged.setText(state.judged_channel or "—")
        self.counters.setText(
            f"{state.discharged_ah:.3f} / {lim.max_discharge_ah:.2f} Ah · "
            f"{hms(state.discharge_time_s)} / {hms(lim.max_discharge_time_s)}"
        )
        t = state.trip
        if t is None:
            set_style(self.trip, "")
            self.trip.setText("none")
        else:
            # the acknowledgement is said once, as it is now: "not acknowledged" goes with the banner
            set_style(self.trip, "" if t.acknowledged else "font-weight: bold;")
            ack = "acknowledged" if t.acknowledged else "not acknowledged — press Acknowledge"
            self.trip.setText(f"{_clock_text(t.t_ns)} {t.text} ({ack})")
        text = _limits_text(lim)
        if text != self.limits.text():
            self.limits.setText(text)


def create_panel(window: MainWindow, bench: Bench) -> SafetyPanel | None:
    supervisor = bench.services.supervisor
    if supervisor is None:
        return None
    panel = SafetyPanel(supervisor, bench.services.safety_settings)
    _install(panel, window)
    return panel


def _install(panel: SafetyPanel, window: MainWindow) -> None:
    """Toolbars, the F12 action and the dock for ``panel`` in ``window``."""
    supervisor = panel.supervisor
    # the emergency stop next to the session toolbar, always visible
    estop_bar = QToolBar("Emergency stop", window)
    estop_bar.setObjectName("toolbar.estop")
    estop_bar.toggleViewAction().setVisible(False)  # not closable from the context menu
    estop_bar.addWidget(panel.toolbar_button)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, estop_bar)

    # the banner on a row of its own, the full width of the window
    bar = panel.banner_bar
    bar.setObjectName("toolbar.safety_banner")
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setVisible(False)
    panel.banner.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    bar.addWidget(panel.banner)
    window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    act = QAction("Emergency stop", window)
    act.setObjectName("action.estop")
    act.setShortcut(QKeySequence(ESTOP_SHORTCUT))
    act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    act.triggered.connect(lambda: supervisor.emergency_stop(f"keyboard {ESTOP_SHORTCUT}"))
    window.addAction(act)

    def show(state: SafetyState) -> None:
        bar.setVisible(panel.banner.show_state(state))
        panel.show_state(state)

    panel.bridge.listen(supervisor.state_changed, show)
    panel.bridge.listen(supervisor.exit_requested, lambda _name: window.close_without_asking())
    panel.refresh_timer.start(500)
    show(supervisor.state)
    # the dock joins the others as a tab without taking the front: the emergency stop and the
    # banner are in the toolbars, and the operator's panel stays where it was
    right = Qt.DockWidgetArea.RightDockWidgetArea
    front = [d for d in window.findChildren(QDockWidget) if window.dockWidgetArea(d) == right]
    window.add_panel("Safety", panel)
    if front:
        front[-1].raise_()
