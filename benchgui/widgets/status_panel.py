"""Per-instrument status indicators: a coloured lamp and the state in words."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from benchgui.model import InstrumentState, InstrumentStatus

COLORS = {
    InstrumentState.CONNECTED: "#2ca02c",
    InstrumentState.CONNECTING: "#ff7f0e",
    InstrumentState.RECONNECTING: "#ff7f0e",
    InstrumentState.ERROR: "#d62728",
    InstrumentState.DISABLED: "#999999",
    InstrumentState.STOPPED: "#999999",
}
NAMES = {"labjack": "LabJack T7", "mppt": "MPPT 1210 HUS", "load": "EA load"}


class StatusPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self.rows: dict[str, tuple[QLabel, QLabel]] = {}

    def set_status(self, status: InstrumentStatus) -> None:
        row = self.rows.get(status.instrument)
        if row is None:
            lamp, text = QLabel("●"), QLabel()
            text.setWordWrap(True)
            n = len(self.rows)
            self._layout.addWidget(QLabel(f"<b>{NAMES.get(status.instrument, status.instrument)}</b>"), n, 0)
            self._layout.addWidget(lamp, n, 1)
            self._layout.addWidget(text, n, 2)
            self._layout.setColumnStretch(2, 1)
            row = self.rows[status.instrument] = (lamp, text)
        lamp, text = row
        lamp.setStyleSheet(f"color: {COLORS.get(status.state, '#999')}; font-size: 18pt;")
        text.setText(status.describe())
        text.setToolTip(status.describe())

    def text_of(self, instrument: str) -> str:
        row = self.rows.get(instrument)
        return row[1].text() if row else ""
