"""The lead-acid truth model (benchmarks/soc_leadacid.py, KiBaM — not benchgui's ESC model): it
has the datasheet's rate capacities, and a 6-cell block identifies from its own run."""

from pathlib import Path

import numpy as np
import pytest

from benchgui.soc.capacity import rest_points
from benchgui.soc.identify import identify
from benchgui.soc.model import simulate
from benchgui.soc.modelfile import dump_model, parse_model
from benchgui.soc.replay import RunData
from benchgui.soc.residuals import rest_weights
from benchmarks import soc_cases, soc_truth
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


def test_the_ocv_of_a_block_passes_through_its_rests() -> None:
    """The rested voltages anchor the OCV (residuals.rest_weights): without that the fit moved
    the table 13–20 mV per cell off every rest of the block's C/10-steps run and let a slow
    hysteresis make up the difference — a state a filter cannot learn, which then explains a
    wrong start away. Measured on this (short) run: median error at the rest ends 13 mV
    before, 4 mV with the rests anchoring the table."""
    chem = soc_truth.CHEMISTRIES["lead"]
    steps, soc0 = soc_cases.step_characterisation_steps(chem, quick=True)
    t, i, v_cell, _ = run_steps(LeadAcid(), steps, soc0)
    model, report = identify(RunData(t, i, v_cell * chem.cells), chem.cells, n_rc=2)
    assert report.charge_extra_ohm > 0.0  # the block's charge keeps the charge term
    v_model, _ = simulate(model, t, i, 1.0)
    z_rows, _, _ = rest_points(t, i, np.arange(len(t), dtype=float), v_cell, model.rest_current_a())
    ends = z_rows.astype(int)  # the row index of each rest's end
    assert len(ends) >= 8
    err = v_model[ends] / chem.cells - v_cell[ends]
    assert float(np.median(np.abs(err))) < 0.008


def test_rest_weights_give_the_relaxed_rows_the_weight_of_the_others() -> None:
    t = np.arange(0.0, 7200.0, 10.0)
    i = np.where(t < 3600.0, -1.0, 0.0)  # an hour under current, then an hour at rest
    w = rest_weights(t, i, 0.1)
    relaxed = (t >= 3600.0 + 600.0) & (i == 0.0)
    assert np.all(w[~relaxed] == 1.0)  # under current and the first 10 minutes of the rest
    assert float(w[relaxed].sum()) == pytest.approx(float((~relaxed).sum()))
    assert np.all(rest_weights(t, np.full_like(t, -1.0), 0.1) == 1.0)  # no rest: as before
