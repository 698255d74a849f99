"""Parts of the main window that keep it steady and say what closing stops.

* :func:`fix_width`: a toolbar button as wide as its widest text (Pause/Resume), so nothing to
  its right — the EMERGENCY STOP — moves when the text changes.
* :func:`scrolled`: a panel in a scroll area, so a tab group's largest minimum size scrolls
  instead of growing the window past its screen.
* :func:`what_stops`: the lines of the *Close benchgui?* question.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QScrollArea, QToolBar, QWidget

from benchgui.core.bench import Bench
from benchgui.core.programs.runner import RunnerState


class PanelScroll(QScrollArea):
    """Asks for the width its panel needs at least (as the bare panel did), not its comfortable
    width: the plots keep the room, the panel scrolls only when the window is really small."""

    def sizeHint(self) -> QSize:
        inner = self.widget()
        if inner is None:
            return super().sizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(inner.minimumSizeHint().width() + bar, inner.sizeHint().height())


def fix_width(tb: QToolBar, action: QAction, texts: tuple[str, ...]) -> None:
    """A toolbar button as wide as its widest text: when Pause becomes Resume nothing to its
    right (the EMERGENCY STOP) may move."""
    button = tb.widgetForAction(action)
    if button is None:
        return
    widths = []
    for text in texts:
        action.setText(text)
        widths.append(button.sizeHint().width())
    action.setText(texts[0])
    button.setFixedWidth(max(widths))


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area: a panel's minimum size then scrolls instead of
    making the window bigger than its screen (a tabbed dock or view asks for the largest
    minimum of all its pages: the LabJack panel's height, the verification view's width)."""
    area = PanelScroll()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


def what_stops(bench: Bench) -> list[str]:
    """What closing the window would end now: a running or paused program (with its step),
    the recording session."""
    stops: list[str] = []
    runner = bench.services.programs
    if runner is not None:
        snap = runner.snapshot()
        if snap.state in (RunnerState.RUNNING, RunnerState.PAUSED):
            paused = ", paused" if snap.state is RunnerState.PAUSED else ""
            stops.append(
                f"the program “{snap.program}” at step {snap.leaf} of {snap.leaves}"
                f" ({snap.step_text}{paused}) — the load is switched off"
            )
    session = bench.session
    if session is not None and session.running:
        stops.append(f"the recording of session {session.id}")
    return stops
