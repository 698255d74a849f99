"""Line fits and error statistics: injected gain/offset/noise come back within their CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchgui.verify.stats import effective_n, error_stats, fit_line, mean_estimate


def test_fit_recovers_gain_and_offset_within_the_confidence_interval() -> None:
    rng = np.random.default_rng(3)
    x = np.linspace(-3, 6, 2000)
    y = 1.031 * x + 0.024 + rng.normal(0, 0.01, len(x))
    fit = fit_line(x, y, 0.95)
    assert fit is not None
    assert fit.gain.contains(1.031)
    assert fit.intercept.contains(0.024)
    assert fit.residual_std == pytest.approx(0.01, rel=0.05)
    assert fit.gain.half_width < 0.001  # and the interval is narrow, not trivially wide


def test_confidence_intervals_cover_the_truth_about_as_often_as_promised() -> None:
    rng = np.random.default_rng(7)
    x = np.linspace(0, 5, 40)
    hits = 0
    trials = 400
    for _ in range(trials):
        fit = fit_line(x, 0.97 * x - 0.05 + rng.normal(0, 0.05, len(x)), 0.90)
        assert fit is not None
        hits += fit.gain.contains(0.97)
    assert 0.85 <= hits / trials <= 0.95


def test_second_regressor_separates_cable_drop_from_gain() -> None:
    rng = np.random.default_rng(5)
    i = rng.uniform(-3, 5, 3000)
    v_ref = 12.5 + 0.3 * i / 5 + rng.uniform(-0.3, 0.3, len(i))  # voltage rises with charge current
    v_dev = 1.004 * v_ref - 0.03 + 0.04 * i + rng.normal(0, 0.003, len(i))
    fit = fit_line(v_ref, v_dev, 0.95, current=i)
    assert fit is not None
    assert fit.gain.contains(1.004)
    assert fit.r.contains(0.04)
    plain = fit_line(v_ref, v_dev, 0.95)
    assert plain is not None
    assert not plain.gain.contains(1.004)


def test_fit_refuses_a_reference_without_spread() -> None:
    assert fit_line(np.full(50, 2.0), np.linspace(0, 1, 50)) is None
    assert fit_line(np.array([1.0, 2.0]), np.array([1.0, 2.0])) is None


def test_collinear_current_falls_back_to_the_plain_line() -> None:
    x = np.linspace(10, 14, 100)
    fit = fit_line(x, 1.01 * x, current=np.full(100, -3.0))
    assert fit is not None
    assert math.isnan(fit.r.value)
    assert fit.gain.value == pytest.approx(1.01)


def test_effective_n_shrinks_for_correlated_residuals() -> None:
    rng = np.random.default_rng(1)
    white = rng.normal(size=5000)
    assert effective_n(white) > 4000
    walk = np.cumsum(rng.normal(size=5000)) * 0.1 + rng.normal(size=5000) * 0.01
    assert effective_n(walk) < 500


def test_mean_estimate() -> None:
    rng = np.random.default_rng(2)
    est = mean_estimate(0.014 + rng.normal(0, 0.01, 500), 0.95)
    assert est.contains(0.014)
    assert est.half_width < 0.002
    assert math.isnan(mean_estimate(np.empty(0), 0.95).value)


def test_error_stats_measure_offset_at_rest_and_gain_from_the_fit() -> None:
    rng = np.random.default_rng(4)
    ref = np.concatenate([np.zeros(300), np.full(300, -3.0), np.full(300, 4.0)]) + rng.normal(0, 0.002, 900)
    dev = 1.03 * ref + 0.02 + rng.normal(0, 0.01, 900)
    rest = np.abs(ref) < 0.05
    st = error_stats(ref, dev, rest=rest, offset_from_fit=True, confidence=0.95)
    assert st.offset_method == "rest"
    assert st.offset.contains(0.02)
    assert st.gain.contains(1.03)
    assert st.gain_error_pct == pytest.approx(3.0, abs=0.1)
    assert st.noise == pytest.approx(0.01, rel=0.1)
    err = dev - ref
    assert st.rms == pytest.approx(math.sqrt(np.mean(err**2)))
    assert st.max_abs == pytest.approx(np.max(np.abs(err)))
    assert st.n == 900


def test_error_stats_offset_fallbacks() -> None:
    ref = np.linspace(-3, 3, 100)
    dev = 1.02 * ref + 0.05
    assert error_stats(ref, dev, offset_from_fit=True).offset_method == "fit"
    st = error_stats(ref + 12, dev + 12)
    assert st.offset_method == "mean"
    none = error_stats(ref, dev, measure_offset=False)
    assert none.offset_method == ""
    assert math.isnan(none.offset.value)


def test_point_gain_at_a_constant_operating_point() -> None:
    rng = np.random.default_rng(9)
    ref = np.full(200, -2.877) + rng.normal(0, 0.003, 200)
    dev = 1.0428 * ref + 0.014
    st = error_stats(ref, dev, known_offset=0.014, min_point=0.1)
    assert st.point_gain == pytest.approx(1.0428, abs=1e-3)
    assert math.isnan(error_stats(ref * 0.01, dev * 0.01, min_point=0.1).point_gain)
