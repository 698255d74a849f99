"""Current-sensor offset as a filter state, and an honest band where the voltage says little.

Data from the shipped LiFePO4 model itself (its flat plateau is the hard case): a bench's shunt
amplifier reads tens of mA off, and the filter must neither drift with it nor claim a
precision that only coulomb counting backs.
"""

import numpy as np

from benchgui.soc.model import CellModel, simulate
from benchgui.soc.modelfile import load_model
from benchgui.soc.replay import ReplayResult, RunData, replay
from benchgui.soc.spkf import Spkf, SpkfTuning


def cycles(model: CellModel, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n cycles 90 → 20 → 90 % at C/2 with 10-minute rests, 1 Hz (net zero charge): both ends
    reach the steep parts of a LiFePO4 curve, where the voltage tells the offset apart."""
    q = model.capacity_ah
    segs = [(5040, -0.5 * q), (600, 0.0), (5040, 0.5 * q / model.coulombic_efficiency), (600, 0.0)]
    i = np.concatenate([np.full(d, c) for _ in range(n) for d, c in segs])
    return np.arange(len(i), dtype=float), i


def measured(
    model: CellModel, t: np.ndarray, i: np.ndarray, soc0: float, offset_a: float, gain: float = 1.0
) -> tuple[RunData, np.ndarray]:
    v, z = simulate(model, t, i, soc0)
    rng = np.random.default_rng(3)
    i_meas = gain * i + offset_a + rng.normal(0, 0.005, len(t))
    return RunData(t, i_meas, v + rng.normal(0, 0.002, len(t))), z


def err_pct(res: ReplayResult, z: np.ndarray) -> np.ndarray:
    return 100 * (res.soc - z)


def test_a_current_offset_does_not_drift_the_soc() -> None:
    m = load_model("lifepo4-4s")
    t, i = cycles(m, 5)  # 15.7 h
    run, z = measured(m, t, i, 0.90, offset_a=0.030)
    res = replay(m, run, soc0=0.90, soc0_sigma=0.02)
    e = err_pct(res, z)
    late = t >= 3600
    assert np.max(np.abs(e[late])) < 1.2  # bounded: the offset is learned, not integrated
    assert np.abs(e[-3600:]).max() < 0.6
    assert res.current_bias_a is not None
    assert abs(res.current_bias_a[-1] - 0.030) < 0.008
    assert np.mean(np.abs(e) <= 300 * res.soc_sigma + 1e-9) >= 0.95
    # without the bias state the same data drifts: coulomb counting's error leaks through
    plain = replay(m, run, soc0=0.90, soc0_sigma=0.02, tuning=SpkfTuning(current_bias_sigma_a=0.0))
    drift = err_pct(plain, z)
    assert np.abs(drift[-3600:]).max() > 1.0
    assert np.abs(e[-3600:]).max() < 0.4 * np.abs(drift[-3600:]).max()
    assert 100 * (res.coulomb[-1] - z[-1]) > 5.0  # the offset is real: 0.47 Ah in 15.7 h


def test_flat_ocv_is_flagged_and_the_band_grows_honestly() -> None:
    m = load_model("lifepo4-4s")
    # rest at 60 % on the plateau, a slow discharge across it (C/5, sensor 0.5 % high and
    # 20 mA off), then into the steep end below 10 %
    q = m.capacity_ah
    i = np.concatenate([np.zeros(600), np.full(int(3600 * 2.6), -0.2 * q), np.zeros(1800)])
    t = np.arange(len(i), dtype=float)
    run, z = measured(m, t, i, 0.60, offset_a=0.020, gain=1.005)
    res = replay(m, run, soc0=0.60, soc0_sigma=0.01)
    assert res.coulomb_only is not None
    plateau = (z > 0.40) & (z < 0.65)
    steep = z < 0.12
    assert res.coulomb_only[plateau].mean() > 0.95
    assert not res.coulomb_only[steep & (t > t[-1] - 900)].any()
    # the first rest reveals the offset (the reading with the load off is the offset) …
    assert res.current_bias_a is not None
    assert abs(res.current_bias_a[599] - 0.020) < 0.005
    # … so while the voltage says nothing the band only grows by coulomb counting's gain error
    k = np.nonzero(plateau & (t > 1200))[0]
    assert np.all(np.diff(res.soc_sigma[k]) >= -1e-9)
    assert res.soc_sigma[k[-1]] > 1.1 * res.soc_sigma[k[0]]
    # … and it covers the true error everywhere
    e = err_pct(res, z)
    assert np.mean(np.abs(e) <= 300 * res.soc_sigma + 1e-9) >= 0.95
    # once the curve is steep again the voltage pins it back down
    assert res.soc_sigma[-1] < 0.5 * res.soc_sigma[k[-1]]


def test_without_a_reading_the_estimate_is_coulomb_counting() -> None:
    f = Spkf(load_model("lifepo4-4s"), 0.05, 0.05)
    f.step(1.0, 0.0, None)
    assert f.coulomb_only
    v = 4 * f.model.curve().ocv1(0.05)
    for _ in range(5):
        f.step(1.0, 0.0, v)
    assert not f.coulomb_only
    assert f.soc_resolution < SpkfTuning().observable_sigma_soc
    assert f.current_bias_sigma_a > 0.0
    plain = Spkf(load_model("lifepo4-4s"), 0.05, 0.05, SpkfTuning.without_offset_state())
    assert (plain.has_bias, plain.current_bias_a, plain.nx) == (False, 0.0, f.nx - 1)
