"""The Safety limits editor: every ``[safety]`` setting, edited while the bench runs.

The form is built from the :class:`~benchgui.config.schema.SafetySection` dataclass itself (its
fields, defaults and allowed ranges), so a new interlock setting appears here without touching
this file. *Apply* hands the values to the ``safety_settings`` core service, which validates
them like the config file, gives them to the supervisor at once and saves them into ``[safety]``
of the configuration file. The widget does no I/O and keeps no limits of its own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from benchgui.config.schema import SafetySection
from benchgui.config.validate import to_dict
from benchgui.core.safety_settings import SafetySettings
from benchgui.errors import BenchError
from benchgui.widgets.bridge import Bridge

# label, unit suffix, decimals; a field with min 0 shows "auto" at 0 (derived from the battery)
FIELDS: dict[str, tuple[str, str, int]] = {
    "cutoff_voltage_v": ("Cut-off voltage", " V", 3),
    "cutoff_debounce_s": ("Cut-off debounce", " s", 1),
    "max_discharge_ah": ("Max. discharged charge", " Ah", 2),
    "max_discharge_time_s": ("Max. discharge time", " s", 0),
    "max_current_a": ("Max. current", " A", 2),
    "max_battery_temperature_c": ("Max. battery temperature", " °C", 1),
    "max_internal_temperature_c": ("Max. MPPT temperature", " °C", 1),
    "limit_debounce_s": ("Current/temperature debounce", " s", 1),
    "voltage_disagreement_mv": ("Sources may disagree by", " mV", 0),
    "disagreement_s": ("… for at most", " s", 1),
    "sensor_timeout_s": ("Voltage lost after", " s", 1),
    "retry_interval_s": ("Switch-off retry every", " s", 2),
    "confirm_fraction": ("Ask before setpoints above (fraction of limit)", "", 2),
}
AUTO = {"cutoff_voltage_v", "max_discharge_ah"}


class SafetyLimitsEditor(QWidget):
    """A form over the ``safety_settings`` service; :meth:`apply` is what the button runs."""

    def __init__(self, settings: SafetySettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.bridge = Bridge(self)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.enabled = QCheckBox("measurement interlocks on")
        self.enabled.setToolTip(
            "Off only for bench debugging: E-stop, exit and signals still switch the load off"
        )
        form.addRow("Interlocks", self.enabled)
        self.spins: dict[str, QDoubleSpinBox] = {}
        meta = {f.name: f.metadata for f in dataclasses.fields(SafetySection)}
        for name, (label, unit, decimals) in FIELDS.items():
            spin = QDoubleSpinBox()
            spin.setObjectName(f"safety.{name}")
            spin.setDecimals(decimals)
            spin.setRange(float(meta[name].get("min", 0)), float(meta[name].get("max", 1e9)))
            spin.setSuffix(unit)
            spin.setKeyboardTracking(False)
            if name in AUTO:
                spin.setSpecialValueText("auto (from the battery)")
            self.spins[name] = spin
            form.addRow(label, spin)
        self.sources = QLineEdit()
        self.sources.setToolTip(
            "Battery voltage sources in order of trust, comma separated (labjack, mppt, load)"
        )
        form.addRow("Voltage judged on", self.sources)
        lay.addLayout(form)
        self.effective = QLabel()
        self.effective.setWordWrap(True)
        self.effective.setStyleSheet("color: #555;")
        lay.addWidget(self.effective)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.revert()

    # -- the form ---------------------------------------------------------------------------------
    def revert(self) -> None:
        """Show the settings in force."""
        sec = self.settings.section
        self.enabled.setChecked(sec.enabled)
        for name, spin in self.spins.items():
            spin.setValue(float(getattr(sec, name)))
        self.sources.setText(", ".join(sec.voltage_sources))
        self._show_effective()

    def values(self) -> dict[str, Any]:
        """The form's settings that differ from those in force."""
        current = to_dict(self.settings.section)
        form: dict[str, Any] = {"enabled": self.enabled.isChecked()}
        for name, spin in self.spins.items():
            # a configured value finer than the box shows is not changed by showing it
            if abs(spin.value() - float(current[name])) > 0.5001 * 10.0 ** -spin.decimals():
                form[name] = spin.value()
        form["voltage_sources"] = [s.strip() for s in self.sources.text().split(",") if s.strip()]
        return {k: v for k, v in form.items() if k in self.spins or current.get(k) != v}

    def _show_effective(self) -> None:
        lim = self.settings.effective
        self.effective.setText(
            f"In force: cut-off {lim.cutoff_voltage_v:g} V, max. {lim.max_discharge_ah:.2f} Ah"
            + ("" if lim.measurements else " — MEASUREMENT INTERLOCKS DISABLED")
        )

    def _status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d62728;" if error else "color: #2ca02c;")

    # -- applying ---------------------------------------------------------------------------------
    async def apply(self) -> bool:
        """Validate, apply now, save; True when the limits took effect (saved or not)."""
        values = self.values()
        if not values:
            self._status("No changes.")
            return True
        try:
            self.settings.validate(values)
        except BenchError as exc:
            self._status(f"Not applied: {exc}", error=True)
            return False
        try:
            path = await self.settings.apply_and_save(values)
            self._status(f"Applied and saved to {path}.")
        except BenchError as exc:
            self._status(f"Applied (in force until exit), not saved: {exc}", error=True)
        self._show_effective()
        return True

    def start_apply(self) -> None:
        """:meth:`apply` as a command of the editor (what the Apply button runs)."""
        self.bridge.run(self.apply())


class SafetyLimitsDialog(QDialog):
    """Non-modal: the plots and the emergency stop stay usable while it is open."""

    def __init__(self, settings: SafetySettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Safety limits")
        self.setModal(False)
        lay = QVBoxLayout(self)
        self.editor = SafetyLimitsEditor(settings, self)
        lay.addWidget(self.editor)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Reset
            | QDialogButtonBox.StandardButton.Close
        )
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.editor.start_apply)
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(self.editor.revert)
        buttons.rejected.connect(self.close)
        self.buttons = buttons
        lay.addWidget(buttons)
