"""The GUI application: QApplication + asyncio (qasync) + the bench + the main window.

asyncio runs inside Qt's event loop (qasync), so drivers and the core are plain coroutines and
nothing blocks the GUI thread. Unhandled exceptions in slots are logged and shown in the status
bar instead of vanishing. Closing the window stops the bench (load off first) with a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication

import benchgui.pyside_feature  # noqa: F401 - first: the imports below (pyqtgraph) are checked by it
from benchgui.assembly import Assembly, assemble, store_path_for, uses_simulation
from benchgui.config import LoadedConfig
from benchgui.core.bench import Bench
from benchgui.core.catalog import SessionCatalog
from benchgui.core.follow import follow_bench, follow_target
from benchgui.core.programs.demo import DemoActivity
from benchgui.core.programs.model import Program
from benchgui.core.replay import ReplayService, replay_bench
from benchgui.model import SessionMeta
from benchgui.outputs import OutputError, output_path
from benchgui.qt_event_loop import QtAsyncioLoop
from benchgui.widgets import (
    ain_panel,
    charger_panel,
    load_panel,
    port_picker,
    program_panel,
    recording_panel,
    safety_banner,
    soc_gauge,
    verify_view,
)
from benchgui.widgets.frame_scheduler import LOW_POWER_HZ, RedrawMode
from benchgui.widgets.main_thread_gc import MainThreadGC
from benchgui.widgets.main_window import MainWindow

log = logging.getLogger(__name__)


def _install_excepthook(window_ref: list[MainWindow]) -> None:
    """Log unhandled exceptions in slots and show them in the status bar (Qt would drop them)."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.error("unhandled exception:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        if window_ref:
            window_ref[0].statusBar().showMessage(f"Error: {exc}", 15000)

    sys.excepthook = hook


def run_app(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("benchgui")
    app.setOrganizationName("benchgui")
    app.setQuitOnLastWindowClosed(False)  # we quit after the bench has stopped cleanly
    window_ref: list[MainWindow] = []
    _install_excepthook(window_ref)
    collector = MainThreadGC(parent=app)  # cyclic GC on the GUI thread only (see the module)
    collector.start()
    try:
        with asyncio.Runner(loop_factory=QtAsyncioLoop) as runner:
            return runner.run(_main(args, loaded, window_ref))
    finally:
        collector.stop()


async def _main(args: argparse.Namespace, loaded: LoadedConfig, window_ref: list[MainWindow]) -> int:
    cfg = loaded.config
    replay: ReplayService | None = None
    demo: DemoActivity | None = None
    demo_program: Program | None = None
    following = getattr(args, "follow", None)
    if following is not None:
        bench = follow_bench(follow_target(loaded, following), following, cfg.display.buffer_s)
        asm = Assembly(bench, None, [])
    elif getattr(args, "replay", None):
        bench, replay = replay_bench(
            store_path_for(loaded, args.store), args.replay, args.replay_speed, cfg.display.buffer_s
        )
        asm = Assembly(bench, None, [replay.aclose])
    else:
        demo_program = (
            DemoActivity.load(cfg.simulation.demo_program) if uses_simulation(loaded, args.demo) else None
        )
        asm = await assemble(
            loaded,
            demo=args.demo,
            speed=args.speed,
            store_path=args.store,
            trace=getattr(args, "trace", None),
        )
    bench = asm.bench
    meta = SessionMeta(cfg.bench.operator, cfg.bench.battery_id, "", "demo" if bench.simulated else "live")
    window = MainWindow(
        bench,
        catalog=SessionCatalog(store_path_for(loaded, args.store)),
        default_meta=meta,
        window_s=float(cfg.display.window_s),
        redraw_hz=redraw_hz(args, loaded),
        redraw_mode=redraw_mode(),
    )
    window_ref.append(window)
    if replay is not None:
        window.set_replay(replay)
    add_panels(window, bench)
    if getattr(args, "panel", None):
        front_panel(window, args.panel)
    closed = asyncio.get_running_loop().create_future()

    def on_closing() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closing.connect(on_closing)
    if args.screenshot:
        window.resize(1280, 800)  # a fixed size, so screenshots are comparable
    if args.fullscreen:
        window.showFullScreen()
    else:
        window.show()
    await bench.start()
    warm_imports()
    if cfg.recording.auto_start and replay is None and following is None:
        bench.start_session(meta)
    if replay is None and demo_program is not None and bench.services.programs is not None:
        demo = DemoActivity(bench.services.programs, demo_program)  # the demo bench is lively
        demo.start()
    exit_code = 0
    try:
        if args.quit_after is not None:
            done, _ = await asyncio.wait([closed], timeout=args.quit_after)
            if not done and args.screenshot:
                window.redraw()
                exit_code = 0 if save_screenshot(window, Path(args.screenshot)) else 1
            if not done:
                window.close_without_asking()
        else:
            await closed
    finally:
        if demo is not None:
            await demo.aclose()
        await asyncio.wait_for(asm.aclose(), 15)
    return exit_code


#: what the first SOC filter and the first verification import (``scipy``: ~0.2 s of CPU, kept
#: out of the start so the first frame comes sooner, issue 19)
WARM_IMPORTS = ("scipy.linalg.lapack", "scipy.special")


def warm_imports(names: tuple[str, ...] = WARM_IMPORTS) -> threading.Thread:
    """Import ``names`` on a daemon thread once the window is up, so the first SOC step does not
    pause the event loop (and the safety supervisor on it) for the import: the loop keeps
    running between the thread's GIL slices. An import the loop asks for meanwhile waits for
    the thread's (Python's per-module import lock); a failure is logged, and then the user of
    the module reports it where it is needed."""

    def run() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # the module's user reports it where needed; here only a note
                log.warning("warming import of %s failed", name, exc_info=True)

    thread = threading.Thread(target=run, name="warm-imports", daemon=True)
    thread.start()
    return thread


def redraw_hz(args: argparse.Namespace, loaded: LoadedConfig) -> float:
    """The frame-rate cap: ``display.redraw_hz``, or 2 Hz with --low-power / ``display.low_power``."""
    display = loaded.config.display
    if getattr(args, "low_power", False) or display.low_power:
        return min(LOW_POWER_HZ, display.redraw_hz)
    return display.redraw_hz


def redraw_mode() -> RedrawMode:
    """Frames on change; ``BENCHGUI_REDRAW=fixed`` (undocumented for operators) brings back the
    fixed-rate redraw of before issue 19, the baseline ``benchmarks/bench_gui_cpu.py`` measures."""
    value = os.environ.get("BENCHGUI_REDRAW", "").strip().lower()
    if value == RedrawMode.FIXED.value:
        log.warning("BENCHGUI_REDRAW=fixed: redrawing at a fixed rate (the benchmark's baseline)")
        return RedrawMode.FIXED
    return RedrawMode.CHANGES


# The panels, in tab order: each ``create_panel(window, bench)`` adds itself with
# ``window.add_panel(...)`` when the bench has what it needs (returns None otherwise). A feature
# adds its panel by adding its function here.
PANELS: tuple[Callable[[MainWindow, Bench], object], ...] = (
    load_panel.create_panel,
    program_panel.create_panel,
    charger_panel.create_panel,
    ain_panel.create_panel,
    soc_gauge.create_panel,
    safety_banner.create_panel,
    recording_panel.create_panel,
    verify_view.create_panel,
    port_picker.create_panel,
)


def add_panels(window: MainWindow, bench: Bench) -> None:
    """Every panel the bench supports, then the readouts in front."""
    for create_panel in PANELS:
        create_panel(window, bench)
    window.show_panel("Readouts")  # the big numbers first; the instrument panels are tabs beside them


def front_panel(window: MainWindow, title: str) -> bool:
    """``--panel``: bring that dock to the front; a title that names none is said (with the
    titles there are) and the window starts as usual — no reason to leave the bench dark."""
    if window.show_panel(title):
        return True
    log.warning("--panel %r: no such panel (there are: %s)", title, ", ".join(window.panel_titles()))
    return False


def save_screenshot(window: MainWindow, path: Path) -> bool:
    """Render the window into ``path`` through a temporary file renamed into place (the old file
    stays if Qt or the disk fails; which files are refused was checked before the GUI started)."""
    try:
        with output_path(path) as tmp:
            if not window.grab().save(str(tmp)):  # format from the suffix, which tmp keeps
                raise OutputError(f"cannot write {path}: Qt could not save the image")
    except OutputError as exc:
        log.error("screenshot: %s", exc)
        return False
    log.info("screenshot written to %s", path)
    return True
