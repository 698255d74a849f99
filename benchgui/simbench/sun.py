"""A simple sun for the simulated MPPT: a diurnal sine with slowly drifting clouds."""

from __future__ import annotations

import math

import numpy as np


class SimSun:
    """Irradiance 0..1 against bench time. ``start_hour`` is the local solar hour at t = 0."""

    def __init__(self, start_hour: float = 10.0, seed: int = 1, enabled: bool = True) -> None:
        self.start_hour = start_hour
        self.enabled = enabled
        rng = np.random.default_rng(seed)
        # cloud cover as a sum of a few slow sines with random phases: smooth, repeatable
        self._periods = rng.uniform(300.0, 3600.0, 4)
        self._phases = rng.uniform(0.0, 2 * math.pi, 4)

    def irradiance(self, t_s: float) -> float:
        if not self.enabled:
            return 0.0
        hour = (self.start_hour + t_s / 3600.0) % 24.0
        day = max(0.0, math.sin(math.pi * (hour - 6.0) / 12.0))
        cloud = 0.15 * sum(
            math.sin(2 * math.pi * t_s / p + ph) for p, ph in zip(self._periods, self._phases, strict=True)
        )
        return max(0.0, min(1.0, day * (0.8 + cloud)))


class SimPanel:
    """A 12 V-class solar panel: open-circuit voltage and the power it can deliver."""

    def __init__(self, voc_v: float = 22.0, vmp_v: float = 18.0, pmax_w: float = 100.0) -> None:
        self.voc_v, self.vmp_v, self.pmax_w = voc_v, vmp_v, pmax_w

    def voltage(self, irradiance: float, loaded: bool) -> float:
        if irradiance <= 0.0:
            return 0.0
        v = self.voc_v + 0.9 * math.log(max(irradiance, 1e-3))
        return max(0.0, self.vmp_v * v / self.voc_v if loaded else v)

    def power(self, irradiance: float) -> float:
        return self.pmax_w * irradiance
