"""Sensor verification speed: can the live view recompute a long session every few seconds?

A synthetic session (LabJack 10 Hz, MPPT 1 Hz, load 2 Hz; rest, discharge, charge) of 8 h
(1 h with --quick) is analysed with the default [verify] settings: alignment, regions, steps,
every statistic of four comparisons. Target: well inside ``verify.live_interval_s`` (5 s). The
baseline aligns one comparison the naive way (a Python loop with bisect per device reading), to
show what vectorised alignment buys.
"""

from __future__ import annotations

import bisect
import time

import numpy as np

from benchgui.config.schema import VerifySection
from benchgui.verify.align import align, prepare
from benchgui.verify.analysis import analyse
from benchmarks.common import Result


def session(hours: float, seed: int = 1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    end = hours * 3600

    def current(t: np.ndarray) -> np.ndarray:
        phase = (t // 1800) % 4  # rest, −1 A, −3 A, +5 A, half an hour each
        return np.choose(phase.astype(int), [0.0, -1.0, -3.0, 5.0])

    def voltage(t: np.ndarray) -> np.ndarray:
        return 12.8 + 0.05 * current(t) + 0.1 * np.sin(t / 5000)

    def read(period: float, phase: float, fn, gain: float, offset: float, noise: float):  # type: ignore[no-untyped-def]
        t = np.arange(phase, end, period)
        return (1_700_000_000 * 10**9 + (t * 1e9).astype(np.int64)), gain * fn(t) + offset + rng.normal(
            0, noise, len(t)
        )

    return {
        "battery.current.labjack": read(0.1, 0.0, current, 1.0, 0.0, 0.002),
        "battery.voltage.labjack": read(0.1, 0.05, voltage, 1.0, 0.0, 0.0005),
        "battery.current.mppt": read(1.0, 0.37, current, 1.03, 0.02, 0.01),
        "battery.voltage.mppt": read(1.0, 0.37, voltage, 1.0, -0.03, 0.005),
        "battery.voltage.load": read(0.5, 0.11, voltage, 1.0, 0.01, 0.003),
    }


def naive_align(ref_t: list[float], ref_v: list[float], dev_t: list[float], max_gap: float) -> int:
    pairs = 0
    for t in dev_t:
        i = bisect.bisect_left(ref_t, t)
        if 0 < i < len(ref_t) and ref_t[i] - ref_t[i - 1] <= max_gap:
            w = (t - ref_t[i - 1]) / (ref_t[i] - ref_t[i - 1])
            _ = ref_v[i - 1] + w * (ref_v[i] - ref_v[i - 1])
            pairs += 1
    return pairs


def run(quick: bool) -> list[Result]:
    hours = 1.0 if quick else 8.0
    data = session(hours)
    settings = VerifySection()
    n = sum(len(t) for t, _ in data.values())
    t0 = time.perf_counter()
    result = analyse(data, settings)
    took = time.perf_counter() - t0
    assert result.comparisons, "nothing compared"
    ref = prepare(*data["battery.current.labjack"])
    dev = prepare(*data["battery.current.mppt"])
    t1 = time.perf_counter()
    naive_align(ref.t.tolist(), ref.v.tolist(), dev.t.tolist(), settings.max_gap_s)
    naive = time.perf_counter() - t1
    t2 = time.perf_counter()
    align(ref, dev, settings.max_gap_s)
    fast = time.perf_counter() - t2
    return [
        Result(
            f"analyse {hours:g} h session ({n:,} readings, 4 comparisons)",
            took,
            "s",
            "<= 2 s",
            took <= 2.0,
            note="live recomputation must stay well inside verify.live_interval_s (5 s)",
        ),
        Result("align MPPT current to the 10 Hz LabJack", fast * 1000, "ms", "", None, baseline=naive * 1000),
    ]
