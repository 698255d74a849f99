"""The accuracy matrix's case definitions (benchmarks/soc_cases.py), without running PyBaMM."""

import numpy as np
import pytest

from benchmarks import soc_cases, soc_truth
from tests.helpers import ROOT

CACHE = ROOT / "tests" / ".cache" / "pybamm"


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


def test_each_chemistry_runs_its_own_cells_and_truth_models() -> None:
    chems = soc_truth.CHEMISTRIES
    assert chems["lead"].cells == 6  # a 12 V block
    assert chems["lfp"].cells == chems["nmc"].cells == 4
    assert chems["lead"].fidelities == ("KiBaM",)  # no PyBaMM DFN/SPMe of it (docs/soc-accuracy.md)
    assert set(soc_cases.FIDELITIES) == {"DFN", "SPMe", "KiBaM"}


def _charge_ah(chem: soc_truth.Chemistry, steps: list[str]) -> tuple[float, float]:
    """(Ah charged by timed charge steps, highest charge C-rate) as the KiBaM parser reads them."""
    from benchmarks.soc_leadacid import _parse

    q = 1.0
    ah, top = 0.0, 0.0
    for s in steps:
        if s.startswith("Charge at") and " for " in s:
            _kind, i, dur, _v, _p = _parse(s, q)
            ah += i * dur / 3600
            top = max(top, i / q)
    return ah, top


def test_lead_acid_charges_within_its_rating_with_the_same_charge() -> None:
    lead, lfp = soc_truth.CHEMISTRIES["lead"], soc_truth.CHEMISTRIES["lfp"]
    plans = [
        lambda c: soc_truth.drive_steps(c, "partial", False)[0],
        lambda c: soc_truth.drive_steps(c, "dynamic", True)[0],
        lambda c: soc_truth.characterisation_steps(c, True)[0],
        lambda c: soc_cases.step_characterisation_steps(c, True)[0],
    ]
    for plan in plans:
        ah_lead, top_lead = _charge_ah(lead, plan(lead))
        ah_lfp, top_lfp = _charge_ah(lfp, plan(lfp))
        assert top_lfp > soc_truth.LEAD_MAX_CHARGE_C  # the lithium profiles do charge faster …
        assert top_lead <= soc_truth.LEAD_MAX_CHARGE_C + 1e-9  # … the block never above its rating
        assert ah_lead == pytest.approx(ah_lfp, rel=0.01)  # and each plan still moves the same charge
    steps = soc_truth.drive_steps(lfp, "dynamic", True)[0]
    assert soc_truth.limit_charge(lfp, steps) is steps  # no limit: the lithium runs (and caches) as before


def test_identification_gets_the_chemistrys_cell_count(tmp_path, monkeypatch) -> None:
    from benchgui.soc.modelfile import load_model
    from benchmarks import soc_accuracy

    monkeypatch.setenv("BENCHGUI_SOC_CACHE", str(CACHE))
    model_path, cap_err = soc_accuracy.identify_model("lead", "KiBaM", "C/10 steps", True, tmp_path)
    model = load_model(model_path)
    assert model.cells_in_series == 6
    assert abs(cap_err) < 50  # a capacity, not a 4-cell misreading of a 6-cell voltage
