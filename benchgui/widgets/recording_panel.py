"""The recording panel: where the data goes — the local store and, when configured, InfluxDB.

Shows the forwarder's state (``bench.services.forwarder``): connected or not, the backlog
waiting on disk, the last acknowledged write, the last error, points quarantined as bad data,
and offers "Retry now" (ends a back-off wait). During a replay it says what is replayed.
The forwarder reports from its own thread; the panel's bridge brings each state to the GUI
thread, and a 1 s timer keeps the "… s ago" texts current. The panel never touches the store or the network.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from benchgui.clock import ns_to_s
from benchgui.core.bench import Bench
from benchgui.core.forwarder import ForwarderState
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.host import PanelHost

GREEN, RED, GREY = "#2ca02c", "#d62728", "#7f7f7f"


def _ago(t_ns: int | None, now_s: float) -> str:
    if t_ns is None:
        return "never"
    dt = max(0.0, now_s - ns_to_s(t_ns))
    stamp = time.strftime("%H:%M:%S", time.localtime(ns_to_s(t_ns)))
    if dt < 90:
        return f"{stamp} ({dt:.0f} s ago)"
    if dt < 5400:
        return f"{stamp} ({dt / 60:.0f} min ago)"
    return f"{stamp} ({dt / 3600:.1f} h ago)"


class RecordingPanel(QWidget):
    pause_when_hidden = True  # its timer only refreshes this dock (MainWindow pauses it behind a tab)

    def __init__(self, bench: Bench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.forwarder = bench.services.forwarder
        self.replay = bench.services.replay
        self.bridge = Bridge(self)
        self._setup_ui()
        if self.forwarder is not None:
            self.bridge.listen(self.forwarder.state_changed, self.show_state)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(1000)
        self.refresh()

    def _setup_ui(self) -> None:
        lay = QVBoxLayout(self)
        form = QFormLayout()
        rec = self.bench.recorder
        if self.replay is not None:
            store_text = f"replaying {self.replay.session.id} at {self.replay.speed:g}× (nothing recorded)"
        else:
            store_text = str(rec.store_path) if rec is not None else "not recording"
        self.store_label = QLabel(store_text)
        self.store_label.setWordWrap(True)
        form.addRow("Local store:", self.store_label)
        self.target_label = QLabel(
            self.forwarder.target.describe()
            if self.forwarder is not None
            else "not configured (local store only)"
        )
        self.target_label.setWordWrap(True)
        form.addRow("InfluxDB:", self.target_label)
        self.connected_label = QLabel("—")
        self.backlog_label = QLabel("—")
        self.success_label = QLabel("—")
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.quarantine_label = QLabel("0")
        if self.forwarder is not None:
            form.addRow("State:", self.connected_label)
            form.addRow("Backlog:", self.backlog_label)
            form.addRow("Last success:", self.success_label)
            form.addRow("Last error:", self.error_label)
            form.addRow("Quarantined:", self.quarantine_label)
        lay.addLayout(form)
        self.retry_button = QPushButton("Retry now")
        self.retry_button.setToolTip("Try the server again without waiting for the back-off")
        self.retry_button.setVisible(self.forwarder is not None)
        self.retry_button.clicked.connect(self.retry)
        lay.addWidget(self.retry_button)
        lay.addStretch(1)

    def retry(self) -> None:
        if self.forwarder is not None:
            self.forwarder.wake()

    def refresh(self) -> None:
        if self.forwarder is not None:
            self.show_state(self.forwarder.state)

    def show_state(self, st: ForwarderState) -> None:
        """Render the forwarder's state."""
        if not st.running:
            text, color = "stopped", GREY
        elif st.connected is None:
            text, color = "connecting…", GREY
        elif st.connected:
            text, color = "connected", GREEN
        else:
            wait = f", retry in {st.retry_in_s:.1f} s" if st.retry_in_s else ""
            text, color = f"not connected{wait}", RED
        self.connected_label.setText(f"<b style='color:{color}'>● {text}</b>")
        backlog = f"{st.backlog_samples:,} samples, {st.backlog_events:,} events waiting on disk"
        self.backlog_label.setText(backlog if st.backlog else "none — everything forwarded")
        now = time.time()
        self.success_label.setText(_ago(st.last_success_ns, now))
        err = st.last_error
        self.error_label.setText(f"{err} — {_ago(st.last_error_ns, now)}" if err else "none")
        self.quarantine_label.setText(
            f"{st.quarantined:,}" + (" (benchgui forward --quarantined)" if st.quarantined else "")
        )


def create_panel(window: PanelHost, bench: Bench) -> QWidget | None:
    """Always applies: the local store is always there; InfluxDB shows when configured."""
    panel = RecordingPanel(bench)
    window.add_panel("Recording", panel)
    return panel
