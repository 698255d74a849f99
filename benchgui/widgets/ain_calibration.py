"""The AIN panel's two-point calibration box: capture two (reading, reference) points, calibrate.

Its own module because it is its own job: the panel edits a channel's input and transfer
function, this box turns two captured points into the channel's ``calibration`` table (the
math is the ``ain_settings`` service's) and has the panel apply it.
"""

from __future__ import annotations

from typing import Any, Protocol

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from benchgui.core.ain_settings import AinSettings, Point
from benchgui.errors import BenchError, ValueOutOfRange
from benchgui.widgets.edit_guard import shown_value


class CalibrationHost(Protocol):
    """What the box needs of the panel it sits in."""

    settings: AinSettings
    dirty: bool

    def current(self) -> dict[str, Any] | None: ...

    def validate(self) -> bool: ...

    def start_apply(self) -> None: ...

    def _status(self, text: str, error: bool = False) -> None: ...


class CalibrationBox(QGroupBox):
    def __init__(self, host: CalibrationHost, parent: QWidget | None = None) -> None:
        super().__init__("Calibration (two points)", parent)
        self.host = host
        self.points: list[Point | None] = [None, None]
        cl = QFormLayout(self)
        self.lb_cal = QLabel()
        self.lb_cal.setWordWrap(True)
        self.sp_ref = QDoubleSpinBox()
        self.sp_ref.setRange(-1e6, 1e6)
        self.sp_ref.setDecimals(4)
        self.btn_p1, self.btn_p2 = QPushButton("Capture point 1"), QPushButton("Capture point 2")
        self.btn_cal, self.btn_cal_reset = QPushButton("Calibrate"), QPushButton("Clear")
        row = QHBoxLayout()
        for b in (self.btn_p1, self.btn_p2, self.btn_cal, self.btn_cal_reset):
            row.addWidget(b)
        self.lb_points = QLabel("—")
        cl.addRow(self.lb_cal)
        cl.addRow("Reference value", self.sp_ref)
        cl.addRow(row)
        cl.addRow("Points", self.lb_points)
        self.btn_p1.clicked.connect(lambda: self.capture(0))
        self.btn_p2.clicked.connect(lambda: self.capture(1))
        self.btn_cal.clicked.connect(self.calibrate)
        self.btn_cal_reset.clicked.connect(self.clear)

    def restart(self) -> None:
        """Another channel: its points start over."""
        self.points = [None, None]
        self.show_channel()

    def capture(self, index: int) -> None:
        host = self.host
        ch = host.current()
        if ch is None:
            return
        if host.dirty:
            host._status("Apply the channel settings before calibrating.", error=True)
            return
        try:
            reference = shown_value(self.sp_ref, "Reference value")
        except ValueOutOfRange as exc:
            host._status(f"{exc}; no point captured", error=True)
            return
        point = host.settings.capture(ch["quantity"], reference)
        if point is None:
            host._status("No reading yet for this channel.", error=True)
            return
        self.points[index] = point
        self.show_channel()

    def calibrate(self) -> None:
        host = self.host
        ch = host.current()
        p1, p2 = self.points
        if ch is None or p1 is None or p2 is None:
            host._status("Capture two points first (reading and reference value each).", error=True)
            return
        try:
            ch["calibration"] = host.settings.calibration(p1, p2)
        except BenchError as exc:
            host._status(f"Cannot calibrate: {exc}", error=True)
            return
        self.points = [None, None]
        self.show_channel()
        if host.validate():
            host.start_apply()

    def clear(self) -> None:
        ch = self.host.current()
        if ch is not None:
            ch.pop("calibration", None)
            self.show_channel()
            if self.host.validate():
                self.host.start_apply()

    def show_channel(self) -> None:
        ch = self.host.current() or {}
        cal = ch.get("calibration") or {}
        if cal.get("calibrated_at"):
            self.lb_cal.setText(
                f"gain {cal.get('gain', 1.0):.6f}, offset {cal.get('offset', 0.0):+.6f}"
                f" — {cal['calibrated_at']}"
            )
        else:
            self.lb_cal.setText("not calibrated")
        self.lb_points.setText(
            "   ".join(
                f"{i + 1}: {p[0]:.5g} → {p[1]:.5g}" if p else f"{i + 1}: —" for i, p in enumerate(self.points)
            )
        )
