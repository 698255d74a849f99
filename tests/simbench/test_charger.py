"""The charger state machine on the shared battery, in hand-driven bench time."""

from __future__ import annotations

import time

from benchgui.simbench.charger import (
    BULK,
    DCDC_CV_LS,
    DCDC_MPPT,
    DCDC_OFF,
    IDLE,
    TOPPING,
    TRICKLE,
    SimCharger,
)
from benchgui.simbench.world import SimWorld, WorldParams


class _Clock:
    speed = 1.0

    def __init__(self) -> None:
        self.t = 0.0

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - not used here
        raise AssertionError("no sleeping in these tests")


def _world(soc: float, hour: float = 11.0, sun: bool = True) -> tuple[SimWorld, _Clock]:
    clock = _Clock()
    world = SimWorld(WorldParams(initial_soc=soc, sun_start_hour=hour, sun=sun, capacity_ah=7.2), clock)  # type: ignore[arg-type]
    return world, clock


def _run(charger: SimCharger, clock: _Clock, seconds: float, step: float = 10.0) -> list[int]:
    states = []
    end = clock.t + seconds
    while clock.t < end:
        clock.t += step
        charger.update()
        if not states or states[-1] != charger.state:
            states.append(charger.state)
    return states


def test_sun_up_charges_through_bulk_topping_to_trickle() -> None:
    world, clock = _world(0.5)
    charger = SimCharger(world)
    charger.update()
    assert charger.state == BULK
    assert charger.current > 0.5
    assert world.current() > 0.5
    assert charger.dcdc_state in (DCDC_MPPT, DCDC_CV_LS)
    soc0 = world.battery.soc
    states = _run(charger, clock, 5 * 3600)
    assert world.battery.soc > soc0 + 0.3
    assert states[:3] == [BULK, TOPPING, TRICKLE], states
    assert charger.full
    assert charger.full_charges == 1
    assert charger.target_v == charger.p.trickle_v


def test_topping_holds_the_topping_voltage() -> None:
    world, clock = _world(0.85)
    charger = SimCharger(world)
    for _ in range(2000):
        clock.t += 5.0
        charger.update()
        if charger.state == TOPPING:
            break
    assert charger.state == TOPPING
    clock.t += 5.0
    charger.update()
    assert abs(world.voltage() - charger.p.topping_v) < 0.02
    assert charger.dcdc_state == DCDC_CV_LS


def test_no_sun_no_charge() -> None:
    world, clock = _world(0.5, sun=False)
    charger = SimCharger(world)
    _run(charger, clock, 600)
    assert charger.state == IDLE
    assert charger.current == 0.0
    assert charger.dcdc_state == DCDC_OFF


def test_night_falls_to_idle() -> None:
    world, clock = _world(0.5, hour=17.5)
    charger = SimCharger(world)
    charger.update()
    assert charger.state == BULK
    assert _run(charger, clock, 3 * 3600, step=60)[-1] == IDLE
    assert world.battery.current == 0.0


def test_dcdc_disabled_or_charging_not_allowed_means_idle() -> None:
    world, clock = _world(0.5)
    charger = SimCharger(world)
    charger.update()
    assert charger.state == BULK
    charger.enabled = False
    _run(charger, clock, 20)
    assert charger.state == IDLE
    assert charger.current == 0.0
    charger.enabled = True
    _run(charger, clock, 20)
    assert charger.state == BULK
    charger.charge_allowed = False
    _run(charger, clock, 20)
    assert charger.state == IDLE


def test_trickle_returns_to_bulk_when_a_load_pulls_the_battery_down() -> None:
    world, clock = _world(0.5)
    charger = SimCharger(world)
    _run(charger, clock, 5 * 3600)
    assert charger.state == TRICKLE
    world.set_current("load", -40.0)  # far more than the sun gives
    states = _run(charger, clock, 1800)
    assert BULK in states
