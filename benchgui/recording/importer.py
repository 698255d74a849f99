"""Write a parsed CSV import into the session store as one session of kind ``import``.

The session starts at the first sample and ends at the last; its info records the file (name,
SHA-256), the time interpretation and the column mapping, and the device tags of the export
become the instruments' identities (so the forwarder tags the points with them). Everything is
one transaction: an import is either complete or absent.
"""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchgui.errors import StoreError
from benchgui.model import Event, SessionMeta
from benchgui.recording.csv_import import ParsedCsv
from benchgui.recording.store import Store

_CHUNK = 5_000  # samples per insert: the import's memory does not grow with the file


def import_info(parsed: ParsedCsv, path: Path, timezone: str) -> dict[str, Any]:
    return {
        "source_file": path.name,
        "sha256": parsed.sha256,
        "time_format": parsed.time_format,
        "timezone": timezone if parsed.time_format == "date-time" else "UTC (epoch)",
        "columns": {c.column.text: c.channel for c in parsed.columns},
        "instruments": {src: {"device": dev} for src, dev in parsed.devices.items()},
    }


def save_import(store: Store, parsed: ParsedCsv, meta: SessionMeta, info: dict[str, Any]) -> str:
    """Store the samples as a new session; returns its id.

    The samples are streamed from the import's scratch database in chunks (call this inside
    :func:`~benchgui.recording.csv_import.read_grafana_csv`'s ``with``)."""
    try:
        return _save(store, parsed, meta, info)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the import to {store.path}: {exc}") from exc


def _save(store: Store, parsed: ParsedCsv, meta: SessionMeta, info: dict[str, Any]) -> str:
    span = parsed.span_ns
    if span is None:
        raise StoreError("nothing to import: no samples")
    keys = {ch.name: store.channel_key(ch) for ch in parsed.channels}
    event = Event(
        span[0],
        "import",
        f"imported {info.get('source_file', 'CSV')}",
        {
            "rows_read": parsed.rows_read,
            "samples": parsed.sample_count,
            "bad_rows": parsed.bad.total,
            "bad_cells": parsed.bad_cell.total,
            "missing_zeros": {c.channel: c.missing for c in parsed.columns if c.channel and c.missing},
        },
    )
    with store.transaction():
        sid = store.create_session(span[0], replace(meta, kind="import"), info, ended_ns=span[1])
        samples = parsed.samples if parsed.scratch is None else parsed.iter_samples()
        rows = ((keys[s.channel], s.t_ns, s.value, s.flags) for s in samples)
        while chunk := list(itertools.islice(rows, _CHUNK)):
            store.insert_samples(sid, chunk)
        store.insert_events(sid, [event])
    return sid
