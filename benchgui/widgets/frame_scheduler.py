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

from PySide6.QtCore import QPoint, QRect, QTimer
from PySide6.QtWidgets import QWidget

# the rate caps: the configured ``display.redraw_hz`` normally, this with --low-power
LOW_POWER_HZ = 2.0
# the longest the window's timer sleeps between two ticks: what changes the picture without
# saying so (nothing known today; a safety net) shows within this. Operator actions, a new
# trace, a resize and a store fetch in flight wake it at once (MainWindow.request_frame).
IDLE_TICK_S = 0.5
# after the moment the window is due to scroll: a timer that fires a millisecond early would
# find the column not yet passed and sleep again for a whole rate-cap period
COLUMN_MARGIN_S = 0.002


def tick_wait_s(rate_cap_s: float, *due_in_s: float) -> float:
    """How long the window's timer may sleep: until the first of ``due_in_s`` (seconds until
    something may need a frame: the next pixel column, the readouts, new samples' turn), at most
    :data:`IDLE_TICK_S`, at least the rate cap. Issue 19: a tick at 20 Hz that found nothing to
    draw still cost ~0.25 ms of CPU (measured in the GUI with the simulators: ~0.4 % of a core
    for 18 of the 20 ticks a second in the 5-minute window); the window only scrolls ~2.4 times
    a second there."""
    return max(rate_cap_s, min((IDLE_TICK_S, *due_in_s)))


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


def snap_session(start: float, t_end: float, columns: int) -> tuple[float, float]:
    """The whole session from ``start``: the right edge advances in steps of a power of two
    seconds at least one pixel column of the present span wide (the step changes only when
    the span doubles), so the view moves once per column, not at every reading of the clock."""
    span = max(t_end, start + 1) - start
    step = 2.0 ** math.ceil(math.log2(span / max(columns, 1)))
    return (start, start + math.ceil(span / step) * step)


def pause_timers(widget: QWidget, paused: bool) -> None:
    """Stop (or restart) the repeating refresh timers of a panel that says
    ``pause_when_hidden = True`` while its dock is tabbed behind another (issue 19: hidden
    docks cost nothing). Opt-in: a panel's timer may drive more than its dock (the safety
    panel's keeps the banner above the plots current)."""
    if not getattr(widget, "pause_when_hidden", False):
        return
    for timer in widget.findChildren(QTimer):
        if timer.isSingleShot():
            continue
        if paused and timer.isActive():
            timer.stop()
            timer.setProperty("benchgui_paused", True)
        elif not paused and timer.property("benchgui_paused"):
            timer.setProperty("benchgui_paused", False)
            timer.start()
            timer.timeout.emit()  # what changed meanwhile, at once


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
        self.on_invalidate: Callable[[], None] | None = None  # the window's timer: tick soon

    def invalidate(self) -> None:
        """Something outside the state changed (a comparison overlay, a marker, a new trace)."""
        self._dirty = True
        if self.on_invalidate is not None:
            self.on_invalidate()

    def data_due_in(self, min_interval_s: float) -> float:
        """Seconds until news in the data alone may be drawn (≤ 0: now)."""
        return self._last_s + min_interval_s - self.clock()

    def due(self, view: Hashable, data: Hashable, min_interval_s: float | Callable[[], float] = 0.0) -> bool:
        """True when a frame must be drawn now (then call :meth:`drawn`). ``min_interval_s`` may
        be a callable, asked only when the data alone changed."""
        self.checks += 1
        if self.mode is RedrawMode.FIXED or self._dirty or view != self._view:
            return True
        if data != self._data:
            wait = min_interval_s() if callable(min_interval_s) else min_interval_s
            if self.clock() - self._last_s >= wait:
                return True
        self.skipped += 1
        return False

    def drawn(self, view: Hashable, data: Hashable) -> None:
        self._view, self._data = view, data
        self._last_s = self.clock()
        self._dirty = False
