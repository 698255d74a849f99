"""LabJack AIN panel: per channel the input, its range/resolution/settling, the sensor's transfer
function and a two-point calibration — applied live and saved in the configuration file.

The panel edits a working copy. Every edit is validated at once by the configuration's own rules
(the same errors, naming the same keys, as a bad config file gets); while anything is invalid,
Apply is blocked and the reason is shown. Apply hands the channels to the core's
``ain_settings`` service (:class:`~benchgui.core.ain_settings.AinSettings`), which applies them
to the T7 (between two polls; a refusal keeps the old settings) and then saves them in the
configuration file; it also computes the two-point calibration (the box is
:mod:`benchgui.widgets.ain_calibration`). The widget itself does no I/O
and no calibration math. The source re-applies the configuration at every connect.

Readings within 2 % of the selected range's limit are flagged OVER_RANGE by the source; the
panel shows them in red next to the channel. Apply asks first when a new range is below a
channel's live input (it would clip, and a clipped channel is judged by nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from benchgui.config.schema import LABJACK_RANGES_V, LabJackChannelSection
from benchgui.core.ain_settings import AinSettings
from benchgui.core.bench import Bench
from benchgui.errors import BenchError, ValueOutOfRange
from benchgui.model import InstrumentState, SampleFlag
from benchgui.widgets.ain_calibration import CalibrationBox
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.confirm import Confirm, ask_yes_no
from benchgui.widgets.edit_guard import PENDING_STYLE, PENDING_TEXT, shown_value
from benchgui.widgets.host import PanelHost

log = logging.getLogger(__name__)

KINDS = (("linear", "Linear (gain, offset)"), ("divider", "Voltage divider"), ("la55p", "LEM LA 55-P"))
# transfer parameter → (label, minimum, maximum, decimals, default)
PARAMS: dict[str, tuple[str, float, float, int, float]] = {
    "gain": ("Gain", -1e6, 1e6, 6, 1.0),
    "offset": ("Offset", -1e6, 1e6, 6, 0.0),
    "ratio": ("Ratio (Vin/Vout)", 0.0, 1e6, 4, 5.0),
    "offset_v": ("Output offset (V)", -10, 10, 6, 0.0),
    "r_m_ohm": ("R_M (Ω)", 0.0, 1e6, 3, 100.0),
    "turns_ratio": ("Turns ratio", 0.0, 1e6, 1, 1000.0),
    "primary_turns": ("Primary turns", 1, 1000, 0, 1.0),
    "zero_offset_v": ("Zero offset (V)", -10, 10, 6, 0.0),
}
KIND_PARAMS = {
    "linear": ("gain", "offset"),
    "divider": ("ratio", "offset_v"),
    "la55p": ("r_m_ohm", "turns_ratio", "primary_turns", "sign", "zero_offset_v"),
}


class AinPanel(QWidget):
    pause_when_hidden = True  # its timer only refreshes this dock (MainWindow pauses it behind a tab)

    def __init__(self, settings: AinSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.channels: list[dict[str, Any]] = settings.working_copy()
        self.dirty = False
        self.valid: list[LabJackChannelSection] | None = None
        self.reason = ""
        self._loading = False
        self.confirm: Confirm = self.ask  # tests inject their own
        self.bridge = Bridge(self)
        self._setup_ui()
        self._fill_list()
        self.list.setCurrentRow(0)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_live)
        self.timer.start(250)

    # -- layout --------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        lay = QVBoxLayout(self)
        self.lb_device = QLabel()  # the source's status: connected, reconnecting, LJM missing …
        self.lb_device.setWordWrap(True)
        lay.addWidget(self.lb_device)
        top = QHBoxLayout()
        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        top.addWidget(self.list, 1)
        side = QVBoxLayout()
        self.btn_add, self.btn_remove = QPushButton("Add"), QPushButton("Remove")
        side.addWidget(self.btn_add)
        side.addWidget(self.btn_remove)
        side.addStretch(1)
        top.addLayout(side)
        lay.addLayout(top)

        form = QFormLayout()
        self.ed_name, self.ed_quantity, self.ed_unit = QLineEdit(), QLineEdit(), QLineEdit()
        self.ed_quantity.setPlaceholderText("battery.voltage")
        self.sp_ain = QSpinBox()
        self.sp_ain.setRange(0, 13)
        self.sp_ain.setPrefix("AIN")
        self.cb_mode = QComboBox()
        self.cb_mode.addItems(["single-ended", "differential (AIN n − AIN n+1)"])
        self.cb_range = QComboBox()
        for r in LABJACK_RANGES_V:
            self.cb_range.addItem(f"±{r:g} V", r)
        self.sp_res = QSpinBox()
        self.sp_res.setRange(0, 12)
        self.sp_res.setSpecialValueText("0 (default: 8)")
        self.sp_settle = QDoubleSpinBox()
        self.sp_settle.setRange(0, 50000)
        self.sp_settle.setDecimals(0)
        self.sp_settle.setSuffix(" µs")
        self.sp_settle.setSpecialValueText("auto")
        self.cb_kind = QComboBox()
        for k, label in KINDS:
            self.cb_kind.addItem(label, k)
        for label, w in (
            ("Name", self.ed_name),
            ("Quantity", self.ed_quantity),
            ("Unit", self.ed_unit),
            ("Input", self.sp_ain),
            ("Mode", self.cb_mode),
            ("Range", self.cb_range),
            ("Resolution index", self.sp_res),
            ("Settling", self.sp_settle),
            ("Transfer function", self.cb_kind),
        ):
            form.addRow(label, w)
        lay.addLayout(form)

        self.stack = QStackedWidget()
        self.params: dict[str, QDoubleSpinBox] = {}
        self.cb_sign = QComboBox()
        self.cb_sign.addItem("+1 (as the arrow)", 1)
        self.cb_sign.addItem("−1 (reversed)", -1)
        for kind, _ in KINDS:
            page = QWidget()
            pf = QFormLayout(page)
            pf.setContentsMargins(0, 0, 0, 0)
            for name in KIND_PARAMS[kind]:
                if name == "sign":
                    pf.addRow("Sign", self.cb_sign)
                    continue
                label, lo, hi, dec, _default = PARAMS[name]
                sp = QDoubleSpinBox()
                sp.setRange(lo, hi)
                sp.setDecimals(dec)
                self.params[name] = sp
                pf.addRow(label, sp)
            self.stack.addWidget(page)
        lay.addWidget(self.stack)

        self.cal = CalibrationBox(self)
        # the box's widgets under the panel's names (what tests and the README call them)
        self.sp_ref, self.lb_cal = self.cal.sp_ref, self.cal.lb_cal
        self.btn_p1, self.btn_p2, self.btn_cal = self.cal.btn_p1, self.cal.btn_p2, self.cal.btn_cal
        lay.addWidget(self.cal)

        self.lb_live = QLabel("—")
        lay.addWidget(self.lb_live)
        buttons = QHBoxLayout()
        self.btn_apply, self.btn_revert = QPushButton("Apply"), QPushButton("Revert")
        buttons.addWidget(self.btn_apply)
        buttons.addWidget(self.btn_revert)
        lay.addLayout(buttons)
        self.lb_status = QLabel()
        self.lb_status.setWordWrap(True)
        lay.addWidget(self.lb_status)
        lay.addStretch(1)

        self.list.currentRowChanged.connect(self._load)
        self.btn_add.clicked.connect(self.add_channel)
        self.btn_remove.clicked.connect(self.remove_channel)
        for w in (self.ed_name, self.ed_quantity, self.ed_unit):
            w.textEdited.connect(self._edited)
        self.sp_ain.valueChanged.connect(self._edited)
        self.sp_res.valueChanged.connect(self._edited)
        for d in (self.sp_settle, *self.params.values()):
            d.valueChanged.connect(self._edited)
        for cb in (self.cb_mode, self.cb_range, self.cb_kind, self.cb_sign):
            cb.currentIndexChanged.connect(self._edited)
        self.btn_apply.clicked.connect(self.start_apply)
        self.btn_revert.clicked.connect(self.revert)

    # -- working copy <-> form ----------------------------------------------------------------
    def current(self) -> dict[str, Any] | None:
        i = self.list.currentRow()
        return self.channels[i] if 0 <= i < len(self.channels) else None

    def _fill_list(self) -> None:
        row = self.list.currentRow()
        self._loading = True
        self.list.clear()
        for ch in self.channels:
            self.list.addItem(f"{ch.get('name') or ch.get('quantity')}  —  AIN{ch.get('ain', 0)}")
        self._loading = False
        if 0 <= row < len(self.channels):
            self.list.setCurrentRow(row)

    def _load(self, row: int) -> None:
        ch = self.current()
        if self._loading or ch is None:
            return
        self._loading = True
        try:
            self.ed_name.setText(ch.get("name", ""))
            self.ed_quantity.setText(ch.get("quantity", ""))
            self.ed_unit.setText(ch.get("unit", ""))
            self.sp_ain.setValue(int(ch.get("ain", 0)))
            self.cb_mode.setCurrentIndex(1 if ch.get("differential") else 0)
            self.cb_range.setCurrentIndex(max(0, self.cb_range.findData(float(ch.get("range_v", 10.0)))))
            self.sp_res.setValue(int(ch.get("resolution_index", 0)))
            self.sp_settle.setValue(float(ch.get("settling_us", 0.0)))
            t = ch.get("transfer", {})
            kind = t.get("kind", "linear")
            self.cb_kind.setCurrentIndex(self.cb_kind.findData(kind))
            self.stack.setCurrentIndex(self.cb_kind.currentIndex())
            for name, sp in self.params.items():
                sp.setValue(float(t.get(name, PARAMS[name][4])))
            self.cb_sign.setCurrentIndex(0 if t.get("sign", 1) == 1 else 1)
        finally:
            self._loading = False
        self.cal.restart()

    def _edited(self, *_: object) -> None:
        ch = self.current()
        if self._loading or ch is None:
            return
        kind = self.cb_kind.currentData()
        self.stack.setCurrentIndex(self.cb_kind.currentIndex())
        transfer: dict[str, Any] = {"kind": kind}
        for name in KIND_PARAMS[kind]:
            if name == "sign":
                transfer[name] = int(self.cb_sign.currentData())
            elif name == "primary_turns":
                transfer[name] = int(self.params[name].value())
            else:
                transfer[name] = float(self.params[name].value())
        ch.update(
            name=self.ed_name.text().strip(),
            quantity=self.ed_quantity.text().strip(),
            unit=self.ed_unit.text().strip(),
            ain=self.sp_ain.value(),
            differential=self.cb_mode.currentIndex() == 1,
            range_v=float(self.cb_range.currentData()),
            resolution_index=self.sp_res.value(),
            settling_us=float(self.sp_settle.value()),
            transfer=transfer,
        )
        self.dirty = True
        item = self.list.item(self.list.currentRow())
        if item is not None:
            item.setText(f"{ch['name'] or ch['quantity']}  —  AIN{ch['ain']}")
        self.validate()

    def validate(self) -> bool:
        """Check the working copy with the configuration's rules; block Apply with the reason."""
        try:
            chans = self.settings.validate(self.channels)
        except (BenchError, ValueError) as exc:
            self.valid, self.reason = None, str(exc)
            self.btn_apply.setEnabled(False)
            self._status(f"Cannot apply: {exc}", error=True)
            return False
        self.valid, self.reason = chans, ""
        self.btn_apply.setEnabled(True)
        self._status(f"Changed, {PENDING_TEXT} — Apply to send to the T7 and save." if self.dirty else "")
        return True

    def _check_shown(self) -> bool:
        """Every field of the form shows a valid number (else Apply would send the last valid
        value a field remembers, not what it shows); the reason in the status line if not."""
        fields: list[tuple[str, QDoubleSpinBox | QSpinBox]] = [
            ("Input", self.sp_ain),
            ("Resolution index", self.sp_res),
            ("Settling", self.sp_settle),
        ]
        kind = self.cb_kind.currentData()
        fields += [(PARAMS[n][0], self.params[n]) for n in KIND_PARAMS[kind] if n in self.params]
        try:
            for what, spin in fields:
                shown_value(spin, what)
        except ValueOutOfRange as exc:
            self._status(f"Cannot apply: {exc}; nothing sent", error=True)
            return False
        return True

    def _status(self, text: str, error: bool = False) -> None:
        self.lb_status.setText(text)
        self.lb_status.setStyleSheet("color: #d62728;" if error else "")
        self.btn_apply.setStyleSheet(PENDING_STYLE if self.dirty else "")  # edits not sent yet

    # -- commands ----------------------------------------------------------------------------
    def add_channel(self) -> None:
        used = {c["ain"] for c in self.channels} | {
            c["ain"] + 1 for c in self.channels if c.get("differential")
        }
        ain = next((a for a in range(14) if a not in used), 0)
        self.channels.append(
            {
                "quantity": f"ain{ain}",
                "unit": "V",
                "name": f"AIN{ain}",
                "ain": ain,
                "transfer": {"kind": "linear"},
            }
        )
        self.dirty = True
        self._fill_list()
        self.list.setCurrentRow(len(self.channels) - 1)
        self.validate()

    def remove_channel(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.channels):
            del self.channels[row]
            self.dirty = True
            self._fill_list()
            self.list.setCurrentRow(min(row, len(self.channels) - 1))
            self.validate()

    def revert(self) -> None:
        self.channels = self.settings.working_copy()
        self.dirty = False
        self._fill_list()
        self.list.setCurrentRow(0)
        self._load(0)
        self.validate()

    async def apply(self) -> bool:
        """Have the service apply the working copy (live) and save it; True when the T7 took it."""
        if not self._check_shown() or not self.validate() or self.valid is None:
            return False
        self.btn_apply.setEnabled(False)
        try:
            outcome = await self.settings.apply_and_save(self.valid)
        except BenchError as exc:
            self._status(f"Refused: {exc}", error=True)
            self.btn_apply.setEnabled(True)
            return False
        msg = "Applied to the T7." if outcome.applied else "Not connected: applied at the next connect."
        self.dirty = False
        self.btn_apply.setStyleSheet("")
        if outcome.saved_to is not None:
            msg += f" Saved to {outcome.saved_to}."
        elif outcome.save_error is not None:
            msg += f" Not saved: {outcome.save_error}"
        self._status(msg)
        self.btn_apply.setEnabled(True)
        return outcome.applied

    def start_apply(self) -> None:
        """:meth:`apply` as a command of the panel (what Apply and the calibration buttons run);
        a range below a channel's live input is confirmed first."""
        if not self._check_shown() or not self.validate() or self.valid is None:
            return
        clipping = self.settings.would_clip(self.valid)
        if not clipping:
            self.bridge.run(self.apply())
            return
        self._status("Range below the live reading: waiting for confirmation.", error=True)
        question = "\n\n".join(clipping) + ".\n\nApply this range anyway?"
        self.confirm(question, self._clip_answered)

    def _clip_answered(self, yes: bool) -> None:
        if yes:
            self.bridge.run(self.apply())
        else:
            self._status("Not applied: the range is below the live reading (it would clip).", error=True)

    def ask(self, question: str, answer: Callable[[bool], None]) -> None:
        """The default :attr:`confirm` (No is the default button)."""
        ask_yes_no(self, "Apply a range that clips?", question, answer)

    def refresh_live(self) -> None:
        """Show the device status and the selected channel's latest reading (no I/O: the
        source keeps both)."""
        st = self.settings.status
        self.lb_device.setText(f"LabJack T7: {st.describe()}")
        self.lb_device.setStyleSheet("color: #d62728;" if st.state is InstrumentState.ERROR else "")
        ch = self.current()
        r = self.settings.latest(ch["quantity"]) if ch else None
        if ch is None or r is None:
            self.lb_live.setText("no reading")
            return
        over = bool(r.flags & SampleFlag.OVER_RANGE)
        text = f"AIN{ch['ain']}: {r.volts:+.6f} V → {r.value:.5g} {ch.get('unit', '')}"
        if over:
            text += "  — OVER RANGE (within 2 % of the range limit: probably clipped)"
        rng = float(ch.get("range_v", 10.0))
        below = self.settings.clips(ch["quantity"], rng)
        if below:
            text += f"  — the selected ±{rng:g} V range is below this input: it would clip"
        self.lb_live.setText(text)
        self.lb_live.setStyleSheet("color: #d62728; font-weight: bold;" if over or below else "")


def create_panel(window: PanelHost, bench: Bench) -> QWidget | None:
    """Add the AIN panel when the bench has a DAQ configurable live (the in-process stand-in is not)."""
    settings = bench.services.ain_settings
    if settings is None:
        return None
    panel = AinPanel(settings)
    window.add_panel("LabJack AIN", panel)
    return panel
