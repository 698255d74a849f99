"""Spine benchmarks: plot redraw, ring-buffer append, sample→widget latency, RSS over 24 h.

Run with ``make bench`` (all) or ``python benchmarks/run.py spine [--quick]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import Result

ROOT = Path(__file__).resolve().parents[1]


def _app():  # type: ignore[no-untyped-def]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def bench_redraw(quick: bool) -> list[Result]:
    """9 traces × 24 h at 1 Hz + 1 trace × 1 h at 100 Hz, whole range on screen."""
    app = _app()
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QObject

    from benchgui.core.display import DisplayBuffers
    from benchgui.core.history import History
    from benchgui.model import Channel
    from benchgui.widgets.plots import PlotPanel, PlotSpec

    t_end = time.time()
    day = 86400
    display = DisplayBuffers(history_s=day)
    specs = (
        PlotSpec("Voltage", "V", ("v.*",)),
        PlotSpec("Current", "A", ("i.*",)),
        PlotSpec("Power", "W", ("p.*",)),
    )
    chans = [Channel(f"{q}.{k}", "V", f"s{k}", q, rate_hz=1.0) for q in "vip" for k in range(3)]
    fast = Channel("i.fast", "A", "fast", "i", rate_hz=100.0)
    rng = np.random.default_rng(1)
    data = {}
    for ch in chans:
        display.add_channel(ch)
        t = t_end - day + np.arange(day, dtype=float)
        v = np.cumsum(rng.normal(0, 0.01, day))
        display.get(ch.name).extend(t, v)  # type: ignore[union-attr]
        data[ch.name] = (t, v)
    display.add_channel(fast)
    n_fast = 3600 * 100
    t = t_end - 3600 + np.arange(n_fast) / 100.0
    v = rng.normal(0, 1, n_fast)
    display.get(fast.name).extend(t, v)  # type: ignore[union-attr]
    data[fast.name] = (t, v)

    panel = PlotPanel(History(display, None), specs)
    panel.add_channels([*chans, fast])
    panel.resize(1280, 900)
    panel.show()
    state = {"t_end": t_end}
    panel.range_fn = lambda: (state["t_end"] - day, state["t_end"])
    frames = 20 if quick else 60

    def live_step() -> None:
        """50 ms of a live bench between frames: new samples arrive, the window moves."""
        state["t_end"] += 0.05
        te = state["t_end"]
        for ch in chans:
            display.get(ch.name).append(te, 0.0)  # type: ignore[union-attr]
        display.get(fast.name).extend(te - np.arange(5)[::-1] / 100.0, np.zeros(5))  # type: ignore[union-attr]

    paints = {"n": 0}

    class PaintCounter(QObject):
        def eventFilter(self, obj, event):  # type: ignore[no-untyped-def]
            if event.type() == QEvent.Type.Paint:
                paints["n"] += 1
            return False

    counter = PaintCounter()

    def measure(draw, view, step=None) -> list[float]:  # type: ignore[no-untyped-def]
        """One frame as the app has it: new data is handed over, then the event loop lets the
        scene process its changed items and paint the view once."""
        view.viewport().installEventFilter(counter)
        times = []
        paints["n"] = 0
        for _ in range(frames):
            app.processEvents()
            if step is not None:
                step()
            t0 = time.perf_counter()
            draw()
            app.processEvents()
            times.append((time.perf_counter() - t0) * 1000)
        view.viewport().removeEventFilter(counter)
        assert paints["n"] >= frames, f"only {paints['n']} paints in {frames} frames"
        return times

    ours = measure(panel.redraw, panel.view, live_step)

    # naive baseline: full arrays into setData, no downsampling or clipping
    naive = PlotPanel(History(display, None), specs)
    naive.add_channels([*chans, fast])
    for p in naive.plots:
        p.setDownsampling(auto=False, ds=1)
        p.setClipToView(False)
    for c in naive.curves.values():
        c.setDownsampling(auto=False, ds=1)
        c.setClipToView(False)
    naive.resize(1280, 900)
    naive.show()
    naive.plots[0].setXRange(t_end - day, t_end, padding=0)
    panel.hide()

    def naive_draw() -> None:
        for name, c in naive.curves.items():
            c.setData(*data[name])

    base = measure(naive_draw, naive.view)
    naive.hide()

    # the fair anchor (issue 19): pyqtgraph at its best on the same traces — its own clipping to
    # the view, automatic peak downsampling, no finite check — handed the full arrays each frame
    best = PlotPanel(History(display, None), specs)
    best.add_channels([*chans, fast])
    for p in best.plots:
        p.setClipToView(True)
        p.setDownsampling(auto=True, mode="peak")
    best.resize(1280, 900)
    best.show()
    best.plots[0].setXRange(t_end - day, t_end, padding=0)

    def best_draw() -> None:
        for name, c in best.curves.items():
            c.setData(*data[name], skipFiniteCheck=True)

    at_best = measure(best_draw, best.view)
    best.hide()
    del pg
    med, med_b, med_best = statistics.median(ours), statistics.median(base), statistics.median(at_best)
    return [
        Result(
            "plot redraw vs pyqtgraph at its best (clip, peak downsampling)",
            med,
            "ms",
            ">= 3x faster",
            med_best >= 3 * med,
            med_best,
            note="anchor: setClipToView(True), setDownsampling(auto=True, mode='peak'), "
            "setData(..., skipFiniteCheck=True) on the same 9×24 h + 1×1 h traces, same run",
        ),
        Result(
            "plot redraw per frame, 9×24 h@1 Hz + 1×1 h@100 Hz (median)",
            med,
            "ms",
            "<= 20 ms",
            med <= 20,
            med_b,
        ),
        Result(
            "plot redraw per frame (p95)",
            float(np.percentile(ours, 95)),
            "ms",
            "",
            None,
            float(np.percentile(base, 95)),
        ),
    ]


def bench_ringbuffer(quick: bool) -> list[Result]:
    from benchgui.core.ringbuffer import RingBuffer

    n = 200_000 if quick else 1_000_000
    rb = RingBuffer(360_000)
    t0 = time.perf_counter()
    for i in range(n):
        rb.append(float(i), 1.0)
    per = (time.perf_counter() - t0) / n * 1e6
    # baseline: a growing Python list of tuples (what "just append" would do)
    lst: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    for i in range(n):
        lst.append((float(i), 1.0))
    base = (time.perf_counter() - t0) / n * 1e6
    return [
        Result(
            "ring-buffer append per sample",
            per,
            "µs",
            "<= 2 µs",
            per <= 2.0,
            base,
            "baseline: list.append (unbounded)",
        )
    ]


def bench_latency(quick: bool) -> list[Result]:
    """Sample published → shown in the main window, through the real frame timer: in the big
    readout (its text), and in the plot, which since issue 19 draws new samples once per pixel
    column of time (the window scrolls in whole columns), so its target is one column."""
    app = _app()
    from PySide6.QtCore import QSettings, QTimer

    from benchgui.clock import WallClock
    from benchgui.core.bench import Bench
    from benchgui.model import Channel, Sample
    from benchgui.widgets.main_window import MainWindow

    bench = Bench(WallClock(), [])
    ch = Channel.of("battery.voltage", "labjack", "V", rate_hz=100)
    bench.add_channels([ch])
    with tempfile.TemporaryDirectory() as d:
        w = MainWindow(
            bench, settings=QSettings(str(Path(d) / "s.ini"), QSettings.Format.IniFormat), redraw_hz=20
        )
        w.resize(1280, 800)
        w.show()
        published: dict[int, float] = {}
        latencies: list[float] = []
        by_text: dict[str, float] = {}
        readout_latencies: list[float] = []
        readout = w.readouts.readouts[ch.name].value

        def frame() -> None:
            w._frame()  # the window's own frame: redraw + paint, re-arms its adaptive timer
            done = time.perf_counter()
            shown = by_text.pop(readout.text(), None)
            if shown is not None:
                readout_latencies.append((done - shown) * 1000)
            t, _ = w.plots.curves[ch.name].getData()
            if t is None or not len(t):
                return
            newest = float(t[-1])
            for key in [k for k in published if k / 1e9 <= newest + 1e-6]:
                latencies.append((done - published.pop(key)) * 1000)

        w.timer.timeout.disconnect()
        w.timer.timeout.connect(frame)

        count = [0]

        def publish() -> None:
            t_ns = bench.clock.now_ns()
            published[t_ns] = time.perf_counter()
            count[0] += 1
            value = 12.0 + (count[0] % 1000) / 1000  # a new readout text every sample
            by_text[f"{value:.3f}"] = published[t_ns]
            bench.publish([Sample(ch.name, t_ns, value)])

        pub = QTimer()
        pub.timeout.connect(publish)
        pub.start(10)
        deadline = time.monotonic() + (5 if quick else 20)
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.001)
        t0, t1 = w.visible_range()
        column_ms = 1000 * (t1 - t0) / w.plots.columns()
        pub.stop()
        w.close()
    p99 = float(np.percentile(latencies, 99))
    r99 = float(np.percentile(readout_latencies, 99))
    return [
        Result("sample → readout latency p99 (100 Hz in, 20 Hz cap)", r99, "ms", "<= 100 ms", r99 <= 100),
        Result(
            "sample → plot latency p99 (5-min window)",
            p99,
            "ms",
            f"<= {column_ms + 100:.0f} ms",
            p99 <= column_ms + 100,
            note=f"one pixel column is {column_ms:.0f} ms: new samples are drawn once per column (issue 19)",
        ),
        Result("sample → plot latency median", float(np.median(latencies)), "ms"),
    ]


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_rss(quick: bool) -> list[Result]:
    """RSS of a headless recording of 24 simulated hours at speed 1000 (growth after warm-up)."""
    sim_s = 3 * 3600 if quick else 86400
    speed = 1000.0
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, BENCHGUI_DATA_DIR=d, BENCHGUI_CONFIG_DIR=d, PYTHONPATH=str(ROOT))
        p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchgui",
                "record",
                "--headless",
                "--demo",
                "--speed",
                str(speed),
                "--duration",
                str(sim_s),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        samples = []
        t0 = time.monotonic()
        while p.poll() is None:
            samples.append((time.monotonic() - t0, _rss_kb(p.pid)))
            time.sleep(0.5)
        out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"recording failed: {err[-2000:]}")
        sid = out.strip().splitlines()[-1]
        import sqlite3

        db = sqlite3.connect(Path(d) / "sessions.sqlite3")
        n = db.execute("SELECT sample_count FROM sessions WHERE id=?", (sid,)).fetchone()[0]
        db.close()
    real = samples[-1][0]
    warm = [r for t, r in samples if t >= 0.1 * real]
    growth_mb = (max(warm) - warm[0]) / 1024
    return [
        Result(
            f"RSS growth after warm-up, {sim_s / 3600:.0f} h simulated at ×{speed:.0f}",
            growth_mb,
            "MB",
            "<= 50 MB",
            growth_mb <= 50,
        ),
        Result("peak RSS of the headless recorder", max(r for _, r in samples) / 1024, "MB"),
        Result("samples recorded in that run", float(n), "", "", None, None, f"{real:.0f} s real time"),
    ]


def run(quick: bool = False) -> list[Result]:
    return [*bench_ringbuffer(quick), *bench_redraw(quick), *bench_latency(quick), *bench_rss(quick)]
