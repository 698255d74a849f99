"""Which readings are measurements: a sample flagged OVER_RANGE or SUSPECT is not one.

A LabJack input within 2 % of its range limit is probably clipped (``SampleFlag.OVER_RANGE``,
set by the source); a clipped battery voltage read 5.000 V on a 13.5 V battery, tripped the
cut-off and made a capacity program report 0.0024 Ah (issue 23). Every judge of values — the
interlocks, the program meter, verification and the SOC filter — drops such samples and counts
them; a program refuses to start on a measuring channel that reads flagged values.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from benchgui.errors import BenchError
from benchgui.model import SampleFlag

if TYPE_CHECKING:
    from benchgui.core.bench import Bench

log = logging.getLogger(__name__)

#: flags that make a sample no measurement
NOT_A_VALUE = int(SampleFlag.OVER_RANGE | SampleFlag.SUSPECT)


class ReadingInvalid(BenchError):
    """A measuring channel reads flagged values (over range, suspect): nothing to judge by."""


def is_value(flags: int) -> bool:
    """True when a sample with these flags is a measurement."""
    return not flags & NOT_A_VALUE


def flag_words(flags: int) -> str:
    """``over range``, ``suspect`` or both: why a sample is not judged."""
    words = [
        w for f, w in ((SampleFlag.OVER_RANGE, "over range"), (SampleFlag.SUSPECT, "suspect")) if flags & f
    ]
    return " and ".join(words) or "flagged"


def unit(bench: Bench, channel: str) -> str:
    ch = bench.channels.get(channel)
    return ch.unit if ch is not None else ""


async def require_valid_readings(bench: Bench, channels: Sequence[str], timeout_s: float = 15.0) -> None:
    """Wait (real time, bounded) for a first sample of each channel, then raise
    :class:`ReadingInvalid` if the latest one is flagged. A channel that delivers nothing in
    time is not judged here (the meter and the supervisor's staleness checks deal with it)."""
    display = bench.display
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while any(display.latest(c) is None for c in channels):
        if loop.time() > deadline:
            silent = [c for c in channels if display.latest(c) is None]
            log.warning("no sample yet from %s: their range is not checked before the start", silent)
            break
        await asyncio.sleep(0.02)
    for c in channels:
        flags = display.flags.get(c, 0)
        latest = display.latest(c)
        if latest is not None and not is_value(flags):
            why = flag_words(flags)
            hint = (
                " (at the limit of its input range: widen the range in the AIN panel)"
                if flags & SampleFlag.OVER_RANGE
                else ""
            )
            raise ReadingInvalid(
                f"{c} reads {latest[1]:g} {unit(bench, c)}, {why}{hint}; a program measuring on it "
                "would judge a value that is not a measurement — fix the channel or choose another "
                "in the program ([program] voltage_channel / current_channel)"
            )
