"""``benchgui`` with no sub-command: the GUI (imports Qt only here)."""

from __future__ import annotations

import argparse
import os
import sys

from benchgui.config import load_config


def display_available() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return True  # offscreen, vnc, eglfs, linuxfb… need no X/Wayland display
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform != "linux"


NO_DISPLAY = (
    "benchgui: no display (DISPLAY and WAYLAND_DISPLAY are unset). Run it under Xvfb "
    "(xvfb-run -a benchgui --demo) or over VNC (QT_QPA_PLATFORM=vnc:port=5900), or record "
    "without a display: benchgui record --headless --demo"
)


def run_gui(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)  # config errors before any Qt import
    if getattr(args, "replay", None) is not None:  # a bad session is reported before any Qt import too
        from benchgui.assembly import store_path_for
        from benchgui.cli._common import session_ref
        from benchgui.core.replay import plan_replay

        plan_replay(store_path_for(loaded, args.store), session_ref(args.replay, "--replay"))
    if getattr(args, "follow", None) is not None:  # a bad name or no server: one line, before Qt
        from benchgui.core.follow import follow_target

        follow_target(loaded, args.follow)
    if getattr(args, "screenshot", None) or getattr(args, "trace", None):
        from benchgui.cli._common import check_outputs, protected_files

        outs = [("--screenshot", args.screenshot), ("--trace", getattr(args, "trace", None))]
        check_outputs(protected_files(args, loaded), outs)
    if not display_available():
        if args.screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
        else:
            print(NO_DISPLAY, file=sys.stderr)
            return 2
    from benchgui.app import run_app

    return run_app(args, loaded)
