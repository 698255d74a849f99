"""The simulated charge controller's power stage: a solar charger state machine.

States follow the MPPT 1210 HUS firmware's ``ChgState``: 0 idle, 1 bulk (CC/MPPT), 2 topping
(CV / absorption), 3 trickle (float). The charger pushes its current into the shared battery:
in bulk as much as the sun gives (limited by the DC/DC), in topping and trickle as much as
holds the target voltage, which tapers off as the battery fills.

Transitions (simplified from the firmware's ``bat_charger.cpp``):

* idle → bulk when the sun gives power and the battery is not known to be full; idle → trickle
  when it is full and still above the recharge voltage;
* bulk → topping when the current needed to hold the topping voltage is no more than the sun
  gives (the battery reached the CV limit);
* topping → trickle (or idle with trickle disabled) when the current falls below the cut-off or
  the topping time is up: the battery is *full* (``full_charges`` counts it; the MPPT resets its
  coulomb counter then);
* trickle → bulk when the battery (seen without our current) falls below the recharge voltage;
* any → idle when the sun is gone, the DC/DC is disabled or charging is not allowed (battery
  temperature outside the charge range).

The DC/DC control state (``DCDCState``) is derived from what limits the current: the sun (MPPT),
the maximum charge current (CC at low side) or the target voltage (CV at low side).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchgui.simbench.world import SimWorld

IDLE, BULK, TOPPING, TRICKLE = 0, 1, 2, 3
STATE_NAMES = {IDLE: "idle", BULK: "bulk", TOPPING: "topping", TRICKLE: "trickle", 4: "equalization"}

DCDC_OFF, DCDC_MPPT, DCDC_CC_LS, DCDC_CV_LS = 0, 1, 2, 3


@dataclass
class ChargerParams:
    topping_v: float = 14.4
    trickle_v: float = 13.8
    recharge_v: float = 12.6  # back to bulk below this (at rest)
    topping_cutoff_a: float = 0.3  # topping ends when the current falls below this …
    topping_cutoff_s: float = 600.0  # … or after this long (simplified: whichever first)
    trickle_enabled: bool = True
    max_current_a: float = 10.0
    efficiency: float = 0.95
    min_solar_v_margin: float = 1.0  # solar must exceed battery by this to charge


class SimCharger:
    """Solar charger acting on the world's battery under the name ``charger``."""

    def __init__(self, world: SimWorld, params: ChargerParams | None = None) -> None:
        self.world = world
        self.p = params or ChargerParams()
        self.state = IDLE
        self.dcdc_state = DCDC_OFF
        self.enabled = True  # the DC/DC enable input (``DcdcEn``)
        self.charge_allowed = True  # False: battery temperature outside the charge range
        self.full = False  # reached the end of topping since the battery last dropped below recharge
        self.full_charges = 0
        self._state_since = world.now_s()
        self.current = 0.0
        self.solar_v = 0.0
        self.solar_a = 0.0
        self.target_v = 0.0
        self.target_a = 0.0

    def _enter(self, state: int, now: float) -> None:
        if state != self.state:
            self.state = state
            self._state_since = now

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, str(self.state))

    def update(self) -> None:
        """Re-evaluate the charger at the current instant and set its battery current."""
        w, p = self.world, self.p
        now = w.now_s()
        irr = w.irradiance()
        others = w.current() - self.current  # what everyone else draws (+ = charging)
        v_bat = w.battery.terminal_voltage(now, extra_current=-self.current)  # without us
        if v_bat < p.recharge_v:
            self.full = False
        solar_open_v = w.panel.voltage(irr, loaded=False)
        available_a = 0.0
        if self.enabled and irr > 0 and solar_open_v > v_bat + p.min_solar_v_margin:
            available_a = w.panel.power(irr) * p.efficiency / max(v_bat, 1.0)
        limit_a = min(available_a, p.max_current_a)
        i = 0.0
        if limit_a <= 0.01 or not self.charge_allowed:
            self._enter(IDLE, now)
            self.dcdc_state = DCDC_OFF
        else:
            if self.state == IDLE:
                self._enter(TRICKLE if self.full and p.trickle_enabled else BULK, now)
            target = p.topping_v if self.state in (BULK, TOPPING) else p.trickle_v
            i_cv = w.battery.current_for_voltage(now, target, others)
            i = min(limit_a, i_cv)
            if self.state == BULK and i_cv <= limit_a:
                self._enter(TOPPING, now)
            elif self.state == TOPPING and (
                i < p.topping_cutoff_a or now - self._state_since > p.topping_cutoff_s
            ):
                self.full = True
                self.full_charges += 1
                self._enter(TRICKLE if p.trickle_enabled else IDLE, now)
                if self.state == IDLE:
                    i = 0.0
            elif self.state == TRICKLE and v_bat < p.recharge_v:
                self._enter(BULK, now)
            if i <= 0.0:
                self.dcdc_state = DCDC_OFF
            elif i >= i_cv - 1e-6:
                self.dcdc_state = DCDC_CV_LS
            elif available_a >= p.max_current_a:
                self.dcdc_state = DCDC_CC_LS
            else:
                self.dcdc_state = DCDC_MPPT
        self.current = max(0.0, i)
        self.target_v = (
            p.topping_v if self.state in (BULK, TOPPING) else p.trickle_v if self.state == TRICKLE else 0.0
        )
        self.target_a = p.max_current_a if self.state != IDLE else 0.0
        w.set_current("charger", self.current)
        self.solar_v = w.panel.voltage(irr, loaded=self.current > 0)
        self.solar_a = self.current * v_bat / (p.efficiency * self.solar_v) if self.solar_v > 0 else 0.0
