"""How channels map to InfluxDB measurements, fields and tags — the one place that decides it.

A channel ``<quantity>.<source>`` whose quantity is ``<measurement>[.<rest>]`` becomes

* measurement ``<measurement>`` (``battery``, ``soc``, ``charger``, ``load``, ``solar``…),
* field ``<rest joined by _>_<unit suffix>`` — or ``<measurement>_<unit suffix>`` when the
  quantity has one part — so units are in field names (``voltage_v``, ``current_a``,
  ``soc_pct``, ``state``),
* tags ``source`` (instrument id: labjack, mppt, load, spkf…), ``device`` (the instrument's
  identity, e.g. model and serial), ``session`` (session id), ``battery_id``.

Events are points of measurement ``events`` (tags ``kind``, ``session``; field ``text`` and the
event's numeric data); operator annotations are measurement ``annotations`` (field ``text``,
tag ``session``) so a Grafana annotation query can show them. The Grafana dashboard shipped in
``ansible/`` and its test use this module, so the two cannot drift apart.
"""

from __future__ import annotations

import re

from benchgui.model import Channel

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
TAG_KEYS = ("source", "device", "session", "battery_id")


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
