"""The live estimator's first minutes at rest: kept, so the start can be made again from them.

Offline, :func:`benchgui.soc.replay.replay` looks ahead: when the battery rests at the first row,
the relaxation over the rest's first minutes (:mod:`benchgui.soc.rest_start`) sets where the
filter starts. Live, those minutes have not happened yet. So the estimator starts at once as
before, keeps every step it makes while the battery rests (up to
:data:`~benchgui.soc.rest_start.WINDOW_S`), and at the first reading beyond the window — or under
current, when the rest ends first — starts again from the fit and runs the kept steps through
the new filter. From then on the live estimate is the one the replay of the same readings gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchgui.soc.rest_start import WINDOW_S


@dataclass(frozen=True)
class Step:
    """One filter step as the live estimator made it (its arguments to ``Spkf.step``)."""

    dt_s: float
    current_a: float  # held over the interval
    voltage_v: float
    current_now_a: float
    temperature_c: float | None
    gap_variance: float  # SOC variance added before the step (a current gap), 0 if none


class RestWindow:
    """Readings and steps from a start at rest, until ``window_s`` of rest or the rest's end."""

    def __init__(self, t0_s: float, rest_a: float, window_s: float = WINDOW_S) -> None:
        self.t0_s = t0_s
        self.rest_a = rest_a
        self.window_s = window_s
        self.t_s: list[float] = []
        self.voltage_v: list[float] = []
        self.steps: list[Step] = []

    def at_rest(self, current_a: float) -> bool:
        return abs(current_a) <= self.rest_a

    def add(self, t_s: float, step: Step) -> None:
        self.t_s.append(t_s)
        self.voltage_v.append(step.voltage_v)
        self.steps.append(step)

    def beyond(self, t_s: float) -> bool:
        """Whether a reading at ``t_s`` lies beyond the window (the replay's rows end there too)."""
        return t_s - self.t0_s > self.window_s

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.t_s, np.float64), np.array(self.voltage_v, np.float64)
