"""Plain text for the operator: durations as h:mm:ss, and a one-line label that never widens
its window (long text ends in "…").

Why the label: a QLabel asks for the width of its whole text, so a long program description or safety
message made the dock, and with it the main window, grow past the screen. This label asks for
no width at all, shows as much as fits and keeps the whole text in ``text()`` and the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


def hms(seconds: float) -> str:
    """86400 → ``24:00:00``: a discharge time an operator reads at a glance (not 86400 s)."""
    s = max(0, round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def set_style(widget: QWidget, css: str) -> None:
    """Set a style sheet only when it changes: every call re-polishes the widget, which on a
    250-ms refresh timer costs CPU for nothing."""
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)  # shown as written: never markup
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def text(self) -> str:  # type: ignore[override]
        """The whole text, however much of it is shown."""
        return self._full

    def setText(self, text: str) -> None:  # type: ignore[override]
        if text != self._full:
            self._full = text
            self._elide()

    def clear(self) -> None:
        self.setText("")

    def shown_text(self) -> str:
        return super().text()

    def _elide(self) -> None:
        width = max(1, self.contentsRect().width())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        if shown != super().text():
            super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def sizeHint(self) -> QSize:
        return QSize(0, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())
