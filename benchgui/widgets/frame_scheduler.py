"""When the live plots need a frame: on change, not at a fixed rate.

The screen is the costliest thing the GUI does (issue 19: a fixed 20 Hz redraw took ~22 % of
an x86 core while samples arrive at 1–10 Hz). A frame is due only when what it would show
differs from the last one drawn: new samples for a trace, a moved view, or a scrolling window
that advanced by at least one pixel column (:func:`snap_range` lets it advance in whole columns).
The check is a handful of comparisons, so the window's timer can ask at the rate cap and pay
almost nothing while nothing changes. ``fixed`` keeps the old behaviour (a frame every tick) for
the benchmark's baseline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from enum import StrEnum

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget

# the rate caps: the configured ``display.redraw_hz`` normally, this with --low-power
LOW_POWER_HZ = 2.0


class RedrawMode(StrEnum):
    CHANGES = "changes"  # a frame when something visible changed (the default)
    FIXED = "fixed"  # a frame every tick, whatever arrived (before issue 19; the benchmark's baseline)


def on_screen(widget: QWidget) -> bool:
    """Whether any of ``widget`` can be seen. A dock tabbed behind another is moved outside its
    window, not hidden (``isVisible()`` stays True)."""
    if not widget.isVisible():
        return False
    top = widget.window()
    return top.rect().intersects(QRect(widget.mapTo(top, QPoint(0, 0)), widget.size()))


def snap_range(t_end: float, span: float, columns: int) -> tuple[float, float]:
    """A window of ``span`` seconds ending at ``t_end``, its end rounded up to a whole pixel
    column (of the window's own width), so a scrolling view moves in whole columns and a
    frame is due at most once per column however often the clock is read."""
    if not (span > 0 and math.isfinite(t_end) and columns > 0):
        return (t_end - span, t_end)
    width = span / columns
    end = math.ceil(t_end / width) * width
    return (end - span, end)


class FrameScheduler:
    """Remembers what the last frame showed and says whether a new state needs another.

    The state comes in two parts: ``view`` (the visible range, which scrolls in whole columns,
    the width in columns, what the store delivered) and ``data`` (each visible trace's sample
    count). A changed view is drawn at once — scrolling and the operator's zoom stay immediate;
    news in the data alone waits until ``min_interval_s`` has passed since the last frame (the
    window passes one pixel column of time, at most 1 s), so samples arriving at 10 Hz from
    three instruments do not each cost a frame: the newest column is drawn once per column.
    """

    def __init__(
        self, mode: RedrawMode = RedrawMode.CHANGES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.mode = mode
        self.clock = clock  # wall time: frame pacing is about the CPU, not about bench time
        self._view: Hashable | None = None
        self._data: Hashable | None = None
        self._last_s = -math.inf
        self._dirty = True  # nothing drawn yet
        self.checks = 0  # how often a frame was asked for
        self.skipped = 0  # … and found unnecessary (or not yet)

    def invalidate(self) -> None:
        """Something outside the state changed (a comparison overlay, a marker, a new trace)."""
        self._dirty = True

    def due(self, view: Hashable, data: Hashable, min_interval_s: float = 0.0) -> bool:
        """True when a frame must be drawn now (then call :meth:`drawn`)."""
        self.checks += 1
        if self.mode is RedrawMode.FIXED or self._dirty or view != self._view:
            return True
        if data != self._data and self.clock() - self._last_s >= min_interval_s:
            return True
        self.skipped += 1
        return False

    def drawn(self, view: Hashable, data: Hashable) -> None:
        self._view, self._data = view, data
        self._last_s = self.clock()
        self._dirty = False
