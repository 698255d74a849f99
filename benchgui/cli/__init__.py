"""The ``benchgui`` command: the GUI by default, sub-commands for everything else.

Exit codes: 0 success, 1 the work itself failed, 2 bad usage or configuration. Errors that
benchgui raises on purpose are printed as one line; the traceback goes to the log only.
"""

from __future__ import annotations

import argparse
import importlib
import io
import logging
import os
import sys
from collections.abc import Sequence

from benchgui import __version__
from benchgui.errors import BenchError, ConfigError

log = logging.getLogger("benchgui")

#: the commands that accept ``--trace FILE`` (None: the GUI)
TRACING_COMMANDS = (None, "record", "run-program", "sim", "commission")


def subcommand_modules() -> list[str]:
    """Every module under :mod:`benchgui.cli` that provides ``add_parser(subparsers, common)``.

    A new sub-command is a new module here; nothing else needs editing.
    """
    import pkgutil

    import benchgui.cli as pkg

    names = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "gui":
            continue
        names.append(info.name)
    return names


def common_options(for_subcommand: bool = True) -> argparse.ArgumentParser:
    """Options every command accepts, before or after the sub-command name.

    Sub-command copies default to SUPPRESS so that ``benchgui --demo record`` keeps ``--demo``
    (argparse would otherwise overwrite it with the sub-parser's default).
    """
    sup = argparse.SUPPRESS if for_subcommand else None
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--config",
        metavar="PATH",
        default=sup,
        help="configuration file (TOML); default: the user config file",
    )
    p.add_argument(
        "--demo", action="store_true", default=sup or False, help="use the simulated bench (no hardware)"
    )
    p.add_argument(
        "--speed",
        type=float,
        metavar="N",
        default=sup,
        help="simulated time runs N times faster (with --demo)",
    )
    p.add_argument(
        "--store",
        metavar="PATH",
        default=sup,
        help="session store (SQLite) to use instead of the configured one",
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=sup or 0, help="more log output (-vv for debug)"
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    common = common_options(for_subcommand=True)
    parser = argparse.ArgumentParser(
        prog="benchgui",
        description="Battery test bench: live plots, recording, discharge programs, SOC.",
        parents=[common_options(for_subcommand=False)],
    )
    parser.add_argument("--version", action="version", version=f"benchgui {__version__}")
    parser.add_argument(
        "--screenshot", metavar="PNG", help="render the window into PNG after --quit-after seconds"
    )
    parser.add_argument(
        "--quit-after", type=float, metavar="SECONDS", help="quit the GUI after this many seconds"
    )
    parser.add_argument("--fullscreen", action="store_true", help="start full screen (kiosk)")
    parser.add_argument(
        "--panel",
        metavar="TITLE",
        help="bring this panel to the front at start, e.g. 'State of charge' (a kiosk, a screenshot)",
    )
    parser.add_argument(
        "--low-power",
        action="store_true",
        help="update the screen at most 2 times a second (display.low_power; the Pi kiosk's default)",
    )
    parser.add_argument(
        "--replay",
        metavar="SESSION",
        help="replay a stored session (id, prefix or 'latest') as if live, instead of the bench",
    )
    parser.add_argument(
        "--replay-speed", type=float, default=1.0, metavar="N", help="replay N times faster (1…1000)"
    )
    parser.add_argument("--trace", metavar="FILE", help="record every instrument link's raw bytes into FILE")
    parser.add_argument(
        "--follow",
        metavar="BENCH",
        help="show bench BENCH live from the central InfluxDB/VictoriaMetrics (read-only; no VNC needed)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in subcommand_modules():
        mod = importlib.import_module(f"benchgui.cli.{name}")
        if hasattr(mod, "add_parser"):
            mod.add_parser(sub, common)
    return parser


def setup_logging(verbosity: int) -> None:
    level = os.environ.get("BENCHGUI_LOG_LEVEL") or (
        "DEBUG" if verbosity > 1 else "INFO" if verbosity else "WARNING"
    )
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _not_utf8(args: argparse.Namespace) -> str | None:
    """The first text argument that is not UTF-8 (bytes Python kept as surrogates), or None.

    Found by ``make fuzz`` (``cli.arguments``): ``benchgui export $'\\x8d'`` ended in a traceback
    when the id reached SQLite. File names (:class:`~pathlib.Path` arguments) may be any bytes."""
    for name, value in vars(args).items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return name
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    text = _not_utf8(args)
    if text is not None:  # Linux hands over any bytes; the store and the terminal want UTF-8
        parser.error(f"argument {text}: not valid UTF-8 text")
    if isinstance(sys.stdout, io.TextIOWrapper):  # a file name of any bytes prints, escaped
        sys.stdout.reconfigure(errors="backslashreplace")
    setup_logging(args.verbose)
    if args.speed is not None and not args.speed > 0:
        parser.error("--speed must be > 0")
    if not 1 <= args.replay_speed <= 1000:
        parser.error("--replay-speed must be between 1 and 1000")
    if getattr(args, "follow", None) is not None and (
        args.command is not None or args.replay is not None or args.demo or getattr(args, "trace", None)
    ):
        parser.error("--follow is the GUI on its own: not with a command, --replay, --demo or --trace")
    if getattr(args, "trace", None) and args.command not in TRACING_COMMANDS:
        parser.error("--trace applies to the GUI, record, run-program, sim and commission")
    try:
        if args.command is None:
            from benchgui.cli.gui import run_gui

            return run_gui(args)
        return int(args.func(args))
    except ConfigError as exc:
        print(f"benchgui: configuration error: {exc}", file=sys.stderr)
        return 2
    except BenchError as exc:
        log.debug("failed", exc_info=True)
        print(f"benchgui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
