"""The charger panel: what the MPPT 1210 HUS is doing, and its two operator controls.

Shows charger and DC/DC state by name, the error flags decoded to text, solar / battery / load
power, the daily energy counters and the device identity. Controls: the MPPT's load output
(``=input {"LoadEn":…}``) and the serial publication period (``=pub/serial {"Period_s":…}``).

No I/O here: the panel knows the charger only as the bench's
:class:`~benchgui.core.controls.ChargerControl`. It observes the Qt-free ``changed``
notification through its :class:`~benchgui.widgets.bridge.Bridge` and repaints from the latest
snapshot on a timer (a statement may arrive 1000 times a second at ``--speed 1000``); commands
are the control's coroutines, run by the bridge; their outcome appears in the message line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from benchgui.core.bench import Bench
from benchgui.core.controls import (
    ChargerControl,
    MpptSnapshot,
    charger_state_name,
    dcdc_state_name,
    decode_error_flags,
    decode_output_info,
)
from benchgui.errors import NotSupported, ValueOutOfRange
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.edit_guard import EditGuard
from benchgui.widgets.host import PanelHost

log = logging.getLogger(__name__)


def _fmt(value: Any, unit: str, digits: int = 2) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.{digits}f} {unit}"


class ChargerPanel(QWidget):
    pause_when_hidden = True  # its timer only refreshes this dock (MainWindow pauses it behind a tab)
    REFRESH_MS = 250

    def __init__(self, charger: ChargerControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.charger = charger
        self._snapshot = charger.snapshot
        self._dirty = True
        self.bridge = Bridge(self)
        self._setup_ui()
        self.bridge.listen(charger.changed, self._on_snapshot)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(self.REFRESH_MS)
        self.refresh()

    # -- layout ------------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.labels: dict[str, QLabel] = {}

        def group(title: str, rows: list[tuple[str, str]]) -> QGroupBox:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setContentsMargins(6, 4, 6, 4)
            for key, caption in rows:
                lab = QLabel("—")
                lab.setWordWrap(True)
                self.labels[key] = lab
                form.addRow(caption, lab)
            lay.addWidget(box)
            return box

        group(
            "State",
            [
                ("charger", "Charger"),
                ("dcdc", "DC/DC"),
                ("errors", "Errors"),
                ("load_info", "Load output"),
                ("soc", "SOC (MPPT)"),
                ("dis_ah", "Discharged"),
                ("temps", "Temperatures"),
            ],
        )
        group("Power", [("solar_w", "Solar"), ("battery_w", "Battery"), ("load_w", "Load output")])
        group(
            "Today",
            [
                ("solar_wh", "Solar in"),
                ("load_wh", "Load out"),
                ("chg_wh", "Battery charged"),
                ("dis_wh", "Battery discharged"),
            ],
        )
        group(
            "Device", [("device", "Device"), ("firmware", "Firmware"), ("serial", "Serial"), ("link", "Link")]
        )

        controls = QGroupBox("Control")
        c = QVBoxLayout(controls)
        self.load_toggle = QCheckBox("Load output on")
        self.load_toggle.setToolTip('=input {"LoadEn":true|false}')
        self.load_toggle.clicked.connect(self.set_load_output)
        c.addWidget(self.load_toggle)
        row = QHBoxLayout()
        row.addWidget(QLabel("Publication every"))
        self.period_spin = QDoubleSpinBox()
        self.period_spin.setRange(0.1, 3600.0)
        self.period_spin.setDecimals(1)
        self.period_spin.setSuffix(" s")
        self.period_spin.setValue(self.charger.period_s)
        self.period_guard = EditGuard(self.period_spin, "publication period")
        row.addWidget(self.period_spin)
        self.period_button = QPushButton("Set")
        self.period_button.setToolTip('=pub/serial {"Period_s":…}')
        self.period_button.clicked.connect(self.apply_period)
        row.addWidget(self.period_button)
        row.addWidget(self.period_guard.label)
        c.addLayout(row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        c.addWidget(self.message)
        lay.addWidget(controls)
        lay.addStretch(1)

    # -- display -----------------------------------------------------------------------------------
    def _on_snapshot(self, snapshot: MpptSnapshot) -> None:
        self._snapshot = snapshot
        self._dirty = True

    def text(self, key: str) -> str:
        return self.labels[key].text()

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        s = self._snapshot
        g = s.get
        lab = self.labels
        lab["charger"].setText(charger_state_name(s.charger_state))
        lab["dcdc"].setText(dcdc_state_name(s.dcdc_state))
        flags = s.error_flags
        lab["errors"].setText(decode_error_flags(flags))
        lab["errors"].setStyleSheet("color: #d62728; font-weight: bold;" if flags else "")
        lab["load_info"].setText(decode_output_info(g("LoadInfo")))
        lab["soc"].setText(_fmt(g("SOC_pct"), "%", 0))
        lab["dis_ah"].setText(_fmt(g("Dis_Ah"), "Ah", 0))
        temps = [f"battery {g('Bat_degC'):.1f} °C" if _num(g("Bat_degC")) else ""]
        temps.append(f"internal {g('Int_degC'):.1f} °C" if _num(g("Int_degC")) else "")
        lab["temps"].setText(", ".join(t for t in temps if t) or "— (not published)")
        lab["solar_w"].setText(_power(s, "Solar_W", "Solar_V", "Solar_A"))
        lab["battery_w"].setText(_power(s, "Bat_W", "Bat_V", "Bat_A"))
        lab["load_w"].setText(_power(s, "Load_W", "Bat_V", "Load_A"))
        lab["solar_wh"].setText(_fmt(g("SolarInDay_Wh"), "Wh"))
        lab["load_wh"].setText(_fmt(g("LoadOutDay_Wh"), "Wh"))
        lab["chg_wh"].setText(_fmt(g("BatChgDay_Wh"), "Wh"))
        lab["dis_wh"].setText(_fmt(g("BatDisDay_Wh"), "Wh"))
        info = s.info
        lab["device"].setText(" ".join(x for x in (info.get("manufacturer"), info.get("type")) if x) or "—")
        fw = info.get("firmware", "—")
        if info.get("firmware_commit"):
            fw += f" ({info['firmware_commit']})"
        lab["firmware"].setText(fw)
        lab["serial"].setText(info.get("serial", "—"))
        link = s.status_text or "—"
        lab["link"].setText(f"{link} — {s.statements} statements")
        busy = self.bridge.busy
        self.load_toggle.setEnabled(s.connected and not busy)
        if s.load_enabled is not None and not busy:
            self.load_toggle.setChecked(s.load_enabled)
        settable = s.period_settable is not False
        self.period_button.setEnabled(s.connected and not busy and settable)
        self.period_spin.setEnabled(settable)
        if not settable:
            self.period_guard.set_value(1.0)  # not while the operator edits it
            self.period_spin.setToolTip("this firmware publishes every second (fixed)")

    # -- commands ----------------------------------------------------------------------------------
    def set_load_output(self, on: bool) -> None:
        self._command(self.charger.set_load_output(bool(on)), f"Load output {'on' if on else 'off'}")

    def apply_period(self) -> None:
        """Send exactly the period the field shows; refused with the reason when it is no number."""
        try:
            seconds = round(self.period_guard.value_to_send(), 1)
        except ValueOutOfRange as exc:
            self.message.setText(f"<span style='color:#d62728'>{exc}; nothing sent</span>")
            return
        self._command(
            self.charger.set_publication_period(seconds),
            f"Publication every {seconds:g} s",
            sent=self.period_guard.sent,
        )

    def _command(
        self, coro: Coroutine[Any, Any, None], what: str, sent: Callable[[], None] | None = None
    ) -> None:
        self.message.setText(f"{what}…")

        def done(_: object) -> None:
            if sent is not None:
                sent()
            self._finished(what, "done")

        self.bridge.run(
            coro,
            done=done,
            failed=lambda exc: self._failed(what, exc),
            cancelled=lambda: self._finished(what, "cancelled"),
        )
        self._dirty = True

    def _finished(self, what: str, outcome: str) -> None:
        self.message.setText(f"{what}: {outcome}")
        self._dirty = True
        if outcome != "cancelled":
            self.refresh()

    def _failed(self, what: str, exc: BaseException) -> None:
        if self._fixed_period(exc):
            self.period_guard.discard()  # the device cannot take any edit: show its fixed period
            self.message.setText("This firmware publishes every second; the period cannot be changed.")
        else:
            log.warning("%s failed: %s", what, exc)
            self.message.setText(f"<span style='color:#d62728'>{what} failed: {exc}</span>")
        self._dirty = True
        self.refresh()

    def _fixed_period(self, exc: BaseException) -> bool:
        """The firmware publishes at a fixed period (the charger says NotSupported)."""
        return isinstance(exc, NotSupported)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _power(s: MpptSnapshot, w: str, v: str, a: str) -> str:
    if _num(s.get(w)):
        return _fmt(s.get(w), "W", 1)
    if _num(s.get(v)) and _num(s.get(a)):
        return _fmt(s.get(v) * s.get(a), "W", 1)
    return "—"


def create_panel(window: PanelHost, bench: Bench) -> QWidget | None:
    """Add the charger panel when the bench has a charge controller it can command (ThingSet)."""
    charger = bench.charger
    if charger is None:
        return None
    panel = ChargerPanel(charger)
    window.add_panel("Charger (MPPT)", panel)
    return panel
