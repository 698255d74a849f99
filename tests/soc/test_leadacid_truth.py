"""The lead-acid truth model (benchmarks/soc_leadacid.py, KiBaM — not benchgui's ESC model): it
has the datasheet's rate capacities, and a 6-cell block identifies from its own run."""

from pathlib import Path

import pytest

from benchgui.soc.identify import identify
from benchgui.soc.modelfile import dump_model, parse_model
from benchgui.soc.replay import RunData
from benchmarks import soc_truth
from benchmarks.soc_leadacid import LeadAcid, StepError, rate_capacities, run_steps
from tests.helpers import ROOT

CACHE = ROOT / "tests" / ".cache" / "pybamm"


def test_rate_capacities_follow_the_datasheet() -> None:
    caps = rate_capacities()
    c20 = caps["20 h"]
    # NP12-5: 10 h 95 %, 5 h 85 %, 1 h 60 % of the 20 h capacity
    for key, share in (("10 h", 0.95), ("5 h", 0.85), ("1 h", 0.60)):
        assert caps[key] / c20 == pytest.approx(share, abs=0.03), key
    assert c20 < LeadAcid().capacity_ah  # the 20 h rate does not take out all the charge


def test_unknown_steps_are_refused() -> None:
    with pytest.raises(StepError, match="cannot run"):
        run_steps(LeadAcid(), ["Discharge at 1 W for 10 minutes"], 1.0)


def test_block_identifies_from_its_own_characterisation() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    chem = soc_truth.CHEMISTRIES["lead"]
    run = soc_truth.bench_characterisation(chem, "C/10", cv=True, cache=Path(CACHE))
    model, report = identify(RunData(run.t_s, run.current_a, run.voltage_v), chem.cells, n_rc=1)
    assert model.cells_in_series == 6
    # measured −2.4 %: the 1 h rests do not fully relax a lead-acid block (docs/soc-accuracy.md)
    assert model.capacity_ah == pytest.approx(run.capacity_ah, rel=0.03)
    assert report.capacity.missing_full_ah > 0  # corrected against 2.13 V/cell at full
    assert parse_model(dump_model(model)).capacity_ah == pytest.approx(model.capacity_ah, rel=1e-5)
