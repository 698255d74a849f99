"""Plain coulomb counting: the baseline every SOC estimate is compared against.

SOC moves by η·i·Δt/Q with the current held over each interval (zero-order hold); nothing
corrects it, so an initial error, a current offset or a wrong capacity stay or grow.
"""

from __future__ import annotations

from benchgui.soc.model import SECONDS_PER_HOUR


class CoulombCounter:
    """Integrates current into SOC (fraction); current positive = charging."""

    def __init__(self, capacity_ah: float, soc0: float, efficiency: float = 1.0) -> None:
        self.capacity_ah = capacity_ah
        self.efficiency = efficiency
        self.soc = soc0

    def step(self, dt_s: float, current_a: float) -> float:
        if dt_s > 0:
            i = self.efficiency * current_a if current_a > 0 else current_a
            self.soc += i * dt_s / (SECONDS_PER_HOUR * self.capacity_ah)
        return self.soc

    def reset(self, soc: float) -> None:
        self.soc = soc
