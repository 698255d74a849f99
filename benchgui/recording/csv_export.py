"""Rows of a session as CSV (``benchgui export --format csv``), safe to open in a spreadsheet.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some a tab
or CR) as a formula, so every *text* cell (channel, unit) starting with one of them gets a
leading ``'``, as they require. Numeric cells (``time_ns``, ``value``, ``flags``) are written by
this program from numbers and never prefixed: ``-1.03`` stays a number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from benchgui.clock import NS_PER_S
from benchgui.recording.store import Store

HEADER = ["time_ns", "time_utc", "channel", "unit", "value", "flags"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it, never as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def iso_utc(t_ns: int) -> str:
    secs, ns = divmod(t_ns, NS_PER_S)
    return dt.datetime.fromtimestamp(secs, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"


def csv_rows(store: Store, session_id: str) -> Iterator[list[str]]:
    """The header, then one row per sample in time order (empty value: the sample was NaN)."""
    units = {c.name: c.unit for c in store.channels(session_id)}
    yield HEADER
    for batch in store.iter_samples(session_id):
        for name, t_ns, value, flags in batch:
            yield [
                str(t_ns),
                iso_utc(t_ns),
                text_cell(name),
                text_cell(units.get(name, "")),
                "" if value is None else repr(value),
                str(flags),
            ]
