"""The simulated world: one clock, one battery, one sun — shared by every simulated instrument.

Simulators (in-process or on ptys/loopback ports) read the battery through their own sensor
models and push their currents into it: the load sinks, the charger charges. Because all of them
act on the same :class:`SimBattery`, a current drawn by the load makes the voltage seen by every
instrument sag consistently.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchgui.clock import Clock, ScaledClock
from benchgui.simbench.battery import BatteryParams, SimBattery
from benchgui.simbench.sun import SimPanel, SimSun


@dataclass(frozen=True)
class WorldParams:
    speed: float = 1.0
    seed: int = 1
    chemistry: str = "lead-acid-6s"
    capacity_ah: float = 7.2
    initial_soc: float = 0.8
    sun: bool = True
    sun_start_hour: float = 10.0
    ambient_c: float = 25.0
    pacing: bool = True  # simulators take line and device time (real time): [simulation] pacing


class SimWorld:
    def __init__(self, params: WorldParams | None = None, clock: Clock | None = None) -> None:
        self.params = params or WorldParams()
        self.clock: Clock = clock or ScaledClock(self.params.speed)
        self.battery = SimBattery(
            BatteryParams.for_chemistry(self.params.chemistry, self.params.capacity_ah),
            self.params.initial_soc,
            t_s=self.clock.monotonic(),
            ambient_c=self.params.ambient_c,
        )
        self.sun = SimSun(self.params.sun_start_hour, self.params.seed, self.params.sun)
        self.panel = SimPanel()

    def now_s(self) -> float:
        """Bench seconds (monotonic) — the battery's time axis."""
        return self.clock.monotonic()

    def voltage(self) -> float:
        """True battery terminal voltage now."""
        return self.battery.terminal_voltage(self.now_s())

    def current(self) -> float:
        """True net battery current now (+ = charging)."""
        self.battery.advance(self.now_s())
        return self.battery.current

    def set_current(self, name: str, amps: float) -> None:
        """Set one contributor's current into the battery (+ = charging)."""
        self.battery.set_current(name, amps, self.now_s())

    def irradiance(self) -> float:
        return self.sun.irradiance(self.now_s())

    def temperature_c(self) -> float:
        self.battery.advance(self.now_s())
        return self.battery.temperature_c
