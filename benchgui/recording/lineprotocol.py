"""InfluxDB line protocol, written by hand: pure functions, no I/O, no client library.

One line is ``measurement[,tag=value...] field=value[,field=value...] timestamp``. The escaping
rules differ per element (InfluxDB documentation, "Line protocol", "Special characters"):

* measurement: ``,`` and space are escaped with a backslash;
* tag keys, tag values and field keys: ``,``, ``=`` and space are escaped;
* a backslash cannot be written portably in names and tag values: InfluxDB 1.x keeps ``\\\\``
  as two characters and cannot store one before a separator at all, 2.x unescapes it. So
  backslashes in names become ``/``; newline, carriage return and tab become spaces (then
  escaped);
* string field values are quoted with ``"`` and ``\\`` escaped; a newline or carriage return is
  written as the two characters ``\\n`` / ``\\r`` (InfluxDB stores them like that), so every
  point is exactly one line — also in ``benchgui export``;
* tags with an empty value are left out (InfluxDB rejects them), and a line needs at least one
  field;
* floats are written with Python's shortest round-trip ``repr``; NaN and ±infinity cannot be
  written at all (:class:`UnrepresentableValue`); integers get the ``i`` suffix, booleans are
  ``true``/``false``.

Timestamps are integers in nanoseconds (``precision=ns``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from benchgui.errors import BenchError

FieldValue = float | int | bool | str

_MEASUREMENT = str.maketrans({"\\": "/", ",": "\\,", " ": "\\ ", "\n": "\\ ", "\r": "\\ ", "\t": "\\ "})
_KEY = str.maketrans({"\\": "/", ",": "\\,", "=": "\\=", " ": "\\ ", "\n": "\\ ", "\r": "\\ ", "\t": "\\ "})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


class UnrepresentableValue(BenchError, ValueError):
    """A point that line protocol cannot express (NaN or infinite value, no fields, empty name)."""


def escape_measurement(name: str) -> str:
    return name.translate(_MEASUREMENT)


def escape_key(text: str) -> str:
    """Escape a tag key, tag value or field key."""
    return text.translate(_KEY)


def escape_string(text: str) -> str:
    """The inside of a double-quoted string field value."""
    return text.translate(_STRING)


def format_value(value: FieldValue) -> str:
    """A field value in line protocol notation."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnrepresentableValue(f"{value!r} cannot be written to InfluxDB")
        return repr(value)
    if isinstance(value, str):
        return f'"{escape_string(value)}"'
    raise UnrepresentableValue(f"unsupported field value type {type(value).__name__}")


def series_key(measurement: str, tags: Mapping[str, str]) -> str:
    """``measurement,tag=value,...`` with tags sorted by key (InfluxDB's preferred order)."""
    if not measurement:
        raise UnrepresentableValue("empty measurement name")
    parts = [escape_measurement(measurement)]
    for k in sorted(tags):
        v = tags[k]
        if k and v:
            parts.append(f"{escape_key(k)}={escape_key(v)}")
    return ",".join(parts)


def format_fields(fields: Mapping[str, FieldValue]) -> str:
    if not fields:
        raise UnrepresentableValue("a point needs at least one field")
    out = []
    for k, v in fields.items():
        if not k:
            raise UnrepresentableValue("empty field name")
        out.append(f"{escape_key(k)}={format_value(v)}")
    return ",".join(out)


def format_line(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, FieldValue], t_ns: int
) -> str:
    """One complete line (without the trailing newline)."""
    return f"{series_key(measurement, tags)} {format_fields(fields)} {int(t_ns)}"


def join_lines(lines: list[str]) -> bytes:
    """The request body for a batch: UTF-8, one point per line."""
    return "\n".join(lines).encode("utf-8", "replace")
