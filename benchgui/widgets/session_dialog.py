"""The dialog that asks for a new session's metadata (operator, battery, notes)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QPlainTextEdit, QWidget

from benchgui.model import SessionMeta


class SessionDialog(QDialog):
    def __init__(self, defaults: SessionMeta, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Start session")
        form = QFormLayout(self)
        self.operator = QLineEdit(defaults.operator)
        self.battery_id = QLineEdit(defaults.battery_id)
        self.notes = QPlainTextEdit(defaults.notes)
        self.notes.setFixedHeight(80)
        form.addRow("Operator", self.operator)
        form.addRow("Battery id", self.battery_id)
        form.addRow("Notes", self.notes)
        self._kind = defaults.kind
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def meta(self) -> SessionMeta:
        return SessionMeta(
            self.operator.text().strip(),
            self.battery_id.text().strip(),
            self.notes.toPlainText().strip(),
            self._kind,
        )
