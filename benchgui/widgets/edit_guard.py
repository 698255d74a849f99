"""Edit-safe input fields: a live update never touches a field the operator is editing.

A panel's setpoint field is also where the panel shows what the device has. Without care, a
state update arriving while the operator types (a new range after identification, the device's
own setpoint) rewrites the field under the cursor, and Set then sends the old value (issue 23).

An :class:`EditGuard` wraps one spin box:

* every change the panel makes goes through :meth:`EditGuard.update`, which runs it only while the
  field has neither focus nor unsent edits, and otherwise keeps the newest one for later;
* any change the operator makes (typing, arrows, wheel) marks the field *pending*: a "not sent"
  label appears beside it and the field is tinted, until the value is sent (:meth:`sent`) or the
  edit is dropped (:meth:`discard`);
* :meth:`value_to_send` returns exactly the number the field shows, or raises
  :class:`~benchgui.errors.ValueOutOfRange` when the text is not a valid value (``-``, empty, out of
  range) — nothing is sent then, rather than the last valid value the field remembers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QSpinBox

from benchgui.errors import ValueOutOfRange

log = logging.getLogger(__name__)

PENDING_STYLE = "background: #fff3c4;"  # a pale yellow: typed, not sent
PENDING_TEXT = "not sent"


class EditGuard(QObject):
    """Keeps one spin box's edits safe from live updates; see the module."""

    def __init__(self, spin: QDoubleSpinBox, what: str) -> None:
        super().__init__(spin)
        self.spin = spin
        self.what = what
        self.pending = False
        self._quiet = False  # True while the panel (not the operator) changes the field
        self._deferred: Callable[[], None] | None = None
        self.label = QLabel(PENDING_TEXT)
        self.label.setStyleSheet("color: #b8860b; font-style: italic;")
        self.label.setToolTip(f"The {what} shown has been edited but not sent yet")
        self.label.setVisible(False)
        spin.lineEdit().textEdited.connect(self._operator_changed)
        spin.valueChanged.connect(self._operator_changed)
        spin.installEventFilter(self)

    # -- the operator ----------------------------------------------------------------------------
    def _operator_changed(self, *_: object) -> None:
        if self._quiet or self.pending:
            return
        self.pending = True
        self.spin.setStyleSheet(PENDING_STYLE)
        self.spin.setProperty("pending", True)
        self.label.setVisible(True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Focus left without an edit: run the update that waited for it."""
        if event.type() == QEvent.Type.FocusOut and not self.pending:
            self._run_deferred()
        return False

    # -- the panel --------------------------------------------------------------------------------
    @property
    def editing(self) -> bool:
        """The operator has the field: it has focus or holds unsent edits."""
        return self.pending or self.spin.hasFocus()

    def update(self, change: Callable[[], None]) -> bool:
        """Run a live ``change`` of the field now, or keep it (the newest only) until the edit
        ends; True when it ran."""
        if self.editing:
            self._deferred = change
            return False
        self._deferred = None
        self._apply(change)
        return True

    def set_value(self, value: float) -> bool:
        """Show a value from the device unless the operator is editing."""
        return self.update(lambda: self.spin.setValue(value))

    def value_to_send(self) -> float:
        """Exactly what the field shows, as a number; ValueOutOfRange when it is not a valid value."""
        return shown_value(self.spin, self.what)

    def sent(self) -> None:
        """The shown value went to the device: no longer pending; the waiting update may run."""
        self._apply(self.spin.interpretText)  # the field's own value = the text sent
        self._clear()

    def discard(self) -> None:
        """Drop the operator's edit (the device's value is shown again when it next comes)."""
        self._clear()

    def _clear(self) -> None:
        self.pending = False
        self.spin.setStyleSheet("")
        self.spin.setProperty("pending", False)
        self.label.setVisible(False)
        if not self.spin.hasFocus():
            self._run_deferred()

    def _run_deferred(self) -> None:
        change, self._deferred = self._deferred, None
        if change is not None:
            self._apply(change)

    def _apply(self, change: Callable[[], None]) -> None:
        self._quiet = True
        try:
            change()
        finally:
            self._quiet = False


def shown_value(spin: QDoubleSpinBox | QSpinBox, what: str) -> float:
    """The number a spin box shows. A spin box keeps its last valid value while its text is
    not one (``-``, empty, out of range); sending that would send something not shown, so this
    raises :class:`~benchgui.errors.ValueOutOfRange` instead."""
    text = spin.text()
    if spin.specialValueText() and text == spin.specialValueText():
        return float(spin.minimum())  # "auto", "default": what Qt shows for the minimum
    state = spin.validate(text, len(text))[0]
    if state is not QValidator.State.Acceptable:
        raise ValueOutOfRange(f"{what}: {spin.cleanText() or '(empty)'!r} is not a valid value")
    return float(spin.valueFromText(text))
