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
