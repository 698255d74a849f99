"""Test-only stand-in for ``benchgui import`` of the shared Grafana CSVs (until it exists).

Deliberately tiny: the real importer (recording) handles every oddity and reports bad rows;
this only has to put the shared files into a store the way the importer names the channels.
The tests use the real ``benchgui import`` whenever that sub-command is present.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from benchgui.model import Channel, SessionMeta
from benchgui.recording.store import Store

COLUMNS = {  # header text → channel, in the form the recording engineer's importer uses
    'Bat_voltage {device="470023670"': Channel.of("battery.voltage", "labjack", "V"),
    'Bat_current {device="470023670"': Channel.of("battery.current", "labjack", "A"),
    'Bat_A {device="mppt-1210-hus"': Channel.of("battery.current", "mppt", "A"),
    'Bat_V {device="EA-EL-3060"': Channel.of("battery.voltage", "load", "V"),
    'Bat_V {device="mppt-1210-hus"': Channel.of("battery.voltage", "mppt", "V"),
}


def _time_ns(text: str) -> int:
    if text.isdigit():
        return int(text) * 1_000_000
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1e9)


def load(csv_path: Path, store_path: Path) -> str:
    """Import one Grafana CSV into a new session; returns its id."""
    text = csv_path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    if lines and lines[0].startswith("sep="):
        lines = lines[1:]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header, body = rows[0], [r for r in rows[1:] if r]
    channels = {}
    for j, name in enumerate(header[1:], start=1):
        for prefix, ch in COLUMNS.items():
            if name.startswith(prefix):
                channels[j] = ch
    times = [_time_ns(r[0]) for r in body]
    with Store(store_path) as store:
        sid = store.create_session(
            min(times),
            SessionMeta(kind="import", notes=f"test import of {csv_path.name}"),
            {
                "source_file": csv_path.name,
                "instruments": {
                    "labjack": {"model": "T7", "serial": "470023670"},
                    "mppt": {"model": "MPPT 1210 HUS", "device": "mppt-1210-hus"},
                    "load": {"model": "EA EL 3160-60", "device": "EA-EL-3060"},
                },
            },
        )
        out = []
        for j, ch in channels.items():
            key = store.channel_key(ch)
            for t, r in zip(times, body, strict=True):
                if j < len(r) and r[j].strip():
                    out.append((key, t, float(r[j]), 0))
        store.insert_samples(sid, out)
        store.end_session(sid, max(times))
    return sid
