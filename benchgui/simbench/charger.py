"""The simulated charge controller's power stage: a solar charger state machine.

States follow the MPPT 1210 HUS firmware's ``ChgState``: 0 idle, 1 bulk (CC/MPPT), 2 topping
(CV / absorption), 3 trickle (float). The charger pushes its current into the shared battery:
in bulk as much as the sun gives (limited by the DC/DC), in topping and trickle as much as
holds the target voltage, which tapers off as the battery fills.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchgui.simbench.world import SimWorld

IDLE, BULK, TOPPING, TRICKLE = 0, 1, 2, 3
STATE_NAMES = {IDLE: "idle", BULK: "bulk", TOPPING: "topping", TRICKLE: "trickle", 4: "equalization"}


@dataclass
class ChargerParams:
    topping_v: float = 14.4
    trickle_v: float = 13.8
    recharge_v: float = 12.6  # back to bulk below this (at rest)
    topping_cutoff_a: float = 0.3  # topping ends when the current falls below this …
    topping_cutoff_s: float = 600.0  # … or after this long (simplified: whichever first)
    max_current_a: float = 10.0
    efficiency: float = 0.95
    min_solar_v_margin: float = 1.0  # solar must exceed battery by this to charge


class SimCharger:
    """Solar charger acting on the world's battery under the name ``charger``."""

    def __init__(self, world: SimWorld, params: ChargerParams | None = None) -> None:
        self.world = world
        self.p = params or ChargerParams()
        self.state = IDLE
        self.enabled = True
        self._state_since = world.now_s()
        self.current = 0.0
        self.solar_v = 0.0
        self.solar_a = 0.0

    def _enter(self, state: int, now: float) -> None:
        if state != self.state:
            self.state = state
            self._state_since = now

    def update(self) -> None:
        """Re-evaluate the charger at the current instant and set its battery current."""
        w, p = self.world, self.p
        now = w.now_s()
        irr = w.irradiance()
        others = w.current() - self.current  # what everyone else draws
        v_bat = w.battery.terminal_voltage(now, extra_current=-self.current)  # without us
        solar_open_v = w.panel.voltage(irr, loaded=False)
        available_a = 0.0
        if self.enabled and irr > 0 and solar_open_v > v_bat + p.min_solar_v_margin:
            available_a = min(p.max_current_a, w.panel.power(irr) * p.efficiency / max(v_bat, 1.0))
        if available_a <= 0.01:
            self._enter(IDLE, now)
            i = 0.0
        else:
            if self.state == IDLE:
                self._enter(BULK if v_bat < p.trickle_v else TRICKLE, now)
            target = p.topping_v if self.state in (BULK, TOPPING) else p.trickle_v
            i_cv = w.battery.current_for_voltage(now, target, others)
            i = min(available_a, i_cv)
            if self.state == BULK and i_cv <= available_a:
                self._enter(TOPPING, now)
            elif self.state == TOPPING and (
                i < p.topping_cutoff_a or now - self._state_since > p.topping_cutoff_s
            ):
                self._enter(TRICKLE, now)
            elif self.state == TRICKLE and v_bat < p.recharge_v:
                self._enter(BULK, now)
        self.current = max(0.0, i)
        w.set_current("charger", self.current)
        self.solar_v = w.panel.voltage(irr, loaded=self.current > 0)
        self.solar_a = self.current * v_bat / (p.efficiency * self.solar_v) if self.solar_v > 0 else 0.0
