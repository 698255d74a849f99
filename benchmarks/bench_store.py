"""Store and reducer benchmarks: the min/max reductions the plots, the history and the store share.

* ``Store.decimated``: the 'whole session' plot view of one channel of a large stored session
  (six channels interleaved, as the recorder writes them), reduced to 1000 pixel columns;
* ``decimate_minmax`` (the history's reducer) and ``reduce_columns`` (the live plots' column
  cache) over one million in-memory samples.

Run with ``python benchmarks/run.py store [--quick]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import Result

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000_000_000_000


def _best_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median of ``repeat`` timed calls after one warm-up (the machine is shared)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def bench_decimated(quick: bool) -> list[Result]:
    from benchgui.model import Channel, SessionMeta
    from benchgui.recording.store import Store

    per_channel = 100_000 if quick else 500_000
    chans = [
        Channel.of(f"battery.{q}", src, "V")
        for q in ("voltage", "current")
        for src in ("labjack", "mppt", "load")
    ]
    step_ns = 20_000_000  # 50 Hz
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite3"
        with Store(path) as store:
            sid = store.create_session(T0, SessionMeta(kind="demo"))
            keys = [store.channel_key(c) for c in chans]
            rng = np.random.default_rng(1)
            chunk = 50_000
            for start in range(0, per_channel, chunk):
                idx = np.arange(start, min(per_channel, start + chunk))
                vals = 12.0 + rng.normal(0, 0.1, len(idx) * len(keys))
                rows = [
                    (k, T0 + int(i) * step_ns, float(vals[n * len(keys) + j]), 0)
                    for n, i in enumerate(idx)
                    for j, k in enumerate(keys)
                ]
                store.insert_samples(sid, rows)
            t1 = T0 + per_channel * step_ns
            name = chans[0].name
            whole = _best_ms(lambda: store.decimated(sid, name, T0, t1, 1000), 5)
            tenth = _best_ms(lambda: store.decimated(sid, name, T0, T0 + (t1 - T0) // 10, 1000), 9)
    return [
        Result(
            f"Store.decimated: whole session, {per_channel:,} of {6 * per_channel:,} rows → 1000 cols",
            whole,
            "ms",
            note="one channel of six interleaved; median of 5",
        ),
        Result(
            f"Store.decimated: a tenth of it ({per_channel // 10:,} rows) → 1000 cols",
            tenth,
            "ms",
            note="median of 9",
        ),
    ]


def bench_reducers(quick: bool) -> list[Result]:
    from benchgui.core.columns import reduce_columns
    from benchgui.core.ringbuffer import decimate_minmax

    n = 300_000 if quick else 1_000_000
    t = 1.7e9 + np.arange(n) * 0.02
    v = np.random.default_rng(2).normal(12.0, 0.1, n)
    t0, t1 = float(t[0]), float(t[-1])
    width = (t1 - t0) / 1000
    dec = _best_ms(lambda: decimate_minmax(t, v, t0, t1, 1000, 1.0), 9)
    red = _best_ms(lambda: reduce_columns(t, v, width), 9)
    return [
        Result(f"decimate_minmax: {n:,} samples → 1000 cols, gaps marked", dec, "ms", note="median of 9"),
        Result(f"reduce_columns: {n:,} samples → 1000 cols", red, "ms", note="median of 9"),
    ]


def run(quick: bool = False) -> list[Result]:
    sys.path.insert(0, str(ROOT))
    return [*bench_decimated(quick), *bench_reducers(quick)]
