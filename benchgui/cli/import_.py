"""``benchgui import FILE.csv``: a Grafana CSV export becomes a local session (kind ``import``).

Prints what it read — rows, samples per channel, empty cells, bad rows and cells with their line
numbers, rows out of time order, duplicates — and the new session's id as the last line.
"""

from __future__ import annotations

import argparse
import stat
import sys
import tempfile
import time
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from benchgui.assembly import store_path_for
from benchgui.config import load_config
from benchgui.config.identity import check_bench_name
from benchgui.config.loader import read_toml
from benchgui.errors import ConfigError
from benchgui.model import SessionMeta
from benchgui.recording.store import Store

if TYPE_CHECKING:  # the CSV reader is imported by the command, not by every command's parser
    from benchgui.recording.csv_import import Listed, ParsedCsv
    from benchgui.recording.import_mapping import ColumnSpec

MAX_LISTED = 50  # problems printed with their line numbers
MAX_NAMED = 10  # unmapped columns named in the error


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "import",
        parents=[common],
        help="import a Grafana CSV export as a session",
        description="Import a Grafana 'series to columns' CSV export into the local store.",
    )
    p.add_argument("file", metavar="FILE.csv", type=Path)
    p.add_argument(
        "--timezone",
        metavar="TZ",
        help="IANA zone of date-time text without an offset, e.g. Europe/Berlin "
        "(default: this computer's zone; epoch timestamps need none)",
    )
    p.add_argument("--mapping", metavar="TOML", type=Path, help="column → channel mapping file")
    p.add_argument(
        "--skip-unmapped", action="store_true", help="import even if some columns map to no channel"
    )
    p.add_argument("--operator", default="")
    p.add_argument("--battery-id", default="")
    p.add_argument("--notes", default="")
    p.add_argument(
        "--bench",
        default="",
        metavar="NAME",
        help="the bench that recorded the data (its bench tag; default: none — not this bench)",
    )
    p.add_argument("--dry-run", action="store_true", help="read and report only; store nothing")
    p.set_defaults(func=run)


def _zone(name: str | None) -> tuple[tzinfo | None, str]:
    if not name:
        return None, f"local ({time.strftime('%Z')})"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder of zones
        raise ConfigError(
            "--timezone", f"unknown time zone {name!r} (use an IANA name like Europe/Berlin)"
        ) from None


def _mapping(path: Path | None) -> tuple[dict[str, ColumnSpec | None], str | None]:
    if path is None:
        return {}, None
    from benchgui.recording.import_mapping import mapping_from_toml

    data = read_toml(path)  # capped, UTF-8, every failure one line (as for the config file)
    tz = data.get("timezone")
    if tz is not None and not isinstance(tz, str):
        raise ConfigError("timezone", "must be a string", str(path))
    return mapping_from_toml(data, str(path)), tz


def _list(title: str, problems: Listed) -> None:
    if not problems.total:
        return
    print(f"{title}: {problems.total}")
    for p in problems.items[:MAX_LISTED]:
        print(f"  line {p.line}: {p.text}")
    if problems.total > MAX_LISTED:
        print(f"  … and {problems.total - MAX_LISTED} more")


def report(parsed: ParsedCsv, path: Path, zone: str) -> None:
    print(
        f"{path.name}: {parsed.rows_read} data rows read ({parsed.encoding}, delimiter {parsed.delimiter!r})"
    )
    tz_note = f", local times read as {zone}" if parsed.time_format == "date-time" else ""
    print(f"time column: {parsed.time_format or 'no valid time'}{tz_note}")
    for c in parsed.columns:
        target = c.channel or "NOT MAPPED"
        extra = f", {c.missing} zero(s) read as missing (gaps)" if c.missing else ""
        extra += f", {c.suspect} zero voltage(s) flagged SUSPECT" if c.suspect else ""
        print(
            f"  column {c.column.index + 1} {c.column.text!r} → {target}: {c.values} values, {c.empty} empty, {c.bad} bad{extra}"
        )
    if parsed.blank_lines:
        print(f"blank lines: {parsed.blank_lines}")
    _list("bad rows (skipped)", parsed.bad)
    _list("bad cells (skipped, rest of the row kept)", parsed.bad_cell)
    back = parsed.backward.total
    if back:
        lines = ", ".join(str(n) for n in parsed.backwards[:MAX_LISTED])
        more = f" … and {back - MAX_LISTED} more" if back > MAX_LISTED else ""
        print(f"time goes backwards at {back} row(s), lines {lines}{more}: samples sorted by time")
    if parsed.duplicates_dropped:
        print(f"exact duplicate samples dropped: {parsed.duplicates_dropped}")
    if parsed.same_time_conflicts:
        print(
            f"samples sharing channel and time with a different value: {parsed.same_time_conflicts} "
            "(kept locally; InfluxDB keeps only one per channel and time)"
        )


def run(args: argparse.Namespace) -> int:
    from benchgui.recording.csv_import import read_grafana_csv

    loaded = load_config(args.config)
    check_bench_name(args.bench, "--bench")
    overrides, file_tz = _mapping(args.mapping)
    tz, zone = _zone(args.timezone or file_tz)
    path = store_path_for(loaded, args.store)
    # the scratch database beside the store: /tmp may be a RAM disk
    scratch = path.parent if path.parent.is_dir() else Path(tempfile.gettempdir())
    try:
        if not stat.S_ISREG(args.file.stat().st_mode):  # /dev/zero, a FIFO: would never end
            print(f"benchgui: cannot read {args.file}: not a regular file", file=sys.stderr)
            return 1
        with (
            args.file.open("rb") as f,
            read_grafana_csv(f, tz=tz, mapping=overrides, scratch_dir=scratch) as parsed,
        ):
            return _store(args, parsed, path, zone)
    except OSError as exc:
        print(f"benchgui: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _store(args: argparse.Namespace, parsed: ParsedCsv, path: Path, zone: str) -> int:
    report(parsed, args.file, zone)
    if parsed.unmapped and not args.skip_unmapped:
        names = "; ".join(repr(c.column.text[:80]) for c in parsed.unmapped[:MAX_NAMED])
        more = f" and {len(parsed.unmapped) - MAX_NAMED} more" if len(parsed.unmapped) > MAX_NAMED else ""
        raise ConfigError(
            "--mapping",
            f"no channel for column(s) {names}{more}: map them in a mapping file, or pass --skip-unmapped",
        )
    print(f"samples to import: {parsed.sample_count}")
    if not parsed.sample_count:
        print("benchgui: nothing to import: no valid samples", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run: nothing stored")
        return 0
    from benchgui.recording.importer import import_info, save_import

    meta = SessionMeta(args.operator, args.battery_id, args.notes, "import", args.bench)
    with Store(path) as store:
        sid = save_import(store, parsed, meta, import_info(parsed, args.file, zone))
    print(f"stored {parsed.sample_count} samples in {path}")
    print(sid)
    return 0
