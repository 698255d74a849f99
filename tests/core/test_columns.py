import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgui.core.columns import ColumnCache, reduce_columns
from benchgui.core.ringbuffer import RingBuffer


def _reference(t, v, t0, t1, columns):  # type: ignore[no-untyped-def]
    width = (t1 - t0) / columns
    m = (t >= np.floor(t0 / width) * width) & (t <= t1)
    _, _, _, mn, mx = reduce_columns(t[m], v[m], width)
    return mn, mx


def test_incremental_matches_a_full_reduction_while_scrolling() -> None:
    rng = np.random.default_rng(4)
    buf = RingBuffer(100_000)
    cache = ColumnCache()
    t_all = np.cumsum(rng.uniform(0.005, 0.02, 30_000))
    v_all = rng.normal(size=len(t_all))
    fed = 0
    for step in range(60):
        upto = int(np.searchsorted(t_all, 20 + step * 3.0))
        buf.extend(t_all[fed:upto], v_all[fed:upto])
        fed = upto
        t1 = t_all[fed - 1]
        t0 = t1 - 60.0
        ot, ov = cache.update(buf, t0, t1, 500)
        bt, bv = buf.snapshot()
        mn, mx = _reference(bt, bv, t0, t1, 500)
        assert np.array_equal(ov[0::2], mn)
        assert np.array_equal(ov[1::2], mx)
        assert np.all(np.diff(ot) >= 0)
        assert len(ot) <= 2 * 501


def test_width_change_starts_over() -> None:
    buf = RingBuffer(1000)
    buf.extend(np.arange(100.0), np.arange(100.0))
    cache = ColumnCache()
    a = cache.update(buf, 0, 99, 10)
    b = cache.update(buf, 0, 99, 50)
    assert len(b[0]) > len(a[0])
    assert b[1].max() == 99.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=300), st.integers(5, 200))
def test_extremes_survive(values, columns) -> None:  # type: ignore[no-untyped-def]
    v = np.array(values)
    t = np.arange(len(v), dtype=float)
    buf = RingBuffer(1000)
    buf.extend(t, v)
    _, ov = ColumnCache().update(buf, 0.0, float(len(v)), columns)
    assert ov.max() == pytest.approx(v.max())
    assert ov.min() == pytest.approx(v.min())


def test_a_window_reaching_before_the_data_is_reduced_incrementally() -> None:
    """A 1 h window over 10 min of data must not re-reduce everything every frame."""
    calls: list[int] = []

    class CountingBuffer(RingBuffer):
        def window(self, t0: float, t1: float = np.inf):  # type: ignore[no-untyped-def]
            out = super().window(t0, t1)
            calls.append(len(out[0]))
            return out

    buf = CountingBuffer(100_000)
    t = 1.7e9 + np.arange(6000) / 10.0
    buf.extend(t, np.sin(t))
    cache = ColumnCache()
    t_end = float(t[-1])
    for _ in range(20):
        t_end += 0.05  # the window scrolls; t1 - t0 wobbles in its last bits
        buf.append(t_end, 0.0)
        cache.update(buf, t_end - 3600.0, t_end, 1000)
    assert calls[0] == len(t) + 1
    assert max(calls[1:]) < 100  # only the newest column (3.6 s at 10 Hz) again


def test_columns_of_dropped_samples_go_and_a_new_buffer_starts_over() -> None:
    buf = RingBuffer(100)
    buf.extend(np.arange(100.0), np.arange(100.0))
    cache = ColumnCache()
    ot, _ = cache.update(buf, 0.0, 200.0, 200)
    assert ot[0] == 0.0
    buf.extend(np.arange(100.0, 150.0), np.arange(100.0, 150.0))  # drops 0..49
    ot, _ = cache.update(buf, 0.0, 200.0, 200)
    assert ot[0] == 50.0
    assert ot[-1] == 149.0
    fresh = RingBuffer(100)
    fresh.append(160.0, -1.0)
    ot, ov = cache.update(fresh, 0.0, 200.0, 200)
    assert list(ov) == [-1.0, -1.0]


def test_partial_column_statistics_merge_like_raw_samples() -> None:
    """Pre-aggregated runs (as SQLite returns them) reduce to the same columns as the samples."""
    from benchgui import minmax

    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 100, 5000))
    v = rng.normal(size=len(t))
    col = np.floor(t / 1.0).astype(np.int64)
    raw = minmax.reduce_columns(col, t, v)
    fine = minmax.reduce_columns(np.floor(t / 0.25).astype(np.int64), t, v)  # finer buckets first
    merged = minmax.reduce_columns(
        np.floor(fine[1] / 1.0).astype(np.int64), fine[1], fine[3], fine[2], fine[4]
    )
    for a, b in zip(raw, merged, strict=True):
        np.testing.assert_array_equal(a, b)
