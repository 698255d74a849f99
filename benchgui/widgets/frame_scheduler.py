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
from collections.abc import Hashable
from enum import StrEnum

# the rate caps: the configured ``display.redraw_hz`` normally, this with --low-power
LOW_POWER_HZ = 2.0


class RedrawMode(StrEnum):
    CHANGES = "changes"  # a frame when something visible changed (the default)
    FIXED = "fixed"  # a frame every tick, whatever arrived (before issue 19; the benchmark's baseline)


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

    ``state`` is anything hashable that changes when the picture would: the plots pass the
    visible range, the plot width in columns and each visible trace's newest sample time.
    """

    def __init__(self, mode: RedrawMode = RedrawMode.CHANGES) -> None:
        self.mode = mode
        self._drawn: Hashable | None = None
        self._dirty = True  # nothing drawn yet
        self.checks = 0  # how often a frame was asked for
        self.skipped = 0  # … and found unnecessary

    def invalidate(self) -> None:
        """Something outside ``state`` changed (a comparison overlay, a marker, a resize)."""
        self._dirty = True

    def due(self, state: Hashable) -> bool:
        """True when a frame must be drawn for ``state`` (then call :meth:`drawn`)."""
        self.checks += 1
        if self.mode is RedrawMode.FIXED or self._dirty or state != self._drawn:
            return True
        self.skipped += 1
        return False

    def drawn(self, state: Hashable) -> None:
        self._drawn = state
        self._dirty = False
