"""A yes/no question that does not block: for commands that must be confirmed first.

Not ``exec()``: a nested event loop under qasync would run the core's tasks inside a click
handler. The answer arrives in a callback; panels keep the function as an attribute so that
tests inject their own (answering at once, recording the question).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

#: asks the operator a yes/no question and calls back with the answer
Confirm = Callable[[str, Callable[[bool], None]], None]


def ask_yes_no(parent: QWidget, title: str, question: str, answer: Callable[[bool], None]) -> QMessageBox:
    """Open a window-modal question with *No* as the default button (Return keeps things as
    they are); ``answer`` gets True for *Yes*."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.finished.connect(lambda result: answer(result == QMessageBox.StandardButton.Yes.value))
    box.finished.connect(box.deleteLater)
    box.open()
    return box
