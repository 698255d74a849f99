"""GUI soak: the real window on the simulated bench under Xvfb, RSS and CPU sampled every minute.

    make soak-gui                                   # 2 hours of wall time, a row per minute
    python benchmarks/soak_gui.py --wall-s 1200     # 20 minutes
    python benchmarks/soak_gui.py --wall-s 8 --period-s 1 --warmup-s 2   # a smoke run

Why: the issue measured the GUI growing from 210 to 285 MB in 28 minutes and its CPU creeping up;
neither shows in a test. The child is ``benchgui --demo --speed N`` in its own process on a private
Xvfb display, with every dock split out so all of them paint (tabbed docks are hidden and cost
nothing), its store and settings in a throwaway directory. The parent reads ``/proc/<pid>`` once
per period and prints a row; the child is ended with SIGTERM (the app's clean close: load off,
session closed). At the end a summary compares with the targets (reported, never asserted):
RSS growth <= 50 MB after the warm-up, CPU within +-20 % of its post-warm-up mean.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
RSS_TARGET_MB = 50.0
CPU_BAND = 0.20


@dataclass
class Row:
    t_s: float  # wall time since the child started
    rss_mb: float
    cpu_pct: float  # of one core, over the period before this row
    heap_mb: float = 0.0  # of the RSS: the main thread's malloc heap ([heap] in smaps)
    anon_mb: float = 0.0  # of the RSS: other anonymous maps (thread arenas, Python's arenas, mmap'd blocks)


def read_proc(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds used so far) of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)
    rss_kb = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return rss_kb / 1024, cpu_s


def read_smaps(pid: int) -> tuple[float, float]:
    """(RSS of [heap], RSS of the other anonymous maps) in MB: where growth is, when there is some
    (issue 23 found it on the GUI thread's heap and one worker's arena)."""
    heap_kb = anon_kb = 0
    kind = ""
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            first, _, rest = line.partition(" ")
            # a mapping's header is "range perms offset dev inode [path]"; other lines are "Key: value"
            if "-" in first and not first.endswith(":"):
                fields = rest.split()
                path = fields[4] if len(fields) > 4 else ""
                kind = "heap" if path == "[heap]" else "anon" if not path else ""
            elif first == "Rss:" and kind:
                kb = int(rest.split()[0])
                if kind == "heap":
                    heap_kb += kb
                else:
                    anon_kb += kb
    return heap_kb / 1024, anon_kb / 1024


def start_xvfb(size: str) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a display it picks itself (``-displayfd``)."""
    if shutil.which("Xvfb") is None:
        raise SystemExit("soak-gui: Xvfb is not installed (apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", size, "-nolisten", "tcp", "-noreset"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    with os.fdopen(r) as fh:
        number = fh.readline().strip()
    if not number:
        proc.kill()
        raise SystemExit("soak-gui: Xvfb did not start")
    return proc, f":{number}"


def run_child(speed: float, ready: Path, config: str | None = None) -> int:
    """In the child: the GUI as ``benchgui --demo`` would run it, every dock visible. ``ready``
    is written once the bench records (its signal handlers are in place by then), so the parent
    counts wall time from a running window, however long the start took on this machine."""
    from PySide6.QtCore import QTimer

    from benchgui import app
    from benchgui.cli import main

    add_panels = app.add_panels

    def add_all(window: app.MainWindow, bench: app.Bench) -> None:
        add_panels(window, bench)
        window.show_all_docks()
        poll = QTimer(window)

        def check() -> None:
            if bench.session is not None and window.isVisible():
                poll.stop()
                ready.write_text("ready\n")

        poll.timeout.connect(check)
        poll.start(100)

    app.add_panels = add_all  # the soak's only change to the app: all docks visible
    return main([*(["--config", config] if config else []), "--demo", "--speed", str(speed)])


def summarise(rows: list[Row], warmup_s: float) -> list[str]:
    after = [r for r in rows if r.t_s >= warmup_s] or rows[-1:]
    if not after:
        return ["no samples"]
    base, end, peak = after[0].rss_mb, rows[-1].rss_mb, max(r.rss_mb for r in rows)
    growth = end - base
    cpus = [r.cpu_pct for r in after]
    mean = sum(cpus) / len(cpus)
    lo, hi = min(cpus), max(cpus)
    flat = mean == 0 or (lo >= mean * (1 - CPU_BAND) and hi <= mean * (1 + CPU_BAND))
    half = len(cpus) // 2
    first = sum(cpus[:half]) / half if half else mean
    last = sum(cpus[half:]) / (len(cpus) - half) if half else mean
    return [
        f"RSS: after warm-up {base:.0f} MB, end {end:.0f} MB (growth {growth:+.1f} MB, target <= "
        f"{RSS_TARGET_MB:.0f}: {'ok' if growth <= RSS_TARGET_MB else 'OVER'}), peak {peak:.0f} MB",
        f"CPU: mean {mean:.1f} % of a core after warm-up, min {lo:.1f}, max {hi:.1f}, first half "
        f"{first:.1f}, second half {last:.1f} (flat +-{CPU_BAND * 100:.0f} %: {'ok' if flat else 'NO'})",
    ]


def wait_ready(child: subprocess.Popen[bytes], ready: Path, timeout_s: float) -> bool:
    """Until the child says its window records (False: it died or never got there)."""
    deadline = time.monotonic() + timeout_s
    while not ready.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            return False
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.1)
    return True


def soak(
    wall_s: float,
    period_s: float,
    warmup_s: float,
    speed: float,
    screen: str,
    start_timeout_s: float,
    config: str | None = None,
) -> int:
    xvfb, display = start_xvfb(screen)
    tmp = Path(tempfile.mkdtemp(prefix="benchgui-soak-gui-"))
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp / "xdg"))
    env.update(BENCHGUI_CONFIG_DIR=str(tmp / "config"), BENCHGUI_DATA_DIR=str(tmp / "data"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    ready = tmp / "ready"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(ready), "--speed", str(speed)]
    if config:
        cmd += ["--config", str(Path(config).resolve())]
    log_path = tmp / "child.log"
    rows: list[Row] = []
    with open(log_path, "wb") as log_fh:
        child = subprocess.Popen(cmd, env=env, stdout=log_fh, stderr=subprocess.STDOUT)
        t_start = time.monotonic()
        up = wait_ready(child, ready, start_timeout_s)
        t0 = time.monotonic()
        print(
            f"soak-gui: window up after {t0 - t_start:.1f} s"
            if up
            else "soak-gui: the window did not come up",
            flush=True,
        )
        print(
            f"soak-gui: benchgui --demo --speed {speed:g} on Xvfb {display} ({screen}), pid {child.pid}, "
            f"{wall_s:g} s, a row every {period_s:g} s, warm-up {warmup_s:g} s",
            flush=True,
        )
        print(f"{'min':>7} {'RSS MB':>8} {'CPU %':>7} {'heap MB':>8} {'anon MB':>8}", flush=True)
        try:
            _, cpu_prev = read_proc(child.pid)
            t_prev = t0
            while up and child.poll() is None and time.monotonic() - t0 < wall_s:
                try:
                    child.wait(timeout=max(0.0, min(period_s, wall_s - (time.monotonic() - t0))))
                    break  # the child ended by itself
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                rss, cpu = read_proc(child.pid)
                heap, anon = read_smaps(child.pid)
                row = Row(now - t0, rss, 100.0 * (cpu - cpu_prev) / max(now - t_prev, 1e-9), heap, anon)
                rows.append(row)
                cpu_prev, t_prev = cpu, now
                print(
                    f"{row.t_s / 60:7.2f} {row.rss_mb:8.1f} {row.cpu_pct:7.1f} {heap:8.1f} {anon:8.1f}",
                    flush=True,
                )
        except (FileNotFoundError, ProcessLookupError):
            pass  # the child is gone; its exit code says why
        finally:
            early = child.poll() is not None  # ended before we asked it to
            if not early:
                child.send_signal(signal.SIGTERM)  # the app's clean close
                try:
                    child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            xvfb.terminate()
            xvfb.wait(timeout=10)
    code = child.returncode
    for line in summarise(rows, warmup_s):
        print(line, flush=True)
    print(f"child exit code {code}{' (ended early)' if early else ''}; its log: {log_path}", flush=True)
    if code == 0 and not early:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        print("\n".join(["soak-gui: the child's last log lines:", *tail]), file=sys.stderr)
    return 0 if code == 0 and rows and not early else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wall-s", type=float, default=7200.0, help="wall time to run (default 2 h)")
    p.add_argument("--period-s", type=float, default=60.0, help="one row per period (default 60 s)")
    p.add_argument(
        "--warmup-s", type=float, default=600.0, help="RSS growth counts from here (default 10 min)"
    )
    p.add_argument("--speed", type=float, default=10.0, help="simulated time N× faster (default 10)")
    p.add_argument("--screen", default="1920x1200x24", help="Xvfb screen (default 1920x1200x24)")
    p.add_argument(
        "--start-timeout-s", type=float, default=600.0, help="give up if the window is not up by then"
    )
    p.add_argument("--config", metavar="PATH", help="the child's configuration file (an A/B of a setting)")
    p.add_argument("--child", metavar="READY_FILE", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return run_child(args.speed, Path(args.child), args.config)
    if not (args.wall_s > 0 and args.period_s > 0 and args.warmup_s >= 0 and args.speed > 0):
        p.error("--wall-s, --period-s and --speed must be > 0, --warmup-s >= 0")
    return soak(
        args.wall_s, args.period_s, args.warmup_s, args.speed, args.screen, args.start_timeout_s, args.config
    )


if __name__ == "__main__":
    sys.exit(main())
