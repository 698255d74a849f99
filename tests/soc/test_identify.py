"""Identification recovers a known model from a characterisation run made by that model."""

import numpy as np
import pytest

from benchgui.soc.identify import IdentificationError, identify
from benchgui.soc.replay import RunData, replay
from tests.soc.synthetic import characterisation, lfp_like, nmc_like, profile, run_of, steps_characterisation


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    truth = nmc_like(m_v=0.005)
    run, _ = characterisation(truth)
    # this run turns by time exactly at the model's own 0 % and 100 %, not at cut-off voltages:
    # no end correction (that convention is for runs that turn at their limits, test_capacity.py)
    model, report = identify(run, 4, n_rc=2, name="fitted", ocv_limits=None)
    return truth, model, report


def test_recovers_capacity_resistance_and_ocv(fitted) -> None:  # type: ignore[no-untyped-def]
    truth, model, report = fitted
    assert model.capacity_ah == pytest.approx(truth.capacity_ah, rel=0.01)
    assert model.coulombic_efficiency == pytest.approx(truth.coulombic_efficiency, abs=0.01)
    # R0 from 1 s steps includes what the fast branch does in that second
    assert model.r0_ohm == pytest.approx(truth.r0_ohm, rel=0.1)
    total = model.r0_ohm + sum(b.r_ohm for b in model.rc)
    assert total == pytest.approx(truth.r0_ohm + sum(b.r_ohm for b in truth.rc), rel=0.15)
    z = np.linspace(0.05, 0.95, 19)
    ocv_err = model.curve().ocv(z) - truth.curve().ocv(z)
    assert np.max(np.abs(ocv_err)) < 0.006
    assert np.all(np.diff(model.ocv.voltage_v[0]) > 0)  # monotonic by construction
    assert report.rms_mv_cell < 5.0
    assert report.r0_steps >= 10
    assert "fit quality" in "\n".join(report.lines(model))


def test_identified_model_estimates_soc_on_a_new_profile(fitted) -> None:  # type: ignore[no-untyped-def]
    truth, model, _ = fitted
    t, i = profile(9, hours=2.0)
    run, z = run_of(truth, t, i, 0.75)
    res = replay(model, run, soc0=0.55, soc0_sigma=0.1)
    late = t >= 600
    assert np.sqrt(np.mean((res.soc[late] - z[late]) ** 2)) < 0.01


def test_runs_without_what_identification_needs_are_refused() -> None:
    t = np.arange(20.0)
    with pytest.raises(IdentificationError, match="rows"):
        identify(RunData(t, np.zeros(20), np.full(20, 12.0)), 4)
    t = np.arange(500.0)
    with pytest.raises(IdentificationError, match="never discharges"):
        identify(RunData(t, np.zeros(500), np.full(500, 12.0)), 4)


def test_curved_ends_from_a_steps_and_rests_run_without_cv() -> None:
    """An operator's run (10 % steps with rests, no CV, conservative cut-offs 2.7/3.45 V) on a
    LiFePO4-like cell whose OCV bends steeply at both ends (0 % and 100 % are where it reaches
    2.0 and 3.6 V): the capacity beyond the turns is extrapolated along the curvature of the
    last rests, so capacity and the OCV's SOC axis hold at the ends. A straight line through the
    last two rests put 20 % of the capacity beyond the empty turn and refused the run."""
    truth = lfp_like()
    run, z = steps_characterisation(truth, 2.7, 3.45)
    assert z.min() > 0.015  # the run really stops short of empty …
    assert z[-1] < 0.995  # … and of full (it started full, rested)
    model, report = identify(run, 4, ocv_limits=(2.0, 3.6))
    cap = report.capacity
    assert cap.counted_ah < 0.98 * truth.capacity_ah  # counting alone is short
    assert abs(model.capacity_ah / truth.capacity_ah - 1) < 0.01
    assert abs(cap.capacity_ah - truth.capacity_ah) <= cap.interval_ah
    # read back: the SOC the identified OCV gives for the true rested voltage
    g = np.linspace(0.02, 0.98, 49)
    soc_read = model.curve().soc_from_ocv(truth.curve().ocv(g))
    assert np.max(np.abs(soc_read - g)) < 0.0075
    # below the lowest SOC the run reached the table is a guess: the model's own σ at rest
    # covers what that guess is off by (an honest band for the filter, not a confident error)
    below = np.linspace(0.0, z.min() - 0.002, 8)
    off = np.abs(model.curve().ocv(below) - truth.curve().ocv(below))
    sigma = np.array([model.uncertainty.rest_at(float(x)) for x in below])
    assert off[0] > 0.1  # the guess is far off at 0 % …
    assert np.all(off <= 3 * sigma)  # … and the band says so
