"""Replay plumbing: channels sampled apart are merged with zero-order hold."""

import math

import numpy as np
import pytest

from benchgui.soc.replay import align_channels, replay
from tests.soc.synthetic import nmc_like, profile, run_of


def test_align_channels_holds_the_current_and_marks_missing_voltages() -> None:
    tv = np.array([1.0, 2.0, 3.0, 30.0])
    v = np.array([12.0, 12.1, 12.2, 12.3])
    ti = np.array([0.5, 2.0, 2.5])
    i = np.array([-1.0, -2.0, np.nan])  # a NaN current is ignored
    run = align_channels(tv, v, ti, i, max_current_age_s=10.0)
    # rows: union of times, from the first current on, not older than 10 s
    assert list(run.t_s) == [0.5, 1.0, 2.0, 3.0]
    assert list(run.current_a) == [-1.0, -1.0, -2.0, -2.0]
    assert math.isnan(run.voltage_v[0])
    assert list(run.voltage_v[1:]) == [12.0, 12.1, 12.2]
    empty = align_channels(tv, v, np.empty(0), np.empty(0))
    assert len(empty) == 0


def test_auto_start_uses_the_rest() -> None:
    m = nmc_like()
    t, i = profile(6, hours=0.5)
    run, _ = run_of(m, t, i, 0.35)
    res = replay(m, run)  # soc0=None: auto
    assert res.soc0_how == "from the first 10 min of rest, its relaxation fitted"
    assert res.soc0 == pytest.approx(0.35, abs=0.02)
    k = int(np.argmax(np.abs(i) > 0.5))
    loaded = run_of(m, t[k:], i[k:], 0.35)[0]  # starts under load
    res = replay(m, loaded, fallback_soc=0.6, fallback_sigma=0.25)
    assert (res.soc0, res.soc0_sigma, res.soc0_how) == (0.6, 0.25, "configured")
