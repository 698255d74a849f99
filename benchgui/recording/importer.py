"""Write a parsed CSV import into the session store as one session of kind ``import``.

The session starts at the first sample and ends at the last; its info records the file (name,
SHA-256), the time interpretation and the column mapping, and the device tags of the export
become the instruments' identities (so the forwarder tags the points with them). Everything is
one transaction: an import is either complete or absent.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from benchgui.errors import StoreError
from benchgui.model import Event, SessionMeta
from benchgui.recording.csv_import import ParsedCsv
from benchgui.recording.store import Store, new_session_id


def import_info(parsed: ParsedCsv, path: Path, data: bytes, timezone: str) -> dict[str, Any]:
    return {
        "source_file": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "time_format": parsed.time_format,
        "timezone": timezone if parsed.time_format == "date-time" else "UTC (epoch)",
        "columns": {c.column.text: c.channel for c in parsed.columns},
        "instruments": {src: {"device": dev} for src, dev in parsed.devices.items()},
    }


def save_import(store: Store, parsed: ParsedCsv, meta: SessionMeta, info: dict[str, Any]) -> str:
    """Store the samples as a new session; returns its id."""
    try:
        return _save(store, parsed, meta, info)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the import to {store.path}: {exc}") from exc


def _save(store: Store, parsed: ParsedCsv, meta: SessionMeta, info: dict[str, Any]) -> str:
    span = parsed.span_ns
    if span is None:
        raise StoreError("nothing to import: no samples")
    keys = {ch.name: store.channel_key(ch) for ch in parsed.channels}
    sid = new_session_id(span[0])
    db = store.db
    with db:
        cur = db.execute(
            "INSERT INTO sessions(id, started_ns, ended_ns, operator, battery_id, notes, kind, info_json) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (sid, span[0], span[1], meta.operator, meta.battery_id, meta.notes, "import", json.dumps(info)),
        )
        key = int(cur.lastrowid or 0)
        db.executemany(
            f"INSERT INTO samples(session, channel, t_ns, value, flags) VALUES ({key},?,?,?,?)",
            ((keys[s.channel], s.t_ns, s.value, s.flags) for s in parsed.samples),
        )
        db.execute(
            "UPDATE sessions SET sample_count = ?, last_sample_ns = ? WHERE key = ?",
            (len(parsed.samples), span[1], key),
        )
        event = Event(
            span[0],
            "import",
            f"imported {info.get('source_file', 'CSV')}",
            {
                "rows_read": parsed.rows_read,
                "samples": len(parsed.samples),
                "bad_rows": len(parsed.bad_rows),
                "bad_cells": len(parsed.bad_cells),
            },
        )
        db.execute(
            "INSERT INTO events(session, t_ns, kind, text, data_json) VALUES (?,?,?,?,?)",
            (key, event.t_ns, event.kind, event.text, event.data_json()),
        )
    return sid
