"""The accuracy matrix's case definitions (benchmarks/soc_cases.py), without running PyBaMM."""

import numpy as np

from benchmarks import soc_cases, soc_truth


def test_sensor_errors_touch_the_measurement_not_the_truth() -> None:
    t = np.arange(5.0)
    run = soc_truth.Run(t, np.full(5, -2.0), np.full(5, 13.21234), np.linspace(0.9, 0.8, 5), 2.3)
    plus = soc_cases.SENSORS[1].apply(run)
    assert np.allclose(plus.current_a, -2.0 * 1.005 + 0.020)
    assert np.allclose(plus.voltage_v, 13.212, rtol=0, atol=1e-12)  # 1 mV steps
    assert plus.soc_true is run.soc_true
    assert np.all(run.current_a == -2.0)  # the cached run itself is left alone
    minus = soc_cases.SENSORS[2].apply(run)
    assert np.allclose(minus.current_a, -2.0 * 0.995 - 0.020)


def test_step_characterisation_has_rests_and_pulses_but_no_cv() -> None:
    chem = soc_truth.CHEMISTRIES["lfp"]
    for quick in (True, False):
        steps, soc0 = soc_cases.step_characterisation_steps(chem, quick)
        assert soc0 == 1.0
        assert not any(s.startswith("Hold") for s in steps)  # no CV tails
        assert all("C/20" not in s for s in steps)
        assert sum("Discharge at C/10" in s for s in steps) == sum("Charge at C/10" in s for s in steps)
        assert sum("1 hour" in s or "30 minutes" in s for s in steps) >= 10  # rests
        assert any("2C" in s for s in steps)  # pulses
