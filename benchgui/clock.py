"""Clocks: where sample timestamps and simulated time come from.

Conventions (see the README): samples carry UTC wall-clock nanoseconds; durations and timeouts use
a monotonic clock. The simulated bench runs on a :class:`ScaledClock` whose time passes ``speed``
times faster than real time, so a 24 h discharge can be replayed in a minute. Everything that waits
in *bench* time (poll intervals, program step durations, debounce times) must use
:meth:`Clock.sleep` so that it scales with the simulation.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, SupportsFloat, cast, overload

import numpy as np
import numpy.typing as npt

#: nanoseconds per second: samples carry integer UTC nanoseconds, everything shown is in seconds
NS_PER_S = 1_000_000_000


@overload
def ns_to_s(t_ns: int | float) -> float: ...
@overload
def ns_to_s(t_ns: npt.NDArray[np.int64] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
def ns_to_s(t_ns: object) -> object:
    """Nanoseconds (a timestamp or a duration, scalar or array) as float seconds."""
    if isinstance(t_ns, np.ndarray):
        return t_ns.astype(np.float64) / NS_PER_S
    return float(cast(SupportsFloat, t_ns)) / NS_PER_S


@overload
def s_to_ns(seconds: int | float) -> int: ...
@overload
def s_to_ns(seconds: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
def s_to_ns(seconds: object) -> object:
    """Seconds (scalar or array) as integer nanoseconds, rounded to the nearest nanosecond."""
    if isinstance(seconds, np.ndarray):
        return np.rint(seconds.astype(np.float64) * NS_PER_S).astype(np.int64)
    return round(float(cast(SupportsFloat, seconds)) * NS_PER_S)


class Clock(Protocol):
    """What the bench needs from a clock."""

    @property
    def speed(self) -> float:
        """Bench seconds per real second (1 for real hardware)."""

    def now_ns(self) -> int:
        """Current bench time as UTC nanoseconds since the epoch."""

    def monotonic(self) -> float:
        """Monotonic bench time in seconds (for durations and timeouts)."""

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of bench time."""


class WallClock:
    """The real clock: bench time is wall time."""

    speed = 1.0

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Bench time that starts at the wall time of creation and runs ``speed`` times faster."""

    def __init__(self, speed: float = 1.0, start_ns: int | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._speed = float(speed)
        self._start_ns = time.time_ns() if start_ns is None else int(start_ns)
        self._m0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def elapsed(self) -> float:
        """Bench seconds since the clock was created."""
        return (time.monotonic() - self._m0) * self._speed

    def now_ns(self) -> int:
        return self._start_ns + int(self.elapsed() * NS_PER_S)

    def monotonic(self) -> float:
        return self.elapsed()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)


def clock_for_speed(speed: float) -> Clock:
    """The wall clock at speed 1, a scaled clock otherwise."""
    return WallClock() if speed == 1.0 else ScaledClock(speed)
