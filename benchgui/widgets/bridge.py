"""Bridge from the core's plain-Python signals to Qt signals.

Core signals may fire on other threads (the recorder's writer thread); Qt queues signals that
cross threads to the GUI thread, so slots always run where widgets live.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from benchgui.core.bench import Bench


class CoreBridge(QObject):
    status_changed = Signal(object)  # InstrumentStatus
    event_recorded = Signal(object)  # Event
    session_changed = Signal(object)  # Session | None
    channels_added = Signal(object)  # list[Channel]
    recorder_state = Signal(object)  # RecorderState

    def __init__(self, bench: Bench, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        bench.status_changed.connect(self.status_changed.emit)
        bench.event_recorded.connect(self.event_recorded.emit)
        bench.session_changed.connect(self.session_changed.emit)
        bench.channels_added.connect(self.channels_added.emit)
        if bench.recorder is not None:
            bench.recorder.state_changed.connect(self.recorder_state.emit)
