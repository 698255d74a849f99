"""How channels map to InfluxDB measurements, fields and tags — the one place that decides it.

A channel ``<quantity>.<source>`` whose quantity is ``<measurement>[.<rest>]`` becomes

* measurement ``<measurement>`` (``battery``, ``soc``, ``charger``, ``load``, ``solar``…),
* field ``<rest joined by _>_<unit suffix>`` — or ``<measurement>_<unit suffix>`` when the
  quantity has one part — so units are in field names (``voltage_v``, ``current_a``,
  ``soc_pct``, ``state``),
* tags ``bench`` (``[bench] name`` of the bench that recorded it; left out when unknown),
  ``source`` (instrument id: labjack, mppt, load, spkf…), ``device`` (the instrument's
  identity, e.g. model and serial), ``session`` (session id), ``battery_id``.

Events are points of measurement ``events`` (tags ``bench``, ``kind``, ``session``; field ``text``
and the event's numeric data); operator annotations are measurement ``annotations`` (field
``text``, tags ``bench``, ``session``) so a Grafana annotation query can show them. The Grafana
dashboards shipped in ``ansible/`` and their tests use this module, so they cannot drift apart.

Each session is also one point of measurement ``sessions`` at its start time (tags ``session``,
``battery_id``, ``kind``; string fields ``operator`` and ``notes``; ``duration_s`` once it has
ended), so the operator's metadata reaches InfluxDB too. A sample's quality flags, when not zero,
travel as an integer field ``<field>_flags`` next to the value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from benchgui.clock import ns_to_s
from benchgui.model import Channel, Event, SessionMeta

UNIT_SUFFIX = {
    "V": "v",
    "mV": "mv",
    "A": "a",
    "mA": "ma",
    "W": "w",
    "%": "pct",
    "Ah": "ah",
    "Wh": "wh",
    "°C": "degc",
    "degC": "degc",
    "Ω": "ohm",
    "Ohm": "ohm",
    "s": "s",
    "Hz": "hz",
    "": "",
}

EVENTS_MEASUREMENT = "events"
ANNOTATIONS_MEASUREMENT = "annotations"
SESSIONS_MEASUREMENT = "sessions"
TAG_KEYS = ("bench", "source", "device", "session", "battery_id")
FLAGS_SUFFIX = "_flags"


def unit_suffix(unit: str) -> str:
    if unit in UNIT_SUFFIX:
        return UNIT_SUFFIX[unit]
    return re.sub(r"[^a-z0-9]+", "", unit.lower())


def measurement_and_field(channel: Channel) -> tuple[str, str]:
    """(measurement, field) for a channel, e.g. battery.voltage [V] → ("battery", "voltage_v")."""
    parts = [p for p in channel.quantity.split(".") if p] or [channel.name.split(".")[0]]
    measurement = parts[0]
    base = "_".join(parts[1:]) or measurement
    suffix = unit_suffix(channel.unit)
    return measurement, f"{base}_{suffix}" if suffix else base


def flags_field(field: str) -> str:
    """Field that carries a sample's non-zero quality flags (``voltage_v`` → ``voltage_v_flags``)."""
    return field + FLAGS_SUFFIX


def device_tag(info: Mapping[str, Any] | None) -> str:
    """The ``device`` tag from an instrument's identity (``Source.info()``, stored with the session).

    An explicit ``device`` entry wins (imports use the tag of the exported series); otherwise
    model and serial joined by a space; empty when nothing is known (the tag is then left out).
    """
    if not info:
        return ""
    if info.get("device"):
        return str(info["device"])
    return " ".join(str(info[k]) for k in ("model", "serial") if info.get(k))


def sample_tags(
    channel: Channel, session_id: str, battery_id: str, device: str, bench: str = ""
) -> dict[str, str]:
    return {
        "bench": bench,
        "source": channel.source,
        "device": device,
        "session": session_id,
        "battery_id": battery_id,
    }


_FIELD_SAFE = re.compile(r"[^A-Za-z0-9_]+")
_RESERVED_FIELDS = {"text", "time"}


def event_field_name(key: str) -> str:
    name = _FIELD_SAFE.sub("_", key).strip("_") or "value"
    return f"{name}_value" if name in _RESERVED_FIELDS else name


def event_point(
    event: Event, session_id: str, battery_id: str, bench: str = ""
) -> tuple[str, dict[str, str], dict[str, float | str]]:
    """(measurement, tags, fields) of an event; annotations go to their own measurement.

    Only numeric data becomes fields (as floats, booleans as 0/1), so a field never changes type
    between events; text data stays in the local store.
    """
    tags = {"bench": bench, "session": session_id, "battery_id": battery_id}
    fields: dict[str, float | str] = {"text": event.text}
    if event.kind == "annotation":
        return ANNOTATIONS_MEASUREMENT, tags, fields
    tags["kind"] = event.kind
    for key, value in sorted(event.data.items()):
        if isinstance(value, bool | int | float) and math.isfinite(float(value)):
            fields[event_field_name(str(key))] = float(value)
    return EVENTS_MEASUREMENT, tags, fields


def session_point(
    session_id: str, meta: SessionMeta, started_ns: int, ended_ns: int | None
) -> tuple[str, dict[str, str], dict[str, float | str], int]:
    """(measurement, tags, fields, t_ns) of the point that describes a session."""
    tags = {"bench": meta.bench, "session": session_id, "battery_id": meta.battery_id, "kind": meta.kind}
    fields: dict[str, float | str] = {"operator": meta.operator, "notes": meta.notes}
    if ended_ns is not None:
        fields["duration_s"] = ns_to_s(ended_ns - started_ns)
    return SESSIONS_MEASUREMENT, tags, fields, started_ns


_UNIT_OF_SUFFIX = {"v": "V", "mv": "mV", "a": "A", "ma": "mA", "w": "W", "pct": "%", "ah": "Ah", "wh": "Wh",
                   "degc": "°C", "ohm": "Ω", "s": "s", "hz": "Hz"}  # fmt: skip
#: measurements of samples, longest first (a VictoriaMetrics metric ``load_output_current_a`` is
#: split at the longest one that matches)
SAMPLE_MEASUREMENTS = ("load_output", "battery", "charger", "solar", "load", "mppt", "soc")
#: channels whose names do not follow ``<quantity>.<source>`` (see their sources)
_NAMED_OTHERWISE = {
    "load.current.setpoint.load": "load.current.setpoint",
    "soc.sigma3.spkf": "soc.spkf.sigma3",
}


def channel_from_series(measurement: str, field: str, source: str) -> Channel | None:
    """The channel a (measurement, field, source) series was written from — the inverse of
    :func:`measurement_and_field` for the project's channels (``battery``/``voltage_v``/
    ``labjack`` → ``battery.voltage.labjack`` [V]); None for flag fields and text-only series."""
    if field.endswith(FLAGS_SUFFIX) or not source:
        return None
    base, _, suffix = field.rpartition("_")
    unit = _UNIT_OF_SUFFIX.get(suffix)
    if unit is None or not base:  # no unit suffix: the whole field is the rest of the quantity
        base, unit = field, ""
    quantity = measurement if base == measurement else f"{measurement}.{base.replace('_', '.')}"
    channel = Channel.of(quantity, source, unit)
    name = _NAMED_OTHERWISE.get(channel.name)
    return channel if name is None else Channel(name, unit, source, quantity, channel.label)


def split_metric(metric: str) -> tuple[str, str] | None:
    """(measurement, field) of a VictoriaMetrics metric name ``<measurement>_<field>``."""
    for m in SAMPLE_MEASUREMENTS:
        if metric.startswith(m + "_") and len(metric) > len(m) + 1:
            return m, metric[len(m) + 1 :]
    return None
