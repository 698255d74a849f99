"""The SPKF on data from the model itself: accuracy, honesty of σ, robustness rules."""

import math

import numpy as np
import pytest

from benchgui.soc.linalg import nearest_spd, robust_cholesky
from benchgui.soc.model import OcvTable
from benchgui.soc.modelfile import load_model
from benchgui.soc.replay import RunData, replay
from benchgui.soc.spkf import Spkf, SpkfTuning, initial_soc, sigma_weights
from tests.soc.synthetic import nmc_like, profile, run_of


def errors(res, z: np.ndarray, after_s: float = 600.0) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    e = 100 * (res.soc - z)
    late = res.t_s - res.t_s[0] >= after_s
    inside = float(np.mean(np.abs(e) <= 300 * res.soc_sigma + 1e-9))
    return float(np.sqrt(np.mean(e[late] ** 2))), float(np.max(np.abs(e[late]))), inside


@pytest.mark.parametrize("method", ["cdkf", "ukf"])
def test_tracks_the_model_from_a_wrong_start(method: str) -> None:
    m = nmc_like()
    t, i = profile(1, hours=2.0)
    run, z = run_of(m, t, i, 0.7)
    for start in (0.7, 0.5, 0.9):
        res = replay(m, run, soc0=start, soc0_sigma=0.1, tuning=SpkfTuning(method=method))  # type: ignore[arg-type]
        rms, worst, inside = errors(res, z)
        assert rms < 0.5, (start, rms)
        assert worst < 1.5, (start, worst)
        assert inside > 0.95, (start, inside)


def test_irregular_steps_and_gaps_use_the_real_dt() -> None:
    m = nmc_like()
    rng = np.random.default_rng(5)
    dt = rng.uniform(0.2, 5.0, 3000)
    dt[[500, 1500]] = 900.0  # two logger outages of 15 minutes
    t = np.concatenate([[0.0], np.cumsum(dt)])
    _, i_reg = profile(3, hours=t[-1] / 3600 + 0.1)
    i = i_reg[np.minimum(t.astype(int), len(i_reg) - 1)]
    run, z = run_of(m, t, i, 0.6)
    res = replay(m, run, soc0=0.6, soc0_sigma=0.02)
    rms, _, inside = errors(res, z)
    assert rms < 0.6
    assert inside > 0.95
    # a gap widens the band (the current during it is a guess)
    k = 501
    assert res.soc_sigma[k] > res.soc_sigma[k - 1]


def test_sensor_faults_are_rejected_and_counted() -> None:
    m = nmc_like()
    t, i = profile(2, hours=1.0)
    run, z = run_of(m, t, i, 0.8)
    clean = replay(m, run, soc0=0.8, soc0_sigma=0.05)
    bad_v = run.voltage_v.copy()
    bad_v[[1000, 1001, 2000]] = [0.0, 99.0, run.voltage_v[2000] + 3.0]  # dropout, garbage, spike
    res = replay(m, RunData(run.t_s, run.current_a, bad_v), soc0=0.8, soc0_sigma=0.05)
    assert res.rejected == 3
    assert np.max(np.abs(res.soc - clean.soc)) < 0.002
    # a "fault" that persists is the estimate's: the filter re-converges instead of rejecting forever
    lost = replay(m, run, soc0=0.05, soc0_sigma=0.001)
    assert abs(lost.soc[-1] - z[-1]) < 0.03


def test_covariance_bump_and_clamp() -> None:
    m = nmc_like()
    t, i = profile(4, hours=1.0)
    run, z = run_of(m, t, i, 0.3)
    # over-confident and wrong: large innovations bump the SOC variance so it recovers faster
    # (the filter's own bump: without the fit of the rest the run starts in, which would catch
    # this start before the filter sees it, test_rest_start.py)
    res = replay(m, run, soc0=0.5, soc0_sigma=0.002, fit_rest=False)
    stiff = replay(m, run, soc0=0.5, soc0_sigma=0.002, tuning=SpkfTuning(bump_factor=1.0), fit_rest=False)
    assert res.bumps > 0
    k = 1200  # 20 minutes in
    assert abs(res.soc[k] - z[k]) < 0.6 * abs(stiff.soc[k] - z[k])
    f = Spkf(m, 1.0, 0.05)
    f.step(1.0, math.nan, 14.0)  # a broken input is skipped, not absorbed
    assert f.skipped == 1
    assert math.isfinite(f.soc)
    for _ in range(200):
        f.step(10.0, 5.0, None)  # charging far past full without a voltage
    assert f.soc <= f.tuning.soc_max + 1e-12


def test_charging_current_is_positive() -> None:
    f = Spkf(nmc_like(), 0.5, 0.05)
    f.step(360.0, 5.0, None)
    assert f.soc == pytest.approx(0.5 + 0.99 * 5.0 * 360 / (3600 * 5.0), abs=1e-6)
    f.step(360.0, -5.0, None)
    assert f.soc == pytest.approx(0.5 + (0.99 - 1.0) * 0.1, abs=1e-6)


def test_lost_definiteness_is_repaired() -> None:
    f = Spkf(nmc_like(), 0.5, 0.05)
    f._p = np.diag([1.0, 1.0, 0.1, 0.0025, -1e-4])  # round-off gone wrong (i_R1, i_R2, h, b, z)
    f.step(1.0, -1.0, 14.8)
    assert f.repairs == 1
    assert np.all(np.linalg.eigvalsh(f.covariance) > 0)
    a = np.array([[1.0, 2.0], [2.0, 1.0]])  # indefinite
    s = nearest_spd(a)
    assert np.all(np.linalg.eigvalsh(s) >= -1e-12)
    assert s == pytest.approx(np.full((2, 2), 1.5))
    low, repaired = robust_cholesky(a)
    assert repaired is not None
    assert low @ low.T == pytest.approx(repaired)
    with pytest.raises(np.linalg.LinAlgError):
        robust_cholesky(np.array([[np.nan]]))


def test_weights_sum_to_one() -> None:
    for method in ("cdkf", "ukf"):
        g, wm, _ = sigma_weights(method, 6, SpkfTuning())
        assert wm.sum() == pytest.approx(1.0)
        assert g == pytest.approx(math.sqrt(3.0))
    with pytest.raises(ValueError, match="unknown"):
        sigma_weights("ekf", 6, SpkfTuning())


def test_initial_soc_from_a_rested_voltage() -> None:
    m = nmc_like()
    v = m.cells_in_series * m.curve().ocv1(0.42)
    z, s, how = initial_soc(m, v, 0.0, fallback_soc=0.5, fallback_sigma=0.2)
    assert z == pytest.approx(0.42, abs=1e-6)
    assert s < 0.03
    assert how == "from rested voltage"
    z, s, how = initial_soc(m, v, -3.0, fallback_soc=0.5, fallback_sigma=0.2)
    assert (z, s, how) == (0.5, 0.2, "configured")
    # LiFePO4's plateau says little: the σ is wide there, narrow on the steep end
    lfp = load_model("lifepo4-4s")
    mid = initial_soc(lfp, 4 * lfp.curve().ocv1(0.5), 0.0, fallback_soc=0.5, fallback_sigma=0.2)[1]
    end = initial_soc(lfp, 4 * lfp.curve().ocv1(0.03), 0.0, fallback_soc=0.5, fallback_sigma=0.2)[1]
    assert mid > 3 * end


def test_temperature_selects_the_ocv_row() -> None:
    m = nmc_like()
    soc = m.ocv.soc
    hot = m.ocv.voltage_v[0] + 0.05
    from dataclasses import replace

    m2 = replace(m, ocv=OcvTable(soc, np.array([25.0, 45.0]), np.vstack([m.ocv.voltage_v[0], hot])))
    f = Spkf(m2, 0.5, 0.01)
    f.step(0.0, 0.0, 4 * m2.curve(25.0).ocv1(0.5), temperature_c=25.0)
    cold_pred = f.voltage_pred_v
    f.step(0.0, 0.0, 4 * m2.curve(45.0).ocv1(0.5), temperature_c=45.0)
    assert f.voltage_pred_v - cold_pred == pytest.approx(4 * 0.05, abs=0.02)
