"""The model's error by regime: a charge the model cannot predict must not pull the filter."""

from dataclasses import replace

import numpy as np
import pytest

from benchgui.soc.identify import identify
from benchgui.soc.model import CellModel, simulate
from benchgui.soc.replay import RunData, replay
from benchgui.soc.residuals import (
    hysteresis_bound,
    longest_rest_s,
    regime_uncertainty,
    regimes,
    relaxed_rows,
)
from tests.soc.synthetic import characterisation, nmc_like

#: charge overvoltage of the synthetic "block" beyond its R0 (Ω per cell; R0 is 20 mΩ): a
#: stand-in for a lead-acid block's gassing overvoltage, which the ESC model does not have
EXTRA_CHARGE_OHM = 0.06


def with_charge_overvoltage(model: CellModel, run: RunData) -> RunData:
    """The run's voltage as a cell with ΔR⁺ on charge would show it (same currents)."""
    extra = model.cells_in_series * EXTRA_CHARGE_OHM * np.maximum(run.current_a, 0.0)
    return RunData(run.t_s, run.current_a, run.voltage_v + extra)


def test_a_regime_the_model_misses_sets_the_dynamic_fraction() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    z = rng.uniform(0.0, 1.0, n)
    i = rng.choice([-2.0, 0.0, 1.0], n)
    dyn = 0.02 * np.abs(i)
    res = rng.normal(0.0, 0.001, n)  # rests and discharges: 1 mV
    chg = i > 0
    res[chg] += 0.05  # charges: 50 mV off, at a dynamic voltage of 20 mV
    table, by_regime = regime_uncertainty(z, res, dyn, i, 0.1, i == 0)
    assert np.all(table.dynamic_fraction > 2.0)  # 50 mV over 20 mV, not the discharge's 0.03
    assert np.all(table.rest_v < 0.002)  # the rests stay trusted
    assert np.nanmin(by_regime.rms_v["charge"]) > 0.04
    assert np.nanmax(by_regime.rms_v["discharge"]) < 0.002
    # without the charge error the fraction is the discharge's own (floor 5 %)
    table2, _ = regime_uncertainty(z, np.where(chg, res - 0.05, res), dyn, i, 0.1, i == 0)
    assert np.all(table2.dynamic_fraction < 0.2)
    masks = regimes(i, 0.1)
    assert masks["charge"].sum() + masks["discharge"].sum() + masks["rest"].sum() == n


def rests_after_each_direction(bias_after_charge: float) -> tuple[np.ndarray, ...]:
    """A run in blocks over the SOC range: discharge, rest, charge, rest (1 mV noise); the
    model reads ``bias_after_charge`` (V) high in the rests that follow a charge only."""
    rng = np.random.default_rng(5)
    block_i = np.concatenate([np.full(50, -1.0), np.zeros(200), np.full(50, 1.0), np.zeros(200)])
    i = np.tile(block_i, 20)
    z = np.repeat(np.linspace(0.025, 0.975, 20), len(block_i))
    res = rng.normal(0.0, 0.001, len(i))
    after_charge = np.tile(np.r_[np.zeros(300, bool), np.ones(200, bool)], 20)
    res[after_charge] += bias_after_charge
    dyn = 0.02 * np.abs(i)
    return z, res, dyn, i


def test_a_rest_bias_after_one_direction_sets_the_rest_column() -> None:
    """A model that reads every rest after a charge 60 mV high (the lead-acid C/20+CV case) is
    not trusted at rest by the pooled RMS (≈ 42 mV): the worse history sets the column."""
    z, res, dyn, i = rests_after_each_direction(0.06)
    pooled, _ = regime_uncertainty(z, res, dyn, i, 0.1, i == 0)
    split, _ = regime_uncertainty(z, res, dyn, i, 0.1, i == 0, by_direction=True)
    assert np.all(pooled.rest_v < 0.05)  # pooled over both histories: below the bias
    assert np.all(split.rest_v > 0.058)  # the after-charge rests' own RMS
    # without the bias both histories agree: the column stays at the noise
    z, res, dyn, i = rests_after_each_direction(0.0)
    clean, _ = regime_uncertainty(z, res, dyn, i, 0.1, i == 0, by_direction=True)
    assert np.all(clean.rest_v < 0.002)


@pytest.fixture(scope="module")
def block():  # type: ignore[no-untyped-def]
    truth = nmc_like()
    run, _ = characterisation(truth)
    run = with_charge_overvoltage(truth, run)
    fits = {ct: identify(run, 4, n_rc=2, ocv_limits=None, charge_term=ct) for ct in (True, None)}
    return truth, fits


def test_the_charge_overvoltage_stays_out_of_r0_and_the_ocv(block) -> None:  # type: ignore[no-untyped-def]
    truth, fits = block
    model, report = fits[True]
    assert report.charge_extra_ohm == pytest.approx(EXTRA_CHARGE_OHM, rel=0.25)
    assert model.r0_ohm == pytest.approx(truth.r0_ohm, rel=0.15)
    z = np.linspace(0.1, 0.9, 9)
    assert np.max(np.abs(model.curve().ocv(z) - truth.curve().ocv(z))) < 0.006
    # the model carries ΔR⁺ and its uncertainty a charge row: the charge is predicted, so
    # neither direction's fraction is the 50 mV-over-20 mV of a model without it
    assert model.r0_charge_extra_ohm == report.charge_extra_ohm
    assert model.uncertainty.charge_fraction is not None
    assert float(np.median(model.uncertainty.dynamic_fraction)) < 1.0
    assert float(np.median(model.uncertainty.charge_fraction)) < 1.0
    assert float(np.median(model.uncertainty.rest_v)) < 0.005
    assert any("charge" in line for line in report.lines(model))


def test_identify_write_load_round_trip_keeps_the_charge_term(block, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from benchgui.soc.modelfile import dump_model, load_model

    _, fits = block
    model, _ = fits[True]
    path = tmp_path / "block.toml"
    path.write_text(dump_model(model), encoding="utf-8")
    back = load_model(path)
    assert back.r0_charge_extra_ohm == pytest.approx(model.r0_charge_extra_ohm, rel=1e-5)
    assert back.uncertainty.charge_fraction is not None
    assert model.uncertainty.charge_fraction is not None
    assert back.uncertainty.charge_fraction == pytest.approx(model.uncertainty.charge_fraction, rel=1e-5)
    # with ΔR⁺ the model predicts the block's charge voltage as well as its discharge
    t = np.arange(0.0, 3600.0, 1.0)
    i = np.full_like(t, 0.1 * back.capacity_ah)
    v_truth = simulate(block[0], t, i, 0.3)[0] + 4 * EXTRA_CHARGE_OHM * i
    v_back = simulate(back, t, i, 0.3)[0]
    v_one_r0 = simulate(replace(back, r0_charge_extra_ohm=0.0), t, i, 0.3)[0]
    assert np.median(np.abs(v_back - v_truth)) < 0.5 * np.median(np.abs(v_one_r0 - v_truth))


def test_a_charge_the_model_misses_does_not_pull_a_right_start(block) -> None:  # type: ignore[no-untyped-def]
    truth, fits = block
    t = np.arange(0.0, 5 * 3600.0, 1.0)
    i = np.where(t < 3600, 0.0, 0.1 * truth.capacity_ah)  # rest, then 4 h of C/10 charge
    i = np.where(t > 4.5 * 3600, 0.0, i)
    v, z = simulate(truth, t, i, 0.3)
    run = with_charge_overvoltage(truth, RunData(t, i, v))
    model, _ = fits[True]
    assert model.r0_charge_extra_ohm > 0.0
    res = replay(model, run, soc0=0.3, soc0_sigma=0.02)
    err = np.abs(res.soc - z)
    # 3.5 h of charge with a 30 mV-per-cell overvoltage (≈ 2.5 % of SOC on this OCV) that the
    # model now predicts with R0 + ΔR⁺: a right start stays right, inside its band
    assert float(np.max(err)) < 0.02
    assert float(np.mean(err <= 3 * res.soc_sigma + 1e-9)) >= 0.95
    # the same model with its ΔR⁺ and charge row taken away: the filter reads the charge
    # overvoltage as SOC (what the charge row and ΔR⁺ are for)
    one_r0 = replace(
        model,
        r0_charge_extra_ohm=0.0,
        uncertainty=replace(model.uncertainty, charge_fraction=None),
    )
    res0 = replay(one_r0, run, soc0=0.3, soc0_sigma=0.02)
    assert float(np.max(err)) < float(np.max(np.abs(res0.soc - z)))


def test_the_charge_term_is_kept_only_where_the_charge_needs_it(block) -> None:  # type: ignore[no-untyped-def]
    truth, fits = block
    # ΔR⁺ = 3 × R0 here: kept by default, as on a lead-acid block
    assert fits[None][1].charge_extra_ohm == pytest.approx(fits[True][1].charge_extra_ohm)
    # a cell whose charge the one R0 already explains: the old fit, with a note saying so
    run, _ = characterisation(truth)
    model, report = identify(run, 4, n_rc=2, ocv_limits=None)
    assert report.charge_extra_ohm == 0.0
    assert report.regimes is not None
    assert any("one R0 for both directions" in n for n in report.notes)
    assert model.r0_ohm == pytest.approx(truth.r0_ohm, rel=0.1)


def test_the_hysteresis_bound_is_half_the_gap_between_rests_of_each_history() -> None:
    z = np.linspace(0.1, 0.9, 9)
    ocv = 1.95 + 0.2 * z
    after_charge = ocv + 0.020  # rests after a charge read 20 mV above those after a discharge
    rest_z = np.concatenate([z, z + 0.03])
    rest_v = np.concatenate([ocv, np.interp(z + 0.03, z, after_charge)])
    direction = np.concatenate([np.full(9, -1.0), np.full(9, 1.0)])
    assert hysteresis_bound(rest_z, rest_v, direction) == pytest.approx(0.010, abs=5e-4)
    # rests after one direction only: nothing to compare, no bound
    assert hysteresis_bound(z, ocv, np.full(9, -1.0)) is None
    # both histories agree: no hysteresis allowed (and never a negative bound)
    assert (
        hysteresis_bound(rest_z, np.concatenate([ocv, np.interp(z + 0.03, z, ocv - 0.004)]), direction) == 0.0
    )


def test_the_longest_rest_and_the_relaxed_rows() -> None:
    t = np.arange(0.0, 10000.0, 10.0)
    i = np.where((t >= 2000.0) & (t < 3000.0), 0.0, -1.0)  # a 1000 s rest
    i[t >= 6000.0] = 0.0  # and one to the end (3990 s)
    assert longest_rest_s(t, i, 0.1) == pytest.approx(3990.0)
    relaxed = relaxed_rows(t, i, 0.1, 600.0)
    assert relaxed[(t >= 2600.0) & (t < 3000.0)].all()
    assert not relaxed[(t >= 2000.0) & (t < 2600.0)].any()
    assert not relaxed[i != 0.0].any()
    assert longest_rest_s(t, np.full_like(t, -1.0), 0.1) == 0.0
