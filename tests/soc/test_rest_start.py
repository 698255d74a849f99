"""A start at rest: the relaxation of the rest's first minutes fitted with the model's own time
constants (benchgui.soc.rest_start), in the replay and in the live estimator alike."""

import numpy as np
import pytest

from benchgui.clock import ScaledClock
from benchgui.core.bench import Bench
from benchgui.core.soc_service import SocService
from benchgui.soc.model import CellModel, ModelUncertainty, OcvTable, RcBranch
from benchgui.soc.recursions import rc_currents
from benchgui.soc.replay import RunData, replay
from benchgui.soc.rest_start import PRIOR_C_RATE, WINDOW_S, fit_rest_start, leading_rest_rows
from benchgui.soc.spkf import SpkfTuning
from tests.core.test_soc_service import feed
from tests.soc.synthetic import profile, run_of


def block(r_slow: float = 0.032) -> CellModel:
    """A lead-acid-like 12 V block: a slow branch (50 min, 32 mΩ per cell) that holds hundreds of
    mV after a discharge, on a steep, linear OCV."""
    soc = np.linspace(0, 1, 21)
    return CellModel(
        name="lead-like block",
        chemistry="lead",
        cells_in_series=6,
        capacity_ah=7.2,
        coulombic_efficiency=1.0,
        r0_ohm=0.012,
        rc=(RcBranch(0.013, 100.0), RcBranch(r_slow, 3000.0)),
        hysteresis_gamma=50.0,
        hysteresis_m_v=0.0,
        hysteresis_m0_v=0.0,
        ocv=OcvTable(soc, np.array([25.0]), (1.95 + 0.18 * soc)[None, :]),
        uncertainty=ModelUncertainty.constant(0.003, 0.2),
    )


def discharge_then_rest() -> tuple[CellModel, RunData, np.ndarray, int]:
    """20 min rest, 1 h at C/2, 30 min rest, then C/10 to the end; the index where the 30-minute
    rest starts."""
    m = block()
    t = np.arange(0.0, 4 * 3600.0, 1.0)
    i = np.zeros(len(t))
    i[1200:4800] = -3.6
    i[6600:] = -0.72
    run, z = run_of(m, t, i, 0.9)
    return m, run, z, 4800


def live(model: CellModel, **options: float | str) -> tuple[Bench, SocService]:
    """The live estimator on the LabJack's channels (``feed`` publishes them)."""
    bench = Bench(ScaledClock(1.0), [])
    svc = SocService(
        bench,
        model,
        SpkfTuning(),
        voltage_channel="battery.voltage.labjack",
        current_channel="battery.current.labjack",
        **options,  # type: ignore[arg-type]
    )
    return bench, svc


def tail(run: RunData, k0: int) -> RunData:
    return RunData(run.t_s[k0:], run.current_a[k0:], run.voltage_v[k0:])


def test_the_fit_reads_what_a_discharge_left_in_the_branches() -> None:
    m, run, z, k0 = discharge_then_rest()
    rows = leading_rest_rows(run.t_s[k0:], run.current_a[k0:], m.rest_current_a())
    assert rows == WINDOW_S + 1  # 1-s rows, both ends of the window
    rest = fit_rest_start(m, run.t_s[k0 : k0 + rows], run.voltage_v[k0 : k0 + rows])
    assert rest is not None
    truth = rc_currents(m, run.t_s, np.where(np.arange(len(run.t_s)) < 1200, 0.0, run.current_a))[:, k0]
    # the branches hold what 1 h at C/2 left: −3.6 A (fast) and −3.6·(1 − e^−1.2) A (slow)
    assert truth[1] == pytest.approx(-3.6 * (1 - np.exp(-1.2)), abs=0.05)
    for j in range(2):
        assert rest.rc_a[j] == pytest.approx(truth[j], abs=3 * rest.rc_sigma_a[j])
        assert rest.rc_sigma_a[j] < 1.2  # the window says something (the prior is 7.2 A)
    ocv = 6 * m.curve().ocv1(float(z[k0]))  # the OCV the rest heads for
    assert rest.v_inf_v == pytest.approx(ocv, abs=3 * rest.v_inf_sigma_v)
    assert abs(rest.v_inf_v - run.voltage_v[k0]) > 0.3  # far from the voltage the rest starts at
    assert rest.span_s == WINDOW_S


def test_a_rested_battery_holds_nothing_and_a_single_reading_proves_nothing() -> None:
    m = block()
    t = np.arange(0.0, WINDOW_S + 1.0, 10.0)
    v = np.full(len(t), 12.3) + np.random.default_rng(3).normal(0, 0.002, len(t))
    rest = fit_rest_start(m, t, v)
    assert rest is not None
    assert np.all(np.abs(rest.rc_a) < 3 * rest.rc_sigma_a)
    assert rest.rc_sigma_a[1] < 0.2
    assert rest.v_inf_v == pytest.approx(12.3, abs=0.02)
    one = fit_rest_start(m, t[:1], v[:1])
    assert one is not None
    # one reading cannot tell a branch from the OCV: the prior (1C) stays, V∞ is that reading
    assert one.rc_sigma_a == pytest.approx(PRIOR_C_RATE * m.capacity_ah, rel=0.05)
    assert one.v_inf_v == pytest.approx(v[0], abs=1e-6)
    assert one.v_inf_sigma_v > 0.5


def test_missing_and_implausible_readings_are_skipped_and_a_branch_without_resistance_is_left_alone() -> None:
    m = block(r_slow=0.0)
    t = np.arange(0.0, 120.0, 1.0)
    v = np.full(len(t), 12.3)
    v[::7] = np.nan
    rest = fit_rest_start(m, t, v)
    assert rest is not None
    assert np.isfinite(rest.v_inf_v)
    assert rest.rows == int(np.isfinite(v).sum())
    assert rest.rc_a[1] == 0.0
    assert rest.rc_sigma_a[1] == PRIOR_C_RATE * m.capacity_ah
    assert fit_rest_start(m, t, np.full(len(t), np.nan)) is None
    glitch = np.full(len(t), 12.3)
    glitch[[5, 50]] = [0.0, 99.0]  # a dropout and garbage: skipped like the filter skips them
    clean = fit_rest_start(m, t, glitch)
    assert clean is not None
    assert clean.rows == len(t) - 2
    assert clean.v_inf_v == pytest.approx(12.3, abs=1e-3)
    assert fit_rest_start(m, t, np.zeros(len(t))) is None


def test_leading_rest_rows_stop_at_a_current_a_nan_or_the_window() -> None:
    t = np.arange(0.0, 2000.0, 100.0)
    i = np.zeros(len(t))
    assert leading_rest_rows(t, i, 0.1) == 7  # 0 … 600 s
    i[3] = -1.0
    assert leading_rest_rows(t, i, 0.1) == 3
    i[3] = np.nan
    assert leading_rest_rows(t, i, 0.1) == 3
    assert leading_rest_rows(t, -np.ones(len(t)), 0.1) == 0
    assert leading_rest_rows(t[:0], i[:0], 0.1) == 0


def test_a_start_right_after_a_discharge_is_where_the_rest_heads_and_honest() -> None:
    """Read as an OCV, the voltage right after 1 h at C/2 started the filter 40 points low with
    σ 1 % (0 % of the rows inside ±3σ); from the rest's relaxation it starts within its band."""
    m, run, z, k0 = discharge_then_rest()
    res = replay(m, tail(run, k0))
    e = 100 * (res.soc - z[k0:])
    assert "relaxation fitted" in res.soc0_how
    assert abs(100 * res.soc0 - 100 * z[k0]) < 3.0
    assert np.mean(np.abs(e) <= 300 * res.soc_sigma + 1e-9) >= 0.95
    assert np.max(np.abs(e[600:])) < 2.0


def test_a_given_start_is_weighed_with_the_rest_and_takes_the_branches_from_it() -> None:
    """A wrong start on a rested block: weighed with what the first 10 min of rest show, with
    the branches from the same fit, it starts near the truth (read one sample at a time by the
    filter, with a slow branch at C/20, the rest had left it 5.6 points off)."""
    m = block()
    t, i = profile(4, hours=1.0, capacity_ah=7.2)
    i[:600] = 0.0
    run, z = run_of(m, t, i, 0.8)
    for start in (0.6, 1.0):
        res = replay(m, run, soc0=start, soc0_sigma=0.1)
        e = 100 * (res.soc - z)
        assert f"{100 * start:.0f} % ± 30 % given, weighed with the first 10 min of rest" in res.soc0_how
        assert abs(res.soc0 - z[0]) < 0.3 * abs(start - z[0]), (start, res.soc0)
        assert res.soc0_sigma < 0.1
        assert abs(e[600]) < 2.0, (start, e[600])
        assert np.mean(np.abs(e) <= 300 * res.soc_sigma + 1e-9) >= 0.95


def test_a_confident_start_the_rest_contradicts_is_widened_not_kept() -> None:
    """An operator's confident guess (±0.6 % 3σ) 30 points off what the rest shows: kept as
    given, the filter would not let the voltage move it; widened to where the two just agree
    and then weighed, it starts next to the rest's answer."""
    m = block()
    t, i = profile(4, hours=1.0, capacity_ah=7.2)
    i[:600] = 0.0
    run, z = run_of(m, t, i, 0.5)
    res = replay(m, run, soc0=0.8, soc0_sigma=0.002)
    assert "disagrees with the rest: widened to" in res.soc0_how
    assert abs(res.soc0 - z[0]) < 0.05
    # the threshold is the filter's own bump setting: one setting decides both
    lax = replay(m, run, soc0=0.8, soc0_sigma=0.002, tuning=SpkfTuning(bump_sigmas=1e3))
    assert "disagrees" not in lax.soc0_how
    assert abs(lax.soc0 - 0.8) < 0.01
    e = 100 * (res.soc - z)
    assert np.mean(np.abs(e) <= 300 * res.soc_sigma + 1e-9) >= 0.95


def test_a_rest_the_start_has_read_is_not_read_again() -> None:
    """The fit has read the rest's voltages: the filter runs through them on the current alone
    (counting the same relaxation twice had pulled right starts toward the model's own bias,
    docs/soc-accuracy.md); a start that did not use the rest still reads them."""
    m = block()
    t, i = profile(4, hours=1.0, capacity_ah=7.2)
    i[:600] = 0.0
    run, _ = run_of(m, t, i, 0.8)
    rows = leading_rest_rows(run.t_s, run.current_a, m.rest_current_a())
    used = replay(m, run, soc0=0.7, soc0_sigma=0.1)
    assert used.coulomb_only is not None
    assert used.coulomb_only[:rows].all()
    assert used.soc[rows - 1] == pytest.approx(used.soc0, abs=1e-3)
    blind = replay(m, run, soc0=0.7, soc0_sigma=0.1, fit_rest=False)
    assert blind.soc[rows - 1] != pytest.approx(blind.soc0, abs=1e-3)


def test_live_estimator_starts_again_from_the_rest_and_then_matches_the_replay() -> None:
    m, run, z, k0 = discharge_then_rest()
    part = RunData(run.t_s[k0 : k0 + 1800], run.current_a[k0 : k0 + 1800], run.voltage_v[k0 : k0 + 1800])
    bench, svc = live(m)
    feed(bench, part.t_s - part.t_s[0], part.current_a, part.voltage_v)
    est = svc.latest
    assert est is not None
    assert "relaxation fitted" in est.initial_how
    offline = replay(m, part)
    assert offline.soc0_how == est.initial_how
    assert est.soc_pct == pytest.approx(100 * offline.soc[-1], abs=0.05)
    assert est.sigma3_pct == pytest.approx(300 * offline.soc_sigma[-1], rel=0.02)
    assert est.soc_pct == pytest.approx(100 * z[k0 + 1799], abs=2.0)


def test_live_estimator_weighs_a_configured_start_with_the_rest_as_the_replay_does() -> None:
    m, run, _, k0 = discharge_then_rest()
    part = RunData(run.t_s[k0 : k0 + 1800], run.current_a[k0 : k0 + 1800], run.voltage_v[k0 : k0 + 1800])
    bench, svc = live(m, initial="config", initial_soc_pct=60.0, initial_sigma_pct=10.0)
    feed(bench, part.t_s - part.t_s[0], part.current_a, part.voltage_v)
    est = svc.latest
    assert est is not None
    offline = replay(m, part, soc0=0.6, soc0_sigma=0.1)
    assert "60 % ± 30 % configured, weighed with the first 10 min of rest" in est.initial_how
    assert offline.soc0_how == est.initial_how.replace("configured", "given")
    assert est.soc_pct == pytest.approx(100 * offline.soc[-1], abs=0.05)
    assert est.sigma3_pct == pytest.approx(300 * offline.soc_sigma[-1], rel=0.02)


def test_a_rest_too_short_to_read_gets_the_configured_sigma() -> None:
    """A minute of rest after a load shows the fastest relaxation only: its SOC gets the
    configured start's wide σ — in the replay and live alike."""
    m, run, _, k0 = discharge_then_rest()
    t = run.t_s[k0 - 60 :].copy()
    i = run.current_a[k0 - 60 :].copy()
    i[:60] = 0.0  # a minute labelled as rest (the discharge's last minute), then the load
    i[60:] = -3.6
    short = RunData(t, i, run.voltage_v[k0 - 60 :])
    res = replay(m, short, fallback_soc=0.5, fallback_sigma=0.3)
    assert res.soc0_how == "from 59 s of rest, too short to be sure (σ widened)"
    assert res.soc0_sigma == 0.3
    given = replay(m, short, soc0=0.4, soc0_sigma=0.1)  # too short to weigh a given start with
    assert (given.soc0, given.soc0_sigma, given.soc0_how) == (0.4, 0.1, "given")
    bench, svc = live(m, initial_soc_pct=50.0, initial_sigma_pct=30.0)
    feed(bench, t[:600] - t[0], i[:600], short.voltage_v[:600])
    assert svc.latest is not None
    assert svc.latest.initial_how == res.soc0_how
    assert svc.latest.soc_pct == pytest.approx(100 * res.soc[599], abs=0.05)
    bench, svc = live(m, initial="config", initial_soc_pct=40.0, initial_sigma_pct=10.0)
    feed(bench, t[:600] - t[0], i[:600], short.voltage_v[:600])
    assert svc.latest is not None
    assert svc.latest.initial_how == "configured"  # as it was: nothing to weigh it with
    assert svc.latest.soc_pct == pytest.approx(100 * given.soc[599], abs=0.05)
