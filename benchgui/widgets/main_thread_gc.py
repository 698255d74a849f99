"""Python's cyclic garbage collection, on the GUI thread only, while Qt runs.

The collector runs in whichever thread happens to allocate when a threshold is crossed. If it
frees Python wrappers of Qt objects on a worker thread (the recorder's writer, the InfluxDB
forwarder, the plot history pool), that thread destroys QObjects: Qt takes its object mutex and
then wants the GIL, while the GUI thread, holding the GIL, deletes another QObject and waits for
the same mutex. The tests caught exactly this — the forwarder thread's collection ran
``QObject::~QObject`` while the GUI thread deleted a window's actions — and the process hung.

So while the GUI runs, automatic collection is off and a timer on the GUI thread collects with
the usual thresholds (pyqtgraph's ``GarbageCollector`` does the same; this one can be stopped,
which gives automatic collection back). Reference counting frees everything else as before.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class MainThreadGC(QObject):
    def __init__(self, interval_s: float = 0.5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.collections = 0
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.check)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds (as gc would)."""
        l0, l1, l2 = gc.get_count()
        t0, t1, t2 = self.threshold
        if l0 > t0:
            gc.collect(2 if (l1 > t1 and l2 > t2) else 1 if l1 > t1 else 0)
            self.collections += 1
