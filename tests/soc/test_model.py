"""The ESC model: OCV both ways, extrapolation, temperature, and the state equations."""

import math

import numpy as np
import pytest

from benchgui.soc.model import OcvCurve, OcvTable, simulate
from benchgui.soc.recursions import linear_recurrence, sign_held
from tests.soc.synthetic import nmc_like


def test_ocv_both_ways_and_extrapolation() -> None:
    c = OcvCurve(np.array([0.0, 0.5, 1.0]), np.array([3.0, 3.5, 4.2]))
    assert c.ocv(np.array([0.25, 0.75])) == pytest.approx([3.25, 3.85])
    assert c.soc_from_ocv(np.array([3.25, 3.85])) == pytest.approx([0.25, 0.75])
    # beyond the ends: linear on the mean slope of the last 5 % (here the end segments' slopes)
    assert c.ocv1(1.1) == pytest.approx(4.2 + 0.1 * 1.4)
    assert c.ocv1(-0.1) == pytest.approx(3.0 - 0.1 * 1.0)
    assert float(c.soc_from_ocv(5.0)) == 1.0  # readings beyond the table clamp
    assert c.slope(0.25) == pytest.approx(1.0)


def test_ocv_temperature_interpolates_between_rows_and_holds_outside() -> None:
    tab = OcvTable(np.array([0.0, 1.0]), np.array([0.0, 40.0]), np.array([[3.0, 4.0], [3.2, 4.2]]))
    assert tab.curve(20.0) == pytest.approx([3.1, 4.1])
    assert tab.curve(-10.0) == pytest.approx([3.0, 4.0])
    assert tab.curve(60.0) == pytest.approx([3.2, 4.2])


def test_step_response_matches_the_equations() -> None:
    """A current step: instantaneous R0 drop, RC branches relaxing with their own τ, SOC linear."""
    m = nmc_like(cells=2)
    t = np.arange(0.0, 2001.0)
    i = np.where(t >= 1000, 0.0, -5.0)  # 1C discharge for 1000 s, then rest
    v, z = simulate(m, t, i, 0.8)
    assert z[1000] == pytest.approx(0.8 - 5.0 * 1000 / (3600 * 5.0))
    assert z[-1] == z[1000]  # rest: SOC stays
    ocv = m.curve().ocv(z)
    # at t = 1000 s (first row at rest) only R0·i is gone; the RC currents are as after 1000 s
    rc = sum(-5.0 * b.r_ohm * (1 - math.exp(-1000 / b.tau_s)) for b in m.rc)
    assert v[1000] / 2 == pytest.approx(ocv[1000] + rc, abs=1e-9)
    assert v[999] / 2 == pytest.approx(
        ocv[999] - 5.0 * m.r0_ohm + sum(-5.0 * b.r_ohm * (1 - math.exp(-999 / b.tau_s)) for b in m.rc),
        abs=1e-9,
    )
    # relaxation: after 1000 s of rest only the slow branch is left, decayed by exp(-1000/τ)
    slow = m.rc[1]
    expected = ocv[-1] + -5.0 * slow.r_ohm * (1 - math.exp(-1000 / slow.tau_s)) * math.exp(-1000 / slow.tau_s)
    assert v[-1] / 2 == pytest.approx(expected, abs=2e-5)


def test_charging_raises_soc_with_efficiency_and_hysteresis_follows_the_sign() -> None:
    m = nmc_like(m_v=0.01)
    t = np.arange(0.0, 3601.0)
    v_chg, z = simulate(m, t, np.full(len(t), 2.5), 0.3)
    assert z[-1] == pytest.approx(0.3 + 0.99 * 2.5 / 5.0)  # + = charging, η applied
    v_dis, z2 = simulate(m, t, np.full(len(t), -2.5), 0.8)
    assert z2[-1] == pytest.approx(0.3)
    # at the same SOC (0.3 after discharge vs start of charge) the hysteresis pulls down
    assert v_dis[-1] < v_chg[1]


def test_capacity_override_scales_resistances() -> None:
    m = nmc_like()
    big = m.with_capacity(10.0)
    assert big.capacity_ah == 10.0
    assert big.r0_ohm == pytest.approx(m.r0_ohm / 2)
    assert big.rc[0].r_ohm == pytest.approx(m.rc[0].r_ohm / 2)
    assert big.rc[0].tau_s == m.rc[0].tau_s
    with pytest.raises(ValueError, match="positive"):
        m.with_capacity(0.0)


def test_linear_recurrence_equals_the_loop() -> None:
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 7, 1000):
        a = rng.uniform(0, 1, n)
        b = rng.normal(size=n)
        x = [0.7]
        for k in range(n):
            x.append(a[k] * x[-1] + b[k])
        assert linear_recurrence(a, b, 0.7) == pytest.approx(np.array(x))


def test_sign_held_keeps_the_last_clear_sign() -> None:
    i = np.array([0.0, 0.001, 2.0, 0.0, -0.002, -3.0, 0.0])
    assert list(sign_held(i, 0.01)) == [0, 0, 1, 1, 1, -1, -1]
