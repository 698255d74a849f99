import math

import pytest

from benchgui.simbench.battery import BatteryParams, SimBattery
from benchgui.simbench.charger import BULK, IDLE, TOPPING, SimCharger
from benchgui.simbench.load import SimLoadStage
from benchgui.simbench.sensors import SensorModel
from benchgui.simbench.world import SimWorld, WorldParams


def battery(soc: float = 0.8, chem: str = "lead-acid-6s") -> SimBattery:
    return SimBattery(BatteryParams.for_chemistry(chem, 7.2), soc)


def test_rest_voltage_follows_the_ocv_table() -> None:
    b = battery(1.0)
    assert b.terminal_voltage(0.0) == pytest.approx(12.9)
    assert battery(0.5).terminal_voltage(0.0) == pytest.approx(12.3)


def test_coulomb_counting_is_exact_for_constant_current() -> None:
    b = battery(0.8)
    b.set_current("load", -7.2, 0.0)  # 1 C
    b.advance(1800.0)  # half an hour → half the capacity
    assert b.soc == pytest.approx(0.3, abs=1e-9)
    assert b.discharged_ah == pytest.approx(3.6)


def test_integration_does_not_depend_on_how_often_it_is_looked_at() -> None:
    a, b = battery(), battery()
    a.set_current("x", -3.0, 0.0)
    b.set_current("x", -3.0, 0.0)
    for k in range(1, 1001):
        a.advance(k * 0.6)
    b.advance(600.0)
    assert a.soc == pytest.approx(b.soc, rel=1e-12)
    assert a.terminal_voltage(600.0) == pytest.approx(b.terminal_voltage(600.0), rel=1e-9)


def test_voltage_sags_under_load_and_relaxes() -> None:
    b = battery(0.8)
    rest = b.terminal_voltage(0.0)
    b.set_current("load", -5.0, 0.0)
    instant = b.terminal_voltage(0.0)
    assert rest - instant == pytest.approx(5.0 * b.params.r0_ohm)
    later = b.terminal_voltage(300.0)
    assert later < instant  # RC branch charges, SOC falls
    b.set_current("load", 0.0, 300.0)
    assert b.terminal_voltage(1200.0) > later


def test_past_empty_the_voltage_collapses() -> None:
    b = battery(0.01)
    b.set_current("load", -7.2, 0.0)
    assert b.terminal_voltage(3600.0) < 10.0


def test_cv_current_holds_the_target_voltage() -> None:
    b = battery(0.95)
    i = b.current_for_voltage(0.0, 14.4)
    b.set_current("charger", i, 0.0)
    assert b.terminal_voltage(0.0) == pytest.approx(14.4, abs=1e-3)


def test_unknown_chemistry() -> None:
    with pytest.raises(ValueError, match="unknown chemistry"):
        BatteryParams.for_chemistry("nicd", 1.0)


def test_sensor_model_gain_offset_quantisation_and_clipping() -> None:
    s = SensorModel(gain=1.01, offset=0.02, lsb=0.01, lo=-1.0, hi=10.0)
    assert s.measure(5.0) == pytest.approx(5.07)
    assert s.measure(100.0) == 10.0
    noisy = SensorModel(noise=0.1, seed=3)
    values = [noisy.measure(1.0) for _ in range(2000)]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    assert mean == pytest.approx(1.0, abs=0.01)
    assert std == pytest.approx(0.1, rel=0.1)


class _StillClock:
    """Bench time that does not move. On a scaled clock the wall time between two lines of this
    test would be bench time: at speed 1000 the 5 A load empties this battery in 2.6 s of wall
    time, and the sun (set to 12:00) sets 21.6 s later — on a busy machine, mid-test."""

    speed = 1.0

    def now_ns(self) -> int:
        return 1_700_000_000_000_000_000

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - not used here
        raise AssertionError("no sleeping in these tests")


def test_load_and_charger_act_on_one_battery() -> None:
    w = SimWorld(WorldParams(initial_soc=0.5, sun=False), _StillClock())  # type: ignore[arg-type]
    load = SimLoadStage(w)
    load.input_on, load.set_current_a = True, 5.0
    load.update()
    assert w.current() == pytest.approx(-5.0)
    charger = SimCharger(w)
    charger.update()
    assert charger.state == IDLE  # no sun
    w.sun.enabled = True
    w.sun.start_hour = 12.0
    charger.update()
    assert charger.state in (BULK, TOPPING)
    assert w.current() > -5.0  # the charger covers part of the load
