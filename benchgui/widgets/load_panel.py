"""The electronic load panel: identity, remote/input, CC/CP setpoint, live U/I/P/Ah, status bits.

It does no I/O: commands go to the bench's :class:`~benchgui.core.controls.LoadControl`
(coroutines run by the panel's :class:`~benchgui.widgets.bridge.Bridge`), readings come from
the bench's display buffers on a timer, and the load's decoded state (remote, input, mode,
protection bits, last error) from :attr:`LoadControl.state` and its ``state_changed`` signal,
brought to the GUI thread by the bridge.

Every command goes through :class:`~benchgui.core.setpoints.LoadCommands`, the same checks a
program's setpoints pass: a setpoint beyond the load's rating or the safety limits is refused
with the reason (nothing sent), one above ``[safety] confirm_fraction`` of its limit is sent only
after the operator confirms, and Input on is refused while a safety trip is latched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from benchgui.core.bench import Bench
from benchgui.core.controls import LoadControl, LoadState
from benchgui.core.safety import InterlockTripped, SafetyState
from benchgui.core.setpoints import CURRENT, POWER, LoadCommands, SetpointCheck
from benchgui.errors import ValueOutOfRange
from benchgui.model import InstrumentState, InstrumentStatus
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.confirm import Confirm, ask_yes_no
from benchgui.widgets.edit_guard import EditGuard
from benchgui.widgets.host import PanelHost

log = logging.getLogger(__name__)

ON, OFF, UNKNOWN = "#2ca02c", "#bbbbbb", "#ff7f0e"
ALARM = "#d62728"
MODES = {"CC": ("A", CURRENT, 3), "CP": ("W", POWER, 1)}  # unit, quantity, decimals
INDICATORS = ("Remote", "Input", "CC", "CV", "CP", "CR", "OVP", "OCP", "OPP", "OTP")


class LoadPanel(QWidget):
    pause_when_hidden = True  # its timer only refreshes this dock (MainWindow pauses it behind a tab)

    def __init__(self, bench: Bench, load: LoadControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.load = load
        self.commands = LoadCommands(bench)
        self.confirm: Confirm = self.ask  # tests inject their own
        self._state: LoadState | None = None
        self._setup_ui()
        self.bridge = Bridge(self)
        self.bridge.listen(bench.status_changed, self.show_status)
        self.bridge.listen(load.state_changed, self.show_state)
        supervisor = bench.services.supervisor
        if supervisor is not None:
            self.bridge.listen(supervisor.state_changed, self.show_safety)
            self.show_safety(supervisor.state)
        status = bench.status.get("load")
        if status is not None:
            self.show_status(status)
        self.show_state(load.state)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(200)
        self._update_limits()

    # -- layout ------------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        lay = QVBoxLayout(self)
        dev = QGroupBox("Device")
        dl = QVBoxLayout(dev)
        self.identity_label = QLabel("—")
        self.identity_label.setWordWrap(True)
        self.link_label = QLabel("—")
        self.link_label.setWordWrap(True)
        dl.addWidget(self.identity_label)
        dl.addWidget(self.link_label)
        lay.addWidget(dev)

        ctl = QGroupBox("Control")
        cl = QGridLayout(ctl)
        self.remote_button = QPushButton("Remote")
        self.remote_button.setCheckable(True)
        self.remote_button.setToolTip("Remote control over the interface (the front panel is locked)")
        self.input_button = QPushButton("Input OFF")
        self.input_button.setCheckable(True)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(list(MODES))
        self.setpoint_spin = QDoubleSpinBox()
        self.setpoint_spin.setKeyboardTracking(False)
        # live updates (new limits after identification) wait while the operator edits the field
        self.setpoint_guard = EditGuard(self.setpoint_spin, "setpoint")
        self.setpoint_pending = self.setpoint_guard.label
        self.set_button = QPushButton("Set")
        cl.addWidget(self.remote_button, 0, 0)
        cl.addWidget(self.input_button, 0, 1, 1, 2)
        cl.addWidget(self.mode_combo, 1, 0)
        cl.addWidget(self.setpoint_spin, 1, 1)
        cl.addWidget(self.set_button, 1, 2)
        cl.addWidget(self.setpoint_pending, 2, 1)
        lay.addWidget(ctl)

        meas = QGroupBox("Measured")
        ml = QFormLayout(meas)
        self.readouts: dict[str, QLabel] = {}
        for key, label in (("U", "Voltage"), ("I", "Current (sink)"), ("P", "Power"), ("Ah", "Ah counter")):
            value = QLabel("—")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setStyleSheet("font-size: 15pt; font-family: monospace;")
            self.readouts[key] = value
            ml.addRow(label, value)
        lay.addWidget(meas)

        st = QGroupBox("Status")
        sl = QHBoxLayout(st)
        self.indicators: dict[str, QLabel] = {}
        for name in INDICATORS:
            lamp = QLabel(name)
            lamp.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.indicators[name] = lamp
            sl.addWidget(lamp)
            self._lamp(name, None)
        lay.addWidget(st)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ALARM};")
        lay.addWidget(self.error_label)
        self.trip_label = QLabel()  # a latched trip: why Input on is refused
        self.trip_label.setWordWrap(True)
        self.trip_label.setStyleSheet(f"color: {ALARM}; font-weight: bold;")
        self.trip_label.setVisible(False)
        lay.addWidget(self.trip_label)
        lay.addStretch(1)

        self.remote_button.clicked.connect(lambda on: self._command("remote", self.load.set_remote(on)))
        self.input_button.clicked.connect(self.switch_input)
        self.mode_combo.currentTextChanged.connect(lambda _: self._mode_changed())
        self.set_button.clicked.connect(self.apply_setpoint)
        self.setpoint_spin.editingFinished.connect(self._enter_pressed)

    def _lamp(self, name: str, on: bool | None, alarm: bool = False) -> None:
        """Light a lamp; an unchanged lamp is left alone: the load's state arrives with every
        poll (its readings change), and a style sheet set again re-polishes the widget even when
        it is the same (~1 % of the GUI's CPU in py-spy for ten lamps at the poll rate)."""
        lamp = self.indicators[name]
        if lamp.property("on") is on and lamp.styleSheet():
            return
        color = UNKNOWN if on is None else (ALARM if alarm else ON) if on else OFF
        text = "white" if on else "black"
        lamp.setStyleSheet(f"background: {color}; color: {text}; border-radius: 4px; padding: 2px 4px;")
        lamp.setProperty("on", on)

    # -- commands ----------------------------------------------------------------------------------
    def _command(self, what: str, coro: Coroutine[Any, Any, None]) -> None:
        """Run a load command; its error (if any) is shown under the lamps."""
        self.bridge.run(
            coro, done=lambda _: self.error_label.setText(""), failed=lambda e: self._failed(what, e)
        )

    def _failed(self, what: str, exc: BaseException) -> None:
        log.info("load %s: %s", what, exc)
        self.error_label.setText(f"{what}: {exc}")
        self._sync_buttons()

    def switch_input(self, on: bool) -> None:
        """Input on is refused while a safety trip is latched (it would be switched off again
        milliseconds later); off always goes out."""
        if on:
            try:
                self.commands.check_input_on()
            except InterlockTripped as exc:
                self.error_label.setText(f"Input on refused: {exc}. Acknowledge the trip first.")
                self._sync_buttons()
                return
        self._command("input", self.commands.set_input(on))

    def _enter_pressed(self) -> None:
        if self.setpoint_spin.hasFocus():
            self.apply_setpoint()

    def apply_setpoint(self) -> None:
        """Send exactly the setpoint the field shows (refused, with the reason, when it is not a
        number in range); the "not sent" mark goes once the load took it."""
        mode = self.mode_combo.currentText()
        try:
            value = self.setpoint_guard.value_to_send()
        except ValueOutOfRange as exc:
            self.error_label.setText(f"{exc}; nothing sent")
            return
        quantity = MODES[mode][1]
        try:
            check = self.commands.check(quantity, value)
        except ValueOutOfRange as exc:  # beyond the load's rating or the safety limits
            self.error_label.setText(str(exc))
            return
        if check.confirm:
            self.confirm(check.question(), lambda yes: self._confirmed(check, yes))
            return
        self._send(check)

    def _confirmed(self, check: SetpointCheck, yes: bool) -> None:
        if yes:
            self._send(check)
        else:
            self.error_label.setText(f"{check.quantity} setpoint {check.value:g} not confirmed; nothing sent")

    def _send(self, check: SetpointCheck) -> None:
        what = f"{check.quantity} setpoint"
        coro = self.commands.set_setpoint(check.quantity, check.value)
        self.bridge.run(coro, done=lambda _: self._setpoint_sent(), failed=lambda e: self._failed(what, e))

    def ask(self, question: str, answer: Callable[[bool], None]) -> None:
        """The default :attr:`confirm` (No is the default button)."""
        ask_yes_no(self, "Send setpoint?", question, answer)

    def _setpoint_sent(self) -> None:
        self.error_label.setText("")
        self.setpoint_guard.sent()

    def _mode_changed(self) -> None:
        """Another quantity: the field's old text means nothing now."""
        self.setpoint_guard.discard()
        self._update_limits()

    def _update_limits(self) -> None:
        """Spin box range from the load's nominals (known after identification); waits while the
        operator edits the field, since a new range or format rewrites its text."""
        self.setpoint_guard.update(self._set_limits)

    def _set_limits(self) -> None:
        unit, quantity, decimals = MODES[self.mode_combo.currentText()]
        top = self.load.nominal_current_a if quantity == "current" else self.load.nominal_power_w
        self.setpoint_spin.setDecimals(decimals)
        self.setpoint_spin.setRange(0.0, float(top))
        self.setpoint_spin.setSingleStep(0.1 if quantity == "current" else 1.0)
        self.setpoint_spin.setSuffix(f" {unit}")
        tip = f"0 … {top:g} {unit} (nominal of the load)"
        limits = self.commands.limits
        if limits is not None and quantity == CURRENT:
            tip += f"; safety limit {limits.max_current_a:g} A (larger setpoints are refused)"
        self.setpoint_spin.setToolTip(tip)

    # -- showing -----------------------------------------------------------------------------------
    def show_status(self, status: InstrumentStatus) -> None:
        if status.instrument != "load":
            return
        self.link_label.setText(status.describe())
        connected = status.state is InstrumentState.CONNECTED
        for w in (self.remote_button, self.input_button, self.set_button):
            w.setEnabled(connected)

    def show_state(self, state: LoadState) -> None:
        ident = state.identity
        if ident is not None:
            self.identity_label.setText(
                f"<b>{ident.device_type}</b> serial {ident.serial}, firmware {ident.firmware}<br>"
                f"{ident.nominal_voltage_v:g} V · {ident.nominal_current_a:g} A · {ident.nominal_power_w:g} W"
            )
            self._update_limits()
        self._lamp("Remote", state.remote)
        self._lamp("Input", state.input_on)
        for mode in ("CC", "CV", "CP", "CR"):
            self._lamp(mode, None if state.mode is None else state.mode == mode)
        for alarm in ("OVP", "OCP", "OPP", "OTP"):
            self._lamp(alarm, alarm.lower() in state.alarms if state.connected else None, alarm=True)
        tip = "" if state.status_confirmed else "Read from an object not confirmed for this device"
        for lamp in self.indicators.values():
            if lamp.toolTip() != tip:
                lamp.setToolTip(tip)
        if state.last_error:
            self.error_label.setText(state.last_error)
        self._state = state
        self._sync_buttons()

    def show_safety(self, state: SafetyState) -> None:
        """While a trip is latched, say so here: Input on is refused until it is acknowledged."""
        trip = state.trip
        latched = trip is not None and not trip.acknowledged
        if latched and trip is not None:
            self.trip_label.setText(
                f"Safety trip latched: {trip.text}. Input on is refused until the trip is acknowledged."
            )
        self.trip_label.setVisible(latched)

    def _sync_buttons(self) -> None:
        state = self._state
        remote = state.remote if state is not None else None
        on = state.input_on if state is not None else self.load.input_on
        for button, value in ((self.remote_button, remote), (self.input_button, on)):
            button.blockSignals(True)
            button.setChecked(bool(value))
            button.blockSignals(False)
        self.input_button.setText("Input ON" if on else "Input OFF")
        self.input_button.setStyleSheet(f"background: {ON}; color: white;" if on else "")

    def refresh(self) -> None:
        """Readouts from the display buffers (the bench's latest samples)."""
        latest = self.bench.display.latest

        def show(key: str, channel: str, fmt: str, sign: float = 1.0) -> None:
            v = latest(channel)
            self.readouts[key].setText("—" if v is None else fmt.format(sign * v[1] + 0.0))

        show("U", "battery.voltage.load", "{:.3f} V")
        show("I", "battery.current.load", "{:.3f} A", -1.0)  # the bench's sign is the battery's
        show("P", "battery.power.load", "{:.2f} W", -1.0)
        show("Ah", "load.ah.load", "{:.4f} Ah")
        if self._state is None:
            self._sync_buttons()


def create_panel(window: PanelHost, bench: Bench) -> QWidget | None:
    """Add the load panel when the bench has an electronic load."""
    load = bench.load
    if load is None:
        return None
    panel = LoadPanel(bench, load)
    window.add_panel("Load", panel)
    return panel
