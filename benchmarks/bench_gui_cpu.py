"""What the screen costs: CPU seconds per wall second of the real GUI process (issue 19).

The simulated bench runs as separate processes (``benchgui sim bench`` at 1×: the EA load and the
MPPT on ptys, the LabJack over Modbus TCP), so their cost is not counted; the GUI is the real
app (``benchgui.cli`` → ``run_app``) configured for that hardware, started by this file in
``--child`` mode, which only adds a hook that puts the view asked for in front and reports the
frame counter. CPU is read from ``/proc/<pid>/stat`` (utime + stime, every thread) over the
measurement after a warm-up. Each view runs twice in the same run: frames on change (now) and
``BENCHGUI_REDRAW=fixed`` (the fixed 20 Hz redraw of before issue 19).

Views: the 5-minute window (default), the 60-minute window, the whole session of 24 h (the store
seeded with 24 h of the same channels at 1 Hz before the GUI starts, the window pointed at that
session), the SOC dock and the verification tab in front; under Xvfb (xcb) and offscreen. Also
the time from starting the process to the first drawn frame, and the RSS of the GUI after one
hour of simulated data (the in-process demo bench at ``--speed 60`` for a minute).

The first frame is timed over several starts (median), with bytecode cached as pip installs it
(see :func:`bytecode_env`) and, for comparison, without.

Usage: python benchmarks/bench_gui_cpu.py [--quick] [--views 5min,verify] [--no-offscreen] [--no-extras]
       python benchmarks/bench_gui_cpu.py --first-frame N   (only the start, N times each)
(the full run is part of ``make bench``; the options pick a subset to iterate on)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from common import Result, fmt  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SEED_CHANNELS = (  # 9 traces of the live plots, as bench_spine's redraw benchmark
    ("battery.voltage", "labjack", "V"),
    ("battery.voltage", "mppt", "V"),
    ("battery.voltage", "load", "V"),
    ("battery.current", "labjack", "A"),
    ("battery.current", "mppt", "A"),
    ("battery.current", "load", "A"),
    ("battery.power", "labjack", "W"),
    ("battery.power", "mppt", "W"),
    ("soc", "mppt", "%"),
)


# -- the child: the real app plus a reporting hook ----------------------------------------------
def child(spec: dict[str, object]) -> int:
    """Run the GUI as ``benchgui`` would, put ``spec['view']`` in front, report frames."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import benchgui.app  # noqa: F401 - before the widgets, in the order benchgui imports them
    from benchgui.cli import build_parser
    from benchgui.cli.gui import run_gui
    from benchgui.widgets.main_window import WINDOWS, MainWindow

    app = QApplication(sys.argv[:1])
    report = Path(str(spec["report"]))
    state: dict[str, object] = {"first_frame": None, "frames": 0, "checks": 0}
    found: list[MainWindow] = []

    def write() -> None:
        tmp = report.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(report)

    def set_up(w: MainWindow) -> None:
        view = spec["view"]
        if view == "soc":
            w.show_panel("State of charge")
        elif view == "verify":
            for i in range(w.views.count()):
                if w.views.tabText(i) == "Verification":
                    w.views.setCurrentIndex(i)
        elif view == "day":
            start_s = float(str(spec["day_start_s"]))
            w.history.set_session(str(spec["day_session"]), start_s)
            w.primary_start_s = lambda: start_s  # type: ignore[method-assign]
            w.window_combo.setCurrentIndex([s for _, s in WINDOWS].index(0.0))
        w.closing.connect(lambda: (state.update(frames=w.plots.frames), write()))

    def poll() -> None:
        if not found:
            found.extend(x for x in app.topLevelWidgets() if isinstance(x, MainWindow))
            if found:
                set_up(found[0])
                if spec["view"] == "verify":  # the plots are not drawn: the view in front is "the frame"
                    state["first_frame"] = time.monotonic()
                    timer.setInterval(1000)
            return
        w = found[0]
        if state["first_frame"] is None and w.plots.frames > 0:  # drawn, and repainted right after
            state["first_frame"] = time.monotonic()
            state["first_frame_cpu_s"] = time.process_time()  # the whole process's CPU by then
            timer.setInterval(1000)  # from now on once a second: the hook's own cost stays tiny
            if spec.get("first_frame_only"):
                write()
                w.close_without_asking()
                return
        if os.environ.get("BENCH_GUI_PROFILE"):
            from PySide6.QtWidgets import QDockWidget

            state["docks"] = {d.objectName(): d.widget().isVisible() for d in w.findChildren(QDockWidget)}
        state["frames"] = w.plots.frames
        state["checks"] = w.plots.scheduler.checks
        write()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    args = build_parser().parse_args([str(a) for a in spec["argv"]])  # type: ignore[attr-defined]
    profile = os.environ.get("BENCH_GUI_PROFILE")  # where the GUI thread's time goes (cProfile)
    if not profile:
        return run_gui(args)
    import cProfile

    with cProfile.Profile() as prof:
        code = run_gui(args)
    prof.dump_stats(profile)
    return code


# -- the parent -----------------------------------------------------------------------------------
def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def _rss_mb(pid: int) -> float:
    m = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else float("nan")


@contextlib.contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[str | None]:
    """An X server on a display it picks itself; None when Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        yield None
        return
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", size, "-nolisten", "tcp", "-noreset"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    try:
        with os.fdopen(r) as fh:
            number = fh.readline().strip()
        yield f":{number}" if number else None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def sim_bench(tmp: Path) -> Iterator[Path]:
    """``benchgui sim bench`` at 1×; yields a hardware config for it."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchgui",
            "sim",
            "bench",
            "--ea-link",
            str(tmp / "ea.pty"),
            "--mppt-link",
            str(tmp / "mppt.pty"),
            "--labjack-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        lines: dict[str, str] = {}
        assert proc.stdout is not None
        while len(lines) < 3:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("benchgui sim bench ended early")
            name, _, rest = line.partition(":")
            lines[name.strip()] = rest.strip()
        port = int(re.search(r":(\d+)", lines["labjack"]).group(1))  # type: ignore[union-attr]
        cfg = tmp / "bench.toml"
        cfg.write_text(
            f'[instruments.ea]\nport = "{tmp / "ea.pty"}"\n'
            f'[instruments.mppt]\nport = "{tmp / "mppt.pty"}"\n'
            f'[instruments.labjack]\nbackend = "modbus"\naddress = "127.0.0.1"\nport = {port}\n'
        )
        yield cfg
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def seed_day(store_path: Path) -> tuple[str, float]:
    """A stored session of 24 h ending now, 9 channels at 1 Hz; (id, start in epoch s)."""
    import numpy as np

    from benchgui.model import Channel, SessionMeta
    from benchgui.recording.store import Store

    day = 86400
    now_ns = time.time_ns()
    start_ns = now_ns - day * 1_000_000_000
    t = start_ns + np.arange(day, dtype=np.int64) * 1_000_000_000
    rng = np.random.default_rng(1)
    with Store(store_path) as store:
        sid = store.create_session(start_ns, SessionMeta(kind="benchmark"), session_id="day24h")
        for i, (q, src, unit) in enumerate(SEED_CHANNELS):
            key = store.channel_key(Channel.of(q, src, unit))
            v = 12.5 + i + np.sin(np.arange(day) / 3000.0) + 0.01 * rng.standard_normal(day)
            rows = list(zip([key] * day, t.tolist(), v.tolist(), [0] * day, strict=True))
            for k in range(0, day, 20000):
                store.insert_samples(sid, rows[k : k + 20000])
    return sid, start_ns / 1e9


@dataclass
class Run:
    label: str
    cpu: float  # CPU s per wall s
    frames_per_s: float
    first_frame_s: float | None
    rss_mb: float


def run_gui(
    tmp: Path,
    name: str,
    argv: list[str],
    env: dict[str, str],
    *,
    view: str = "live",
    warmup: float,
    measure: float,
    extra: dict[str, object] | None = None,
) -> Run:
    """One GUI process: warm up, measure CPU over ``measure`` wall seconds, let it quit."""
    home = tmp / f"home-{name}"  # fresh QSettings: no layout or window from an earlier run
    home.mkdir()
    report = tmp / f"{name}.json"
    spec = {"argv": [*argv, "--quit-after", str(warmup + measure + 3)], "view": view, "report": str(report)}
    spec.update(extra or {})
    env = dict(env, XDG_CONFIG_HOME=str(home), PYTHONPATH=str(ROOT))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # the warm-up counts from the first frame (startup is measured on its own)
        deadline = started + 60
        state: dict[str, float] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                state = json.loads(report.read_text())
                if state.get("first_frame"):
                    break
            time.sleep(0.05)
        if not state.get("first_frame"):
            raise RuntimeError(f"{name}: no frame within 60 s")
        first = state["first_frame"] - started
        time.sleep(warmup)
        c0, w0, f0 = _cpu_s(proc.pid), time.monotonic(), json.loads(report.read_text())["frames"]
        time.sleep(measure)
        c1, w1, f1 = _cpu_s(proc.pid), time.monotonic(), json.loads(report.read_text())["frames"]
        rss = _rss_mb(proc.pid)
        proc.wait(timeout=warmup + measure + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Run(name, (c1 - c0) / (w1 - w0), (f1 - f0) / (w1 - w0), first, rss)


def bytecode_env(env: dict[str, str], tmp: Path) -> dict[str, str]:
    """``env`` with bytecode cached as an installed package has it (pip compiles on install):
    a ``PYTHONDONTWRITEBYTECODE`` shell would otherwise compile every benchgui module at every
    start (~0.5 s of CPU); the cache goes to ``tmp``, not into the source tree."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return out


def start_once(tmp: Path, name: str, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Start the GUI, let it quit at its first drawn frame: (wall s from the start, CPU s of
    the process by then)."""
    home = tmp / f"home-{name}"  # fresh QSettings: no layout or window from an earlier run
    home.mkdir()
    report = tmp / f"{name}.json"
    spec = {"argv": [*argv, "--quit-after", "120"], "view": "live", "report": str(report)}
    spec["first_frame_only"] = True
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        env=dict(env, XDG_CONFIG_HOME=str(home), PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=120)  # it closes itself at the first frame (or at --quit-after)
        state = json.loads(report.read_text()) if report.exists() else {}
        if not state.get("first_frame"):
            raise RuntimeError(f"{name}: no frame within 120 s")
        return state["first_frame"] - started, state["first_frame_cpu_s"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def import_gui_entry(env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of importing what ``benchgui`` imports before the GUI starts: the
    command line with every sub-command's parser, and ``benchgui.app``."""
    code = (
        "import json,time;w=time.perf_counter();c=time.process_time()\n"
        "import benchgui.cli,benchgui.cli.gui,benchgui.app;benchgui.cli.build_parser()\n"
        "print(json.dumps([time.perf_counter()-w,time.process_time()-c]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(env, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = json.loads(out.stdout)
    return wall, cpu


def first_frame_results(
    tmp: Path, cfg_text: str, store: Path, platforms: list[tuple[str, dict[str, str]]], repeats: int
) -> list[Result]:
    """Time from starting the process to the first drawn frame, median of ``repeats`` starts
    per platform (after one start that fills the bytecode cache, discarded), the default view
    on the simulators; also without any bytecode cache, and the import of the GUI entry."""
    c = tmp / "first-frame.toml"
    c.write_text(f"{cfg_text}[display]\nwindow_s = 300\n[recording]\nauto_start = true\n")
    argv = ["--config", str(c), "--store", str(store)]
    results: list[Result] = []
    runs = [(plat, bytecode_env(env, tmp), "") for plat, env in platforms]
    offscreen = dict(platforms[-1][1], PYTHONDONTWRITEBYTECODE="1")
    runs.append(("offscreen", offscreen, ", no bytecode cache"))
    for plat, env, what in runs:
        start_once(tmp, f"ff-{plat}{len(what)}-prime", argv, env)
        walls, cpus, loads = [], [], []
        for k in range(repeats):
            wall, cpu = start_once(tmp, f"ff-{plat}{len(what)}-{k}", argv, env)
            walls.append(wall)
            cpus.append(cpu)
            loads.append(os.getloadavg()[0])
        cached = not what
        results.append(
            Result(
                f"time to first drawn frame ({plat}{what})",
                statistics.median(walls),
                "s",
                "<= 3 s" if cached else "",
                statistics.median(walls) <= 3.0 if cached else None,
                note=f"median of {repeats} starts, {min(walls):.2f}–{max(walls):.2f} s; CPU of the "
                f"GUI process by then {statistics.median(cpus):.2f} s; load average "
                f"{min(loads):.1f}–{max(loads):.1f}",
            )
        )
    env = bytecode_env(platforms[-1][1], tmp)
    imports = [import_gui_entry(env) for _ in range(repeats)]
    results.append(
        Result(
            "import of the GUI entry (benchgui.cli with its parsers, benchgui.app)",
            statistics.median(w for w, _ in imports),
            "s",
            note=f"CPU {statistics.median(c for _, c in imports):.2f} s, median of {repeats}",
        )
    )
    return results


def run_first_frame(repeats: int) -> list[Result]:
    """Only the first-frame rows (``--first-frame N``)."""
    with tempfile.TemporaryDirectory(prefix="bench-gui-start-") as d, xvfb() as display:
        tmp = Path(d)
        base = {k: v for k, v in os.environ.items() if k not in ("BENCHGUI_REDRAW", "DISPLAY")}
        platforms = [("xcb", dict(base, QT_QPA_PLATFORM="xcb", DISPLAY=display))] if display else []
        platforms.append(("offscreen", dict(base, QT_QPA_PLATFORM="offscreen")))
        with sim_bench(tmp) as cfg:
            return first_frame_results(tmp, cfg.read_text(), tmp / "sessions.sqlite3", platforms, repeats)


def run_headless(tmp: Path, cfg: Path, warmup: float, measure: float) -> float:
    """CPU s per wall s of ``benchgui record --headless`` on the same simulators: what
    acquisition, SOC, verification inputs and recording cost without any screen."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchgui",
            "record",
            "--headless",
            "--config",
            str(cfg),
            "--store",
            str(tmp / "headless.sqlite3"),
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(warmup + 3)  # startup is not what is measured here
        c0, w0 = _cpu_s(proc.pid), time.monotonic()
        time.sleep(measure)
        c1, w1 = _cpu_s(proc.pid), time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return (c1 - c0) / (w1 - w0)


VIEWS = (  # name, view, window (QSettings), what
    ("5min", "live", "300", "5-min window (default view)"),
    ("60min", "live", "3600", "60-min window"),
    ("day", "day", "0", "whole session of 24 h"),
    ("soc", "soc", "300", "SOC dock in front"),
    ("verify", "verify", "300", "verification tab in front"),
)


def median_run(runs: list[Run], *, upper: bool = True) -> Run:
    """The run of median CPU; of an even count the upper of the middle two (``upper``: for the
    GUI, against the target) or the lower (for the baseline: against the ratio)."""
    ordered = sorted(runs, key=lambda r: r.cpu)
    return ordered[len(runs) // 2 if upper else (len(runs) - 1) // 2]


def runs_text(nows: list[Run], olds: list[Run]) -> str:
    return ", ".join(
        f"{100 * n.cpu:.2f} % (fixed {100 * o.cpu:.1f})" for n, o in zip(nows, olds, strict=True)
    )


def run(
    quick: bool = False,
    views: tuple[str, ...] | None = None,
    offscreen: bool = True,
    extras: bool = True,
    rounds: int | None = None,
) -> list[Result]:
    """Every view (or ``views``), under xcb and offscreen; ``extras``: low power and RSS;
    ``rounds``: alternating measurements of the default view, the median reported (3; quick: 1)."""
    warmup, measure = (3.0, 12.0) if quick else (10.0, 60.0)
    rounds = max(1, rounds) if rounds is not None else (1 if quick else 3)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-gui-cpu-") as d, xvfb() as display:
        tmp = Path(d)
        store = tmp / "sessions.sqlite3"
        seeded = views is None or "day" in views  # 24 h of samples take a while to write
        sid, day_start = seed_day(store) if seeded else ("", 0.0)
        base = {k: v for k, v in os.environ.items() if k not in ("BENCHGUI_REDRAW", "DISPLAY")}
        platforms = [("xcb", dict(base, QT_QPA_PLATFORM="xcb", DISPLAY=display))] if display else []
        if offscreen or not display:
            platforms.append(("offscreen", dict(base, QT_QPA_PLATFORM="offscreen")))
        chosen = tuple(v for v in VIEWS if views is None or v[0] in views)
        with sim_bench(tmp) as cfg:
            text = cfg.read_text()
            headless = run_headless(tmp, cfg, warmup, measure)
            results.append(
                Result(
                    "headless recorder on the same simulators (no screen)",
                    100 * headless,
                    "% core",
                    note="the GUI rows include this; GUI minus this is what the screen costs",
                )
            )
            for plat, env in platforms:
                for name, view, window, what in chosen if plat == platforms[0][0] else chosen[:1]:
                    c = tmp / f"{plat}-{name}.toml"
                    auto = "false" if view == "day" else "true"  # the day view shows the seeded session
                    c.write_text(
                        f"{text}[display]\nwindow_s = {window if window != '0' else 300}\n"
                        f"[recording]\nauto_start = {auto}\n"
                    )
                    argv = ["--config", str(c), "--store", str(store)]
                    extra = {"day_session": sid, "day_start_s": day_start}
                    # the default view, whose targets are tight, in alternating rounds (the
                    # machine's speed drifts by minutes: the same code measured 4.5–5.6 %, its
                    # baseline 20–24.5 %, in three runs within 35 minutes); the median of each
                    nows: list[Run] = []
                    olds: list[Run] = []
                    for r in range(rounds if name == "5min" else 1):
                        order = ("changes", "fixed") if r % 2 == 0 else ("fixed", "changes")
                        for mode in order:
                            fixed = mode == "fixed"
                            (olds if fixed else nows).append(
                                run_gui(
                                    tmp,
                                    f"{plat}-{name}-{mode}-{r}",
                                    argv,
                                    dict(env, BENCHGUI_REDRAW="fixed") if fixed else env,
                                    view=view,
                                    warmup=warmup,
                                    measure=measure,
                                    extra=extra,
                                )
                            )
                    now, old = median_run(nows), median_run(olds, upper=False)
                    target, ok = "", None
                    if name == "5min":
                        target, ok = "<= 5 %, >= 4x", now.cpu <= 0.05 and old.cpu >= 4 * now.cpu
                    elif name == "day":
                        target, ok = "<= 10 %", now.cpu <= 0.10
                    results.append(
                        Result(
                            f"GUI CPU, {what} ({plat})",
                            100 * now.cpu,
                            "% core",
                            target,
                            ok,
                            baseline=100 * old.cpu,
                            note=f"frames/s {now.frames_per_s:.2f} (fixed 20 Hz: {old.frames_per_s:.1f}); "
                            f"screen alone (minus headless): {100 * (now.cpu - headless):.1f} % "
                            f"vs {100 * (old.cpu - headless):.1f} % fixed"
                            + (
                                f"; median of {len(nows)} rounds: {runs_text(nows, olds)}"
                                if len(nows) > 1
                                else ""
                            ),
                        )
                    )
            if extras:
                results += first_frame_results(tmp, text, tmp / "ff.sqlite3", platforms, 3 if quick else 7)
            if display and extras:
                c = tmp / "lowpower.toml"
                c.write_text(f"{text}[display]\nlow_power = true\n")
                lp = run_gui(
                    tmp,
                    "xcb-lowpower",
                    ["--config", str(c), "--store", str(store)],
                    platforms[0][1],
                    warmup=warmup,
                    measure=measure,
                )
                results.append(
                    Result(
                        "GUI CPU, 5-min window, --low-power (xcb)",
                        100 * lp.cpu,
                        "% core",
                        note=f"frames/s {lp.frames_per_s:.2f}",
                    )
                )
        if not extras:
            return results
        # one hour of simulated data: the in-process demo bench at 60x (quick: 360x) for a minute
        speed = 360 if quick else 60
        env = platforms[0][1]
        hour = run_gui(
            tmp,
            "rss-hour",
            ["--demo", "--speed", str(speed), "--store", str(tmp / "rss.sqlite3")],
            env,
            warmup=3600 / speed - measure if 3600 / speed > measure else 0.0,
            measure=measure,
        )
        results.append(Result(f"GUI RSS after 1 h of simulated data (demo at {speed}x)", hour.rss_mb, "MB"))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 s warm-up, 12 s measurement")
    ap.add_argument(
        "--first-frame", type=int, metavar="N", help="only the time to the first frame, N starts each"
    )
    ap.add_argument("--views", help=f"comma-separated subset of {','.join(v[0] for v in VIEWS)}")
    ap.add_argument("--no-offscreen", action="store_true", help="xcb under Xvfb only")
    ap.add_argument(
        "--no-extras", action="store_true", help="skip the first-frame starts, --low-power and the RSS hour"
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=None,
        metavar="N",
        help="alternating measurements of the default view, the median reported (3; --quick: 1)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(json.loads(args.child))
    if args.first_frame:
        results = run_first_frame(args.first_frame)
    else:
        views = tuple(args.views.split(",")) if args.views else None
        rounds = args.rounds
        results = run(
            args.quick, views, offscreen=not args.no_offscreen, extras=not args.no_extras, rounds=rounds
        )
    print(f"load average after the run: {os.getloadavg()}")
    for r in results:
        base = (
            f"  (fixed 20 Hz: {fmt(r.baseline)}, {r.ratio:.1f}x)"
            if r.baseline is not None and r.ratio
            else ""
        )
        verdict = {True: "ok", False: "MISSED", None: ""}[r.ok]
        print(f"{r.name:<62} {fmt(r.value):>8} {r.unit:<7} {r.target:<14} {verdict:<6}{base}")
        if r.note:
            print(f"{'':<4}{r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
