"""CPU of one live-plot frame of the main window, offscreen (issue 19): what a scroll costs.

The main window on a bench fed by hand (no instruments, no asyncio): 12 traces in the 5 default
plots at the simulated bench's rates (LabJack 10 Hz, load 5 Hz, MPPT and SOC 1 Hz, the setpoint
now and then), the 5-minute window filled, then N frames, each after one pixel column of bench
time: ``redraw_if_changed`` (fetch, hand over, fit y) and the paint it schedules
(``processEvents``), both timed with ``time.process_time`` (this process's CPU, all threads).
Complements ``bench_gui_cpu.py`` (the whole GUI process against the simulators, 60 s): this one
isolates the frame, repeatable in seconds. Not part of ``make bench`` (it owns a QApplication).

Usage: python benchmarks/plot_frame.py [FRAMES] [--profile out.prof] [--shot out.png] [--repaint]
"""

import asyncio
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np
from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QApplication

import benchgui.app  # noqa
from benchgui.core.bench import Bench
from benchgui.model import Channel, Sample
from benchgui.widgets.frame_scheduler import RedrawMode
from benchgui.widgets.main_window import MainWindow


class ManualClock:
    speed = 1.0

    def __init__(self):
        self.t_ns = 1_780_000_000 * 10**9

    def advance(self, s):
        self.t_ns += round(s * 1e9)

    def now_ns(self):
        return self.t_ns

    def monotonic(self):
        return self.t_ns / 1e9

    async def sleep(self, s):
        await asyncio.sleep(0)


RATES = {}
chs = []
for src, hz in (("labjack", 10), ("mppt", 1), ("load", 5)):
    for q, u in (("battery.voltage", "V"), ("battery.current", "A"), ("battery.power", "W")):
        if src == "load" and q == "battery.power":
            continue
        chs.append(Channel.of(q, src, u, rate_hz=hz))
        RATES[f"{q}.{src}"] = hz
chs.append(Channel.of("load.current", "setpoint", "A", rate_hz=1))
RATES["load.current.setpoint"] = 0.05
for n in ("spkf", "coulomb", "mppt"):
    chs.append(Channel.of("soc", n, "%", rate_hz=1))
    RATES[f"soc.{n}"] = 1

app = QApplication([])
clock = ManualClock()
bench = Bench(clock, [], None)
bench.add_channels(chs)
tmp = tempfile.mkdtemp()
w = MainWindow(
    bench, settings=QSettings(f"{tmp}/g.ini", QSettings.Format.IniFormat), redraw_mode=RedrawMode.CHANGES
)
w.timer.stop()
w.resize(1280, 800)
w.show()
for _ in range(20):
    app.processEvents()
rng = np.random.default_rng(1)
acc = {n: 0.0 for n in RATES}


def value(n, t):
    base = {
        "battery.voltage": 12.6,
        "battery.current": -3.0,
        "battery.power": -38.0,
        "load.current": 3.0,
        "soc": 80.0,
    }
    k = n.rsplit(".", 1)[0]
    return base[k] + 0.2 * math.sin(t / 30) + 0.01 * rng.standard_normal()


def run(seconds):
    dt = 0.1
    n_steps = round(seconds / dt)
    for _ in range(n_steps):
        clock.advance(dt)
        t = clock.now_ns()
        batch = []
        for n, hz in RATES.items():
            acc[n] += hz * dt
            if acc[n] >= 1 - 1e-9:
                acc[n] -= 1
                batch.append(Sample(n, t, value(n, t / 1e9)))
        if batch:
            bench.publish(batch)


run(300)  # fill the window
w.redraw()
w.plots.view.viewport().repaint()
app.processEvents()
frames = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 200
col = 300.0 / w.plots.columns()
print("columns", w.plots.columns(), "column s", round(col, 3), "traces", len(w.plots.curves))
prof = None


class Cnt(QObject):
    n = 0

    def eventFilter(self, o, e):
        if e.type() == QEvent.Type.Paint:
            self.n += 1
        return False


cnt = Cnt()
w.plots.view.viewport().installEventFilter(cnt)
if "--profile" in sys.argv:
    import cProfile

    prof = cProfile.Profile()
red, pnt = [], []
f0 = w.plots.frames
for _ in range(frames):
    run(col)
    c0 = time.process_time()
    if prof:
        prof.enable()
    w.plots.redraw_if_changed(0.0)
    c1 = time.process_time()
    if "--repaint" in sys.argv:
        w.plots.view.viewport().repaint()
    app.processEvents()
    if prof:
        prof.disable()
    c2 = time.process_time()
    red.append(c1 - c0)
    pnt.append(c2 - c1)
red = np.array(red) * 1e3
pnt = np.array(pnt) * 1e3
print("paints", cnt.n)
print(
    f"frames {w.plots.frames - f0}/{frames}: redraw {red.mean():.2f} ms (median {np.median(red):.2f}), paint+events {pnt.mean():.2f} ms (median {np.median(pnt):.2f}), total {np.mean(red + pnt):.2f} ms (median {np.median(red + pnt):.2f})"
)
if prof:
    prof.dump_stats(sys.argv[sys.argv.index("--profile") + 1])
if "--shot" in sys.argv:
    w.grab().save(sys.argv[sys.argv.index("--shot") + 1])
