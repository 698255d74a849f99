"""The simulated battery: the one piece of physics every simulated instrument shares.

An equivalent circuit — OCV(SOC) table + series resistance R0 + one RC pair — integrated
*exactly* for piecewise-constant current: whenever a current changes or someone looks at the
battery, the state is advanced analytically from the last instant to now. So the result does
not depend on how often it is looked at, which keeps ``--speed 1000`` runs honest.

Near full charge a charging overpotential rises, so a charger holding 14.4 V sees its current
taper off as a lead-acid block does. Below 0 % SOC the voltage collapses steeply, so cut-off
interlocks have something to catch.

Sign: current positive = charging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Rest voltage of a 12 V block against SOC (0..1). Lead-acid: six cells, about 12.9 V full at
# rest as on the real bench; LiFePO4: four cells, flat middle.
OCV_TABLES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "lead-acid-6s": (
        (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
        (11.70, 11.90, 12.00, 12.10, 12.20, 12.30, 12.40, 12.50, 12.62, 12.75, 12.90),
    ),
    "lifepo4-4s": (
        (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 1.0),
        (10.00, 12.40, 12.80, 13.00, 13.10, 13.15, 13.20, 13.30, 13.40, 13.60),
    ),
}


@dataclass
class BatteryParams:
    chemistry: str = "lead-acid-6s"
    capacity_ah: float = 7.2
    r0_ohm: float = 0.025
    r1_ohm: float = 0.015
    tau1_s: float = 60.0
    charge_efficiency: float = 0.97
    charge_knee_soc: float = 0.8  # above this the charging overpotential grows
    charge_overpotential_v: float = 1.6  # at 100 % SOC while charging (lead-acid gassing)
    thermal_mass_j_k: float = 3000.0
    thermal_conductance_w_k: float = 1.5

    @classmethod
    def for_chemistry(cls, chemistry: str, capacity_ah: float) -> BatteryParams:
        if chemistry not in OCV_TABLES:
            raise ValueError(f"unknown chemistry {chemistry!r}; known: {', '.join(OCV_TABLES)}")
        p = cls(chemistry=chemistry, capacity_ah=capacity_ah)
        scale = 7.2 / capacity_ah  # resistance falls with size
        p.r0_ohm *= scale
        p.r1_ohm *= scale
        if chemistry == "lifepo4-4s":
            p.charge_efficiency = 0.995
            p.charge_knee_soc = 0.95
            p.charge_overpotential_v = 0.4
        return p


@dataclass
class _State:
    t_s: float
    soc: float
    v_rc: float = 0.0
    temp_c: float = 25.0
    ah_out: float = 0.0  # discharged Ah since start (positive)
    currents: dict[str, float] = field(default_factory=dict)


class SimBattery:
    """A 12 V class battery with exact piecewise-constant-current integration."""

    def __init__(self, params: BatteryParams, soc: float, t_s: float = 0.0, ambient_c: float = 25.0) -> None:
        self.params = params
        soc_tab, ocv_tab = OCV_TABLES[params.chemistry]
        self._soc_tab = np.array(soc_tab)
        self._ocv_tab = np.array(ocv_tab)
        self.ambient_c = ambient_c
        self._s = _State(t_s=t_s, soc=min(max(soc, 0.0), 1.0), temp_c=ambient_c)

    # -- state ---------------------------------------------------------------------------
    @property
    def current(self) -> float:
        """Net battery current now, A (+ = charging)."""
        return sum(self._s.currents.values())

    def ocv(self, soc: float | None = None) -> float:
        soc = self._s.soc if soc is None else soc
        if soc < 0.0:  # past empty: the voltage collapses
            return float(self._ocv_tab[0] - 25.0 * (-soc))
        return float(np.interp(soc, self._soc_tab, self._ocv_tab))

    def advance(self, t_s: float) -> None:
        """Integrate from the last instant to ``t_s`` with the currents held constant."""
        s, p = self._s, self.params
        dt = t_s - s.t_s
        if dt <= 0:
            return
        i = self.current
        eta = p.charge_efficiency if i > 0 else 1.0
        s.soc = min(1.0, s.soc + eta * i * dt / (3600.0 * p.capacity_ah))
        if i < 0:
            s.ah_out += -i * dt / 3600.0
        a = math.exp(-dt / p.tau1_s)
        s.v_rc = s.v_rc * a + i * p.r1_ohm * (1.0 - a)
        # first-order thermal model: I²R heating against ambient
        heat = i * i * (p.r0_ohm + p.r1_ohm)
        t_eq = self.ambient_c + heat / p.thermal_conductance_w_k
        b = math.exp(-dt * p.thermal_conductance_w_k / p.thermal_mass_j_k)
        s.temp_c = t_eq + (s.temp_c - t_eq) * b
        s.t_s = t_s

    def set_current(self, name: str, amps: float, t_s: float) -> None:
        """Set one contributor's current (the load's sink is negative, the charger's positive)."""
        self.advance(t_s)
        self._s.currents[name] = float(amps)

    def overpotential(self, i: float | None = None) -> float:
        p = self.params
        i = self.current if i is None else i
        if i <= 0 or self._s.soc <= p.charge_knee_soc:
            return 0.0
        x = (self._s.soc - p.charge_knee_soc) / (1.0 - p.charge_knee_soc)
        return p.charge_overpotential_v * x * x * min(1.0, i / (0.02 * p.capacity_ah))

    def terminal_voltage(self, t_s: float, extra_current: float = 0.0) -> float:
        """Voltage at the terminals at ``t_s`` (optionally with an extra current, for chargers
        that want to know what voltage a given current would give)."""
        self.advance(t_s)
        i = self.current + extra_current
        v = self.ocv() + self._s.v_rc + i * self.params.r0_ohm + self.overpotential(i)
        return max(0.0, v)

    def current_for_voltage(self, t_s: float, target_v: float, others: float = 0.0) -> float:
        """The charging current that would hold the terminals at ``target_v`` (CV charging),
        given the other contributors' current ``others``."""
        self.advance(t_s)
        lo, hi = 0.0, 100.0
        base = self.ocv() + self._s.v_rc
        for _ in range(40):  # bisection: the overpotential is nonlinear in i
            mid = 0.5 * (lo + hi)
            i = mid + others
            v = base + i * self.params.r0_ohm + self.overpotential(i)
            lo, hi = (mid, hi) if v < target_v else (lo, mid)
        return lo

    @property
    def soc(self) -> float:
        return self._s.soc

    @property
    def temperature_c(self) -> float:
        return self._s.temp_c

    @property
    def discharged_ah(self) -> float:
        return self._s.ah_out
