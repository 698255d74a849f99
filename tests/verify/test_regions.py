"""Operating regions: rest needs a long quiet stretch, steps are found, bins cover edges."""

from __future__ import annotations

import numpy as np

from benchgui.verify import regions as rg
from benchgui.verify.align import Series


def current_series() -> Series:
    t = np.arange(0.0, 400.0, 1.0)
    i = np.zeros_like(t)
    i[100:200] = -3.0  # discharge
    i[200:210] = 0.0  # a 10 s pause: not a rest
    i[210:300] = 2.0  # charge
    return Series(t, i)


def test_rest_needs_a_long_enough_quiet_stretch() -> None:
    rows = rg.rest_intervals(current_series(), 0.05, 60.0, 2.5)
    assert rows.tolist() == [[0.0, 99.0], [300.0, 399.0]]


def test_a_gap_in_the_current_ends_a_rest() -> None:
    t = np.concatenate([np.arange(0, 50.0), np.arange(60, 130.0)])
    rows = rg.rest_intervals(Series(t, np.zeros_like(t)), 0.05, 60.0, 2.5)
    assert rows.tolist() == [[60.0, 129.0]]


def test_labels() -> None:
    at = np.array([50.5, 150.0, 205.0, 250.0, 350.0, 500.0])
    labels = rg.label(at, current_series(), zero_current_a=0.05, rest_min_s=60, max_gap_s=2.5)
    assert labels.tolist() == ["rest", "discharge", "zero", "charge", "rest", "unknown"]


def test_steps_are_found_and_ripple_is_not_a_step() -> None:
    t = np.arange(0.0, 200.0, 1.0)
    rng = np.random.default_rng(0)
    i = np.where(t < 100, -1.0, -3.0) + rng.uniform(-0.3, 0.3, len(t))  # ripple ±0.3 A
    mask = rg.step_mask(Series(t, i), t + 0.5, window_s=5.0, threshold_a=0.5)
    assert set(np.flatnonzero(mask)) <= set(range(94, 105))
    assert mask[98]
    assert mask[99]
    assert not rg.step_mask(Series(t, i), t + 0.5, window_s=3.0, threshold_a=0.0).any()


def test_bins() -> None:
    edges = [-5.0, -2.0, -0.5, 0.5, 2.0]
    idx = rg.bin_index(np.array([-6, -5, -3, 0, 0.5, 2.0, 2.1, np.nan]), edges)
    assert idx.tolist() == [-1, 0, 0, 2, 3, 3, -1, -1]
    assert rg.bin_names(edges)[0] == "-5…-2 A"
