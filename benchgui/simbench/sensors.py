"""How a simulated instrument sees the true value: gain error, offset, noise, quantisation, clipping.

Each instrument gets its own :class:`SensorModel` (and its own random generator), so the three
instruments disagree a little, as on the real bench.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SensorModel:
    gain: float = 1.0  # 1.0 = no gain error; 1.01 = reads 1 % high
    offset: float = 0.0
    noise: float = 0.0  # standard deviation
    lsb: float = 0.0  # quantisation step; 0 = none
    lo: float = -math.inf
    hi: float = math.inf
    seed: int = 0
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def measure(self, true_value: float) -> float:
        x = true_value * self.gain + self.offset
        if self.noise:
            x += float(self._rng.normal(0.0, self.noise))
        if self.lsb:
            x = round(x / self.lsb) * self.lsb
        return min(self.hi, max(self.lo, x))
