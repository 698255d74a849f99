"""Plain-text helpers: h:mm:ss, the one-line label that never widens its window, style sheets
set only on change."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel

from benchgui.widgets.text import ElidedLabel, hms, set_style


def test_durations_read_as_h_mm_ss() -> None:
    assert hms(86400) == "24:00:00"  # not "86400 s"
    assert hms(3725.4) == "1:02:05"
    assert hms(0) == "0:00:00"
    assert hms(-3) == "0:00:00"


def test_elided_label_keeps_the_whole_text_and_asks_for_no_width(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = ElidedLabel()
    qtbot.addWidget(label)
    label.resize(120, 20)
    label.show()
    long = "a program description " * 20
    label.setText(long)
    assert label.text() == long
    assert label.shown_text().endswith("…")
    assert label.toolTip() == long
    assert label.sizeHint().width() == 0
    assert label.minimumSizeHint().width() == 0
    label.setText("<b>short</b>")
    assert label.shown_text() == "<b>short</b>"  # plain text: shown as written, never markup


def test_set_style_repolishes_only_on_change(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = QLabel("x")
    qtbot.addWidget(label)
    changes: list[int] = []

    class Counter(QObject):
        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.StyleChange:
                changes.append(1)
            return False

    counter = Counter()
    label.installEventFilter(counter)
    set_style(label, "color: red;")
    first = len(changes)
    assert first >= 1
    for _ in range(5):
        set_style(label, "color: red;")
    assert len(changes) == first
