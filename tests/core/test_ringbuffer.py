import numpy as np
import pytest

from benchgui.core.ringbuffer import RingBuffer, decimate_minmax


def test_append_wraps_and_keeps_newest_in_order() -> None:
    rb = RingBuffer(4)
    for i in range(6):
        rb.append(float(i), float(i * 10))
    t, v = rb.snapshot()
    assert t.tolist() == [2.0, 3.0, 4.0, 5.0]
    assert v.tolist() == [20.0, 30.0, 40.0, 50.0]
    assert rb.first_time() == 2.0
    assert rb.last() == (5.0, 50.0)


def test_extend_matches_append() -> None:
    a, b = RingBuffer(7), RingBuffer(7)
    t = np.arange(20.0)
    for x in t:
        a.append(x, -x)
    b.extend(t[:5], -t[:5])
    b.extend(t[5:], -t[5:])
    assert np.array_equal(a.snapshot()[0], b.snapshot()[0])
    assert np.array_equal(a.snapshot()[1], b.snapshot()[1])


def test_window_across_the_wrap() -> None:
    rb = RingBuffer(10)
    rb.extend(np.arange(15.0), np.arange(15.0))
    t, _ = rb.window(7.5, 12.0)
    assert t.tolist() == [8.0, 9.0, 10.0, 11.0, 12.0]
    assert len(rb.window(100.0)[0]) == 0


def test_memory_is_fixed() -> None:
    rb = RingBuffer(1000)
    before = rb._t.ctypes.data
    rb.extend(np.arange(5000.0), np.arange(5000.0))
    assert rb._t.ctypes.data == before
    assert len(rb) == 1000


def test_rejects_tiny_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(1)


def test_decimate_keeps_peaks_and_bounds_points() -> None:
    t = np.linspace(0, 100, 100_001)
    v = np.zeros_like(t)
    v[50_000] = 7.0  # a single-sample spike must survive
    v[70_000] = -3.0
    dt, dv = decimate_minmax(t, v, 0.0, 100.0, 200)
    assert len(dt) <= 2 * 201
    assert dv.max() == 7.0
    assert dv.min() == -3.0
    assert np.all(np.diff(dt) >= 0)


def test_decimate_marks_gaps_with_nan() -> None:
    t = np.array([0.0, 1.0, 2.0, 10.0, 11.0])
    v = np.ones(5)
    dt, dv = decimate_minmax(t, v, 0, 11, 1000, max_gap=2.0)
    assert np.isnan(dv).sum() == 1
    assert np.all(np.diff(dt) > 0)
