"""Time alignment: interpolation at the slower source's instants, never across gaps or ends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgui.verify.align import Series, align, interpolate_at, prepare


def s(t, v) -> Series:  # type: ignore[no-untyped-def]
    return Series(np.asarray(t, dtype=float), np.asarray(v, dtype=float))


def test_interpolates_linearly_between_neighbours() -> None:
    fast = s([0, 1, 2, 3], [0, 10, 20, 30])
    v, ok = interpolate_at(fast, np.array([0.5, 2.25, 3.0]), max_gap_s=1.5)
    assert ok.tolist() == [True, True, True]
    assert v.tolist() == pytest.approx([5.0, 22.5, 30.0])


def test_never_extrapolates_past_either_end() -> None:
    fast = s([10, 11, 12], [1, 2, 3])
    v, ok = interpolate_at(fast, np.array([9.999, 10.0, 12.0, 12.001]), max_gap_s=5)
    assert ok.tolist() == [False, True, True, False]
    assert np.isnan(v[0])
    assert np.isnan(v[3])


def test_never_interpolates_across_a_gap() -> None:
    fast = s([0, 1, 2, 10, 11], [0, 1, 2, 10, 11])
    v, ok = interpolate_at(fast, np.array([1.5, 5.0, 9.99, 10.0, 10.5]), max_gap_s=2.0)
    assert ok.tolist() == [True, False, False, True, True]
    assert v[ok].tolist() == pytest.approx([1.5, 10.0, 10.5])


def test_the_faster_source_is_interpolated_at_the_slower_ones_instants() -> None:
    fast_t = np.arange(0, 10, 0.1)
    ref = s(fast_t, 2 * fast_t)  # 10 Hz reference
    dev = s([1.05, 2.05, 3.05], [2.1, 4.1, 6.1])  # 1 Hz device
    pairs = align(ref, dev, max_gap_s=0.5)
    assert pairs.interpolated == "reference"
    assert pairs.t.tolist() == [1.05, 2.05, 3.05]  # the device's own instants and readings
    assert pairs.dev.tolist() == [2.1, 4.1, 6.1]
    assert pairs.ref.tolist() == pytest.approx([2.1, 4.1, 6.1])
    # and the other way round: a slow reference is kept, the fast device interpolated
    swapped = align(dev, ref, max_gap_s=1.5)
    assert swapped.interpolated == "device"
    assert swapped.t.tolist() == [1.05, 2.05, 3.05]
    assert swapped.ref.tolist() == [2.1, 4.1, 6.1]


def test_unpaired_instants_are_counted() -> None:
    ref = s(np.arange(0, 5, 0.1), np.zeros(50))
    dev = s([-1.0, 1.0, 2.0, 7.0], [0, 0, 0, 0])
    pairs = align(ref, dev, max_gap_s=1)
    assert len(pairs) == 2
    assert pairs.unpaired == 2


def test_prepare_sorts_averages_duplicates_and_drops_missing_readings() -> None:
    t_ns = np.array([3, 1, 2, 2, 4, 5]) * 10**9
    v = np.array([3.0, 1.0, 2.0, 4.0, np.nan, 0.2])
    series = prepare(t_ns, v, valid_min=0.5)
    assert series.t.tolist() == [1.0, 2.0, 3.0]
    assert series.v.tolist() == [1.0, 3.0, 3.0]


def test_latency_moves_a_source_earlier() -> None:
    series = prepare(np.array([10, 11]) * 10**9, np.array([1.0, 2.0]), latency_s=0.25)
    assert series.t.tolist() == [9.75, 10.75]


def test_a_missing_reading_inside_the_faster_source_is_a_gap() -> None:
    t_ns = np.arange(10) * 10**9
    v = np.arange(10.0)
    v[4:7] = np.nan  # three readings lost: 3 → 7 is a 4 s gap
    fast = prepare(t_ns, v)
    _, ok = interpolate_at(fast, np.array([3.5, 5.0, 6.5, 7.5]), max_gap_s=2.0)
    assert ok.tolist() == [False, False, False, True]


@settings(max_examples=200, deadline=None)
@given(
    fast=st.lists(st.floats(0, 1000, allow_nan=False), min_size=0, max_size=60, unique=True),
    slow=st.lists(st.floats(-10, 1010, allow_nan=False), min_size=0, max_size=30),
    max_gap=st.floats(0.0, 200.0),
)
def test_every_aligned_instant_lies_between_two_close_readings(
    fast: list[float], slow: list[float], max_gap: float
) -> None:
    ft = np.sort(np.asarray(fast, dtype=float))
    fast_s = s(ft, np.sin(ft))
    v, ok = interpolate_at(fast_s, np.asarray(slow, dtype=float), max_gap)
    for t, good, val in zip(slow, ok, v, strict=True):
        if not good:
            assert np.isnan(val)
            continue
        assert len(ft)
        assert ft[0] <= t <= ft[-1]
        if t in ft:
            continue
        i = int(np.searchsorted(ft, t))
        assert ft[i] - ft[i - 1] <= max_gap
        assert (
            min(np.sin(ft[i - 1]), np.sin(ft[i])) - 1e-9
            <= val
            <= max(np.sin(ft[i - 1]), np.sin(ft[i])) + 1e-9
        )
