"""Big numeric readouts, readable from two metres away.

They show a few times a second, not at every sample: the LabJack publishes at 10 Hz, and a number
that changes ten times a second cannot be read (a bench multimeter shows 2–5 readings a second).
Each new text is a repaint of its label and a copy of the window to the screen: at the
instruments' rates the readouts cost ~0.6 % of a core more than at 4 Hz (issue 19, README). So
they show together with a frame of the plots, at least :data:`READOUT_WITH_FRAME_S` apart (the
repaint and the copy to the screen are then shared), and otherwise every
:data:`READOUT_PERIOD_S` (no frame drawn: a long window, the plots behind another tab).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QWidget


@dataclass(frozen=True)
class ReadoutSpec:
    channel: str
    label: str
    unit: str
    digits: int = 3


DEFAULT_READOUTS = (  # two columns: the reference and the charger side by side, then the load
    ReadoutSpec("battery.voltage.labjack", "V LabJack", "V", 3),
    ReadoutSpec("battery.voltage.mppt", "V MPPT", "V", 2),
    ReadoutSpec("battery.current.labjack", "I LabJack", "A", 3),
    ReadoutSpec("battery.current.mppt", "I MPPT", "A", 2),
    ReadoutSpec("battery.power.labjack", "P LabJack", "W", 1),
    ReadoutSpec("battery.power.mppt", "P MPPT (charger)", "W", 1),
    ReadoutSpec("battery.voltage.load", "V Load", "V", 3),
    ReadoutSpec("battery.current.load", "I Load", "A", 3),
    ReadoutSpec("battery.power.load", "P Load", "W", 1),
    ReadoutSpec("soc.mppt", "SOC MPPT", "%", 0),
)
READOUT_WITH_FRAME_S = 0.2  # wall time: the shortest gap between two showings (with frames)
READOUT_PERIOD_S = 0.5  # wall time: the longest gap while values change (without frames)


class Readout(QFrame):
    def __init__(self, spec: ReadoutSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QGridLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        self.caption = QLabel(spec.label)
        self.caption.setStyleSheet("color: #555;")
        self.value = QLabel("—")
        self._stale: bool | None = None
        f = QFont()
        f.setPointSize(26)
        f.setBold(True)
        self.value.setFont(f)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # A fixed size: a new text then repaints the label alone. With a free size every text
        # change re-lays out the readouts dock (Qt's updateGeometry): 60 % more CPU
        # per ten changes at the instruments' 1–10 Hz (measured: 0.59 → 0.37 ms, xcb). As wide
        # as before (150 px: -88 with the channel's decimals); a wider value widens it once.
        self._metrics = QFontMetrics(f)
        widest = "-88" + ("." + "8" * spec.digits if spec.digits > 0 else "")
        self.value.setFixedSize(max(150, self._text_width(widest)), self._metrics.height() + 4)
        # Opaque: the label fills its own background (the frame's colour), so a new text repaints
        # the label alone. Transparent, each change also painted the readout's frame, the panel
        # and the dock's widget under it: four paints instead of one (~7 changes a second on the
        # demo, counted with an event filter under xcb).
        self.value.setBackgroundRole(self.backgroundRole())
        self.value.setAutoFillBackground(True)
        unit = QLabel(spec.unit)
        uf = QFont()
        uf.setPointSize(14)
        unit.setFont(uf)
        lay.addWidget(self.caption, 0, 0, 1, 2)
        lay.addWidget(self.value, 1, 0)
        lay.addWidget(unit, 1, 1)

    def set_value(self, v: float | None, stale: bool = False) -> None:
        text = "—" if v is None or not math.isfinite(v) else f"{v:.{self.spec.digits}f}"
        if text != self.value.text():
            if (needed := self._text_width(text)) > self.value.width():
                self.value.setFixedWidth(needed)  # a value wider than planned for: room, once
            self.value.setText(text)
        if stale != self._stale:  # a style sheet change re-polishes the widget: only on change
            self._stale = stale
            self.value.setStyleSheet("color: #999;" if stale else "color: #000;")

    def _text_width(self, text: str) -> int:
        return self._metrics.horizontalAdvance(text) + 8


class ReadoutPanel(QWidget):
    """A column of readouts; ``latest(channel)`` supplies (t, value) or None; ``clock`` is the
    wall clock that paces them (:meth:`due`)."""

    def __init__(
        self,
        latest: Callable[[str], tuple[float, float] | None],
        specs: Sequence[ReadoutSpec] = DEFAULT_READOUTS,
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.latest = latest
        self.clock = clock
        self._shown_at = -math.inf
        lay = QGridLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.readouts = {s.channel: Readout(s) for s in specs}
        for i, r in enumerate(self.readouts.values()):
            lay.addWidget(r, i // 2, i % 2)
        lay.setRowStretch(len(self.readouts), 1)

    def due(self, with_frame: bool) -> bool:
        """Whether the readouts should show again (module text); ``with_frame``: the plots drew a
        frame in this tick."""
        wait = READOUT_WITH_FRAME_S if with_frame else READOUT_PERIOD_S
        return self.clock() - self._shown_at >= wait

    def due_in(self) -> float:
        """Seconds until the readouts are due without a frame (≤ 0: now)."""
        return self._shown_at + READOUT_PERIOD_S - self.clock()

    def refresh(self, now_s: float, stale_after_s: float = 5.0) -> None:
        """Show every channel's latest value now (grey when older than ``stale_after_s``)."""
        self._shown_at = self.clock()
        for name, r in self.readouts.items():
            last = self.latest(name)
            if last is None:
                r.set_value(None)
            else:
                r.set_value(last[1], stale=now_s - last[0] > stale_after_s)
