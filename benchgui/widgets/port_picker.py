"""The "Serial ports" panel: pick the port of the EA load and of the MPPT from the ports present.

Each serial instrument has a row: a combo box listing the serial ports found (device and USB
description; the box is editable, so a udev name such as ``/dev/ea-load`` can be typed), and
*Apply*, which saves the port in the configuration file and reconnects the instrument there —
through the core's ``ports`` service (:class:`~benchgui.core.ports.PortService`). *Refresh*
lists the ports again (after plugging an adapter in). No I/O here: listing, saving and
reconnecting are the service's coroutines, run by the panel's bridge; their outcome appears in
the message line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from benchgui.core.bench import Bench
from benchgui.core.ports import PortService, SerialPort
from benchgui.widgets.bridge import Bridge

if TYPE_CHECKING:  # the main window does not import its panels; only its type is named
    from benchgui.widgets.main_window import MainWindow

log = logging.getLogger(__name__)

T = TypeVar("T")


class PortPicker(QWidget):
    def __init__(self, service: PortService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.combos: dict[str, QComboBox] = {}
        self.apply_buttons: dict[str, QPushButton] = {}
        self.bridge = Bridge(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        for target in service.targets:
            combo = QComboBox()
            combo.setEditable(True)
            combo.setMinimumContentsLength(14)  # long paths must not widen the dock area
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setToolTip(f"serial port of the {target.label} (instruments.{target.key}.port)")
            button = QPushButton("Apply")
            button.setToolTip("save in the configuration file and reconnect on this port")
            button.clicked.connect(lambda _=False, key=target.key: self.apply(key))
            row = QHBoxLayout()
            row.addWidget(combo, 1)
            row.addWidget(button)
            form.addRow(target.label, row)
            self.combos[target.key] = combo
            self.apply_buttons[target.key] = button
        lay.addLayout(form)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("list the serial ports present again")
        self.refresh_button.clicked.connect(self.refresh)
        lay.addWidget(self.refresh_button)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        lay.addStretch(1)
        self.bridge.listen(service.ports_changed, self._fill)
        self._fill(service.ports)

    # -- display -----------------------------------------------------------------------------------
    def _fill(self, ports: list[SerialPort]) -> None:
        for key, combo in self.combos.items():
            typed = combo.currentText().strip() or self.service.current_port(key)
            combo.blockSignals(True)
            combo.clear()
            for p in ports:
                combo.addItem(p.label, p.device)
            i = combo.findData(typed)
            if i >= 0:
                combo.setCurrentIndex(i)
            else:
                combo.setEditText(typed)
            combo.blockSignals(False)

    def chosen(self, key: str) -> str:
        """The port in the row: the listed device, or what was typed."""
        combo = self.combos[key]
        i = combo.currentIndex()
        if i >= 0 and combo.itemText(i) == combo.currentText():
            return str(combo.itemData(i))
        return combo.currentText().strip()

    # -- commands ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._start(self.service.refresh(), "Listing serial ports", lambda r: f"{len(r)} serial ports found")

    def apply(self, key: str) -> None:
        port = self.chosen(key)
        label = next(t.label for t in self.service.targets if t.key == key)
        self._start(
            self.service.set_port(key, port),
            f"{label} on {port}",
            lambda now: "saved; reconnecting there" if now else "saved; applies at the next start",
        )

    def _start(self, coro: Coroutine[Any, Any, T], what: str, done: Callable[[T], str]) -> None:
        """Run a service command; ``done`` words its result for the message line."""
        self.message.setText(f"{what}…")
        self.bridge.run(
            coro,
            done=lambda result: self.message.setText(f"{what}: {done(result)}"),
            failed=lambda exc: self._failed(what, exc),
            cancelled=lambda: self.message.setText(f"{what}: cancelled"),
        )

    def _failed(self, what: str, exc: BaseException) -> None:
        log.warning("%s failed: %s", what, exc)
        self.message.setText(f"<span style='color:#d62728'>{what} failed: {exc}</span>")


def create_panel(window: MainWindow, bench: Bench) -> QWidget | None:
    """Add the port picker when the bench has instruments on serial ports."""
    service = bench.services.ports
    if service is None or not service.targets:
        return None
    panel = PortPicker(service)
    before = window.findChildren(QDockWidget)
    dock = window.add_panel("Serial ports", panel)
    others = [d for d in window.tabifiedDockWidgets(dock) if d in before]
    if others:  # a set-up panel: leave the front of its tab group to the panel that had it
        others[-1].raise_()
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # built outside the event loop (tests): Refresh lists them later
        return panel
    panel.refresh()
    return panel
