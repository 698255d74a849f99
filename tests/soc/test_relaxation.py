"""The slow relaxation the rests show (benchgui/soc/relaxation.py), and what identification
takes from it for a lead-acid block: its slow branch and the OCV at the rests' ends."""

import numpy as np
import pytest

from benchgui.soc.identify import identify
from benchgui.soc.model import simulate
from benchgui.soc.recursions import rc_currents_for
from benchgui.soc.relaxation import ocv_through_rests, rest_time_constant
from benchgui.soc.replay import RunData
from benchgui.soc.spkf import SpkfTuning, VoltageNoise
from benchmarks import soc_cases, soc_truth
from benchmarks.soc_leadacid import LeadAcid, run_steps

TAU_S = 2000.0
R_OHM = 0.03


def stepped_run(rest_s: float, noise_v: float = 0.0003) -> tuple[np.ndarray, ...]:
    """Discharge steps with rests, then charge steps: V = OCV(z) + R·i_R (τ = 2000 s) and a
    fast branch (20 mΩ, τ = 20 s, as on the bench recording) that the fit must see past; 1C = 1 A."""
    dt = 10.0
    pattern = [(-0.5, 1800.0), (0.0, rest_s)] * 5 + [(0.5, 1800.0), (0.0, rest_s)] * 5
    i = np.concatenate([np.full(int(d / dt), a) for a, d in pattern])
    t = np.arange(len(i)) * dt
    z = 0.9 + np.concatenate([[0.0], np.cumsum(i[:-1] * dt / 3600.0)])
    ocv = 1.95 + 0.2 * z
    fast, slow = rc_currents_for(np.array([20.0, TAU_S]), t, i)
    v = ocv + 0.02 * fast + R_OHM * slow
    v += np.random.default_rng(4).normal(0.0, noise_v, len(t))
    return t, i, v, z, ocv


def test_the_rests_give_the_slow_time_constant_resistance_and_end_values() -> None:
    t, i, v, _, ocv = stepped_run(rest_s=3600.0)
    relax = rest_time_constant(t, i, v, 0.02)
    assert relax is not None
    assert len(relax.taus_s) == 10  # every rest after a current
    assert relax.tau_s == pytest.approx(TAU_S, rel=0.1)
    assert relax.r_ohm == pytest.approx(R_OHM, rel=0.1)
    ends = np.array(relax.ends)
    # each rest's end value is where it relaxes to: the OCV, which the last row has not reached
    end_err = np.abs(np.array(relax.v_end) - ocv[ends])
    last_err = np.abs(v[ends] - ocv[ends])
    assert np.max(end_err) < 0.001
    assert np.mean(end_err) < 0.3 * np.mean(last_err)
    assert relax.direction == (-1.0,) * 5 + (1.0,) * 5


def test_rests_too_short_or_already_relaxed_fix_nothing() -> None:
    t, i, v, _, _ = stepped_run(rest_s=900.0)  # shorter than MIN_REST_S
    assert rest_time_constant(t, i, v, 0.02) is None
    t, i, _, _, ocv = stepped_run(rest_s=3600.0)
    assert rest_time_constant(t, i, ocv, 0.02) is None  # no relaxation in the voltage at all


def test_the_ocv_through_the_rests_is_straight_between_them_and_beyond() -> None:
    z = np.array([0.15, 0.35, 0.55, 0.75, 0.3, 0.5, 0.7])
    direction = np.array([-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0])
    v = 1.9 + 0.2 * z + 0.004 * direction  # a 4 mV hysteresis each way around the line
    grid = np.linspace(0.0, 1.0, 21)
    ocv = ocv_through_rests(z, v, direction, grid)
    np.testing.assert_allclose(ocv, 1.9 + 0.2 * grid, atol=2e-4)  # the midline, extended
    assert np.all(np.diff(ocv) > 0)


@pytest.fixture(scope="module")
def block_run() -> tuple[np.ndarray, ...]:
    """The short (quick) C/10-steps characterisation of the KiBaM block, noise-free."""
    chem = soc_truth.CHEMISTRIES["lead"]
    steps, soc0 = soc_cases.step_characterisation_steps(chem, quick=True)
    t, i, v_cell, z = run_steps(LeadAcid(), steps, soc0)
    return t, i, v_cell, z


def test_a_blocks_slow_branch_is_the_one_its_rests_show(block_run) -> None:  # type: ignore[no-untyped-def]
    """KiBaM's bound well refills the available one with τ = 1/k = 3000 s, which acts on the
    voltage as an RC branch of R = E'·(1−c)·τ/(3600·c·Q) (E' the OCV's slope; 32 mΩ per cell at
    mid-charge). The joint fit over every row could not find it — rows under load carry the
    block's √i-like polarisation, which a time constant, R0 and the OCV table trade against
    (on this run main fitted τ = 374 s, 77 mΩ, and nothing slower); the rests show it alone."""
    t, i, v_cell, _ = block_run
    model, report = identify(RunData(t, i, v_cell * 6), 6, n_rc=2)
    assert report.charge_extra_ohm > 0.0  # the block's charge keeps the charge term
    cell = LeadAcid()
    slow = model.rc[-1]
    assert slow.tau_s == pytest.approx(3600.0 / cell.k_per_h, rel=0.1)
    slope = 0.18 + 0.025 / 0.5  # E'(x) at mid-charge
    r_kibam = slope * (1 - cell.c) * slow.tau_s / (3600.0 * cell.c * cell.capacity_ah)
    assert slow.r_ohm == pytest.approx(r_kibam, rel=0.15)
    assert all(b.tau_s <= 100.0 for b in model.rc[:-1])  # anything faster has decayed in 5 min


def test_the_model_relaxes_in_a_rest_as_much_as_the_block(block_run) -> None:  # type: ignore[no-untyped-def]
    """Simulated on its own run, the identified model's voltage moves from the 5th minute of
    each long rest to its end about as much as the block's does: the relaxation is the block's.
    Near empty the block relaxes far more (E' grows as the acid runs out at the plates, and
    with it the bound well's voltage; one R per branch cannot follow): those rests are left out.
    Before, the fitted branches had relaxed in minutes where the block takes an hour."""
    t, i, v_cell, z = block_run
    model, _ = identify(RunData(t, i, v_cell * 6), 6, n_rc=2)
    v_model = simulate(model, t, i, float(z[0]))[0] / 6
    moves = []
    resting = np.abs(i) <= model.rest_current_a()
    for k in np.flatnonzero(resting[1:] & ~resting[:-1]) + 1:
        j = k + int(np.argmin(resting[k:])) - 1 if not resting[k:].all() else len(t) - 1
        if t[j] - t[k] < 1200.0:
            continue
        m = k + int(np.searchsorted(t[k : j + 1] - t[k], 300.0))
        if z[j] >= 0.15:
            moves.append((v_cell[j] - v_cell[m], v_model[j] - v_model[m]))
    block, fitted = np.array(moves).T
    assert len(moves) >= 7
    assert np.all(np.abs(block) > 0.003)  # every long rest relaxes visibly
    np.testing.assert_allclose(fitted, block, rtol=0.5)


def test_a_blocks_rests_get_their_own_row_of_the_model_error() -> None:
    """At rest the dynamic voltage is what the RC branches still hold — for the block the slow
    branch the rests show, which the model follows there far better than it follows the √i-like
    polarisation under load. The rest row (from the rest rows' own residual) is what lets a rest
    after a load correct the SOC: with the worst regime's fraction (0.7–2.3 here) a 15-minute
    rest counted for almost nothing (lead matrix: C/20+CV right starts 1.5–1.6 → 0.7 % RMS,
    wrong starts 3.4–3.7 → 1.6–1.8 %)."""
    chem = soc_truth.CHEMISTRIES["lead"]
    steps, soc0 = soc_truth.characterisation_steps(chem, quick=True)
    t, i, v_cell, _ = run_steps(LeadAcid(), steps, soc0)
    model, _ = identify(RunData(t, i, v_cell * 6), 6, n_rc=2)
    u = model.uncertainty
    assert u.rest_fraction is not None
    mid = (u.soc >= 0.4) & (u.soc <= 0.9)
    assert np.all(u.rest_fraction[mid] < u.dynamic_fraction[mid])
    assert float(np.median(u.rest_fraction[mid] / u.dynamic_fraction[mid])) < 0.6
    # the filter takes it at rest only: under load the worst regime's fraction stays
    noise = VoltageNoise(model, SpkfTuning())
    irc = [0.0, 1.0]  # the slow branch still holding 1 A
    at_rest = noise.variance(0.6, 0.0, irc, 1.0)
    loaded = noise.variance(0.6, -1e-3 - model.rest_current_a(), irc, 1.0)
    assert at_rest < 0.5 * loaded
