"""Which CSV column becomes which channel: automatic for Grafana exports of the bench, or a file.

Grafana's "series to columns" header holds the InfluxDB series of each column:
``Bat_V {device="EA-EL-3060", name="V"}``. The automatic rules know the bench's old series
(see ``/work/shared/data/README.md``):

======================================================  ==============================
column (series name, ``device`` tag)                    channel
======================================================  ==============================
``Bat_voltage``, device = LabJack serial (digits)       ``battery.voltage.labjack`` (V)
``Bat_current``, device = LabJack serial (digits)       ``battery.current.labjack`` (A)
``Bat_V``, device ``mppt…``                             ``battery.voltage.mppt`` (V)
``Bat_A``, device ``mppt…``                             ``battery.current.mppt`` (A)
``Bat_V``, device ``EA…``                               ``battery.voltage.load`` (V)
a benchgui channel name (``battery.voltage.labjack``)   that channel
======================================================  ==============================

A mapping file (TOML) overrides them::

    [columns]
    'Bat_V {device="EA-EL-3060", name="V"}' = "battery.voltage.load"   # the whole header text
    "Bat_A@mppt-1210-hus" = { channel = "battery.current.mppt", unit = "A", scale = 1.0 }
    "Bat_voltage" = "battery.voltage.labjack"                          # the series name alone
    "Temperature" = ""                                                 # skip this column

Keys are tried in that order: full header text, ``series@device``, series name.

Units are the project's own: a channel's unit follows from its quantity (``voltage`` → V,
``current`` → A …, :func:`standard_unit`). A ``unit`` — in a mapping file or a header tag
``{unit="mV"}`` — says what the *column* holds; a known unit is converted (mV → V, kW → W …),
anything else is refused (:class:`UnitError`), so no file can rename a channel's unit in the
store (which would change live sessions' exports and the InfluxDB field name).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from benchgui.errors import ConfigError
from benchgui.model import Channel

_HEADER = re.compile(r"^\s*(?P<name>[^{}]*?)\s*(?:\{(?P<tags>.*)\})?\s*$", re.S)
_TAG = re.compile(r'([A-Za-z_][\w.-]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
UNITS_BY_QUANTITY = {
    "voltage": "V",
    "current": "A",
    "power": "W",
    "soc": "%",
    "temperature": "°C",
    "ah": "Ah",
    "wh": "Wh",
}
#: column unit → (standard unit, scale, offset): standard = value * scale + offset
CONVERSIONS: dict[str, tuple[str, float, float]] = {
    "mV": ("V", 1e-3, 0.0),
    "µV": ("V", 1e-6, 0.0),
    "uV": ("V", 1e-6, 0.0),
    "kV": ("V", 1e3, 0.0),
    "mA": ("A", 1e-3, 0.0),
    "µA": ("A", 1e-6, 0.0),
    "uA": ("A", 1e-6, 0.0),
    "kA": ("A", 1e3, 0.0),
    "mW": ("W", 1e-3, 0.0),
    "kW": ("W", 1e3, 0.0),
    "MW": ("W", 1e6, 0.0),
    "degC": ("°C", 1.0, 0.0),
    "℃": ("°C", 1.0, 0.0),
    "K": ("°C", 1.0, -273.15),
    "mAh": ("Ah", 1e-3, 0.0),
    "kWh": ("Wh", 1e3, 0.0),
}


class UnitError(ValueError):
    """A column's unit is neither its channel's unit nor convertible to it."""


@dataclass(frozen=True)
class HeaderColumn:
    """One column header, split into the series name and its tags."""

    index: int
    text: str
    series: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def device(self) -> str:
        return self.tags.get("device", "")


@dataclass(frozen=True)
class ColumnSpec:
    """Where a column's values go: ``value * scale + offset`` into ``channel``."""

    channel: str
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0

    def to_channel(self) -> Channel:
        quantity, _, source = self.channel.rpartition(".")
        return Channel(self.channel, self.unit, source, quantity or self.channel, f"{quantity} ({source})")


def parse_header(index: int, text: str) -> HeaderColumn:
    m = _HEADER.match(text)
    if m is None:  # braces in odd places: the whole text is the name
        return HeaderColumn(index, text, text.strip())
    tags = {k: v.replace('\\"', '"') for k, v in _TAG.findall(m.group("tags") or "")}
    return HeaderColumn(index, text, m.group("name").strip(), tags)


def standard_unit(channel: str) -> str:
    """The project's unit of ``channel`` (``<quantity>.<source>``): from the quantity's last
    known word (``battery.voltage.x`` → V, ``soc.mppt`` → %), "" when it has none."""
    for part in reversed(channel.split(".")[:-1]):
        if part in UNITS_BY_QUANTITY:
            return UNITS_BY_QUANTITY[part]
    return ""


def conform(spec: ColumnSpec) -> ColumnSpec:
    """``spec`` in its channel's standard unit: a known column unit becomes scale and offset.

    Raises :class:`UnitError` for any other unit (the caller names the column or key)."""
    std = standard_unit(spec.channel)
    unit = spec.unit.strip()
    if unit in ("", std):
        return replace(spec, unit=std)
    conv = CONVERSIONS.get(unit)
    if conv is None or conv[0] != std:
        known = sorted(u for u, c in CONVERSIONS.items() if c[0] == std)
        target = f"{std!r}" + (f" or one of {', '.join(known)}" if known else "")
        if not std:
            target = "empty (the channel has no unit)"
        raise UnitError(f"unit {unit[:24]!r} of {spec.channel} must be {target}")
    _, scale, offset = conv
    return ColumnSpec(spec.channel, std, spec.scale * scale, spec.offset * scale + offset)


def auto_spec(col: HeaderColumn) -> ColumnSpec | None:
    """The automatic rule for a column, or None (unmapped)."""
    name, device = col.series.lower(), col.device.lower()
    labjack = device.isdigit() or device == ""
    if name == "bat_voltage" and labjack:
        return ColumnSpec("battery.voltage.labjack", "V")
    if name == "bat_current" and labjack:
        return ColumnSpec("battery.current.labjack", "A")
    if device.startswith("mppt") and name in ("bat_v", "bat_a"):
        return (
            ColumnSpec("battery.voltage.mppt", "V")
            if name == "bat_v"
            else ColumnSpec("battery.current.mppt", "A")
        )
    if device.startswith("ea") and name == "bat_v":
        return ColumnSpec("battery.voltage.load", "V")
    if _CHANNEL_NAME.match(col.series):
        return ColumnSpec(col.series, col.tags.get("unit", ""))
    return None


def spec_for(col: HeaderColumn, overrides: Mapping[str, ColumnSpec | None]) -> ColumnSpec | None:
    """Mapping-file entry (full text, ``series@device``, series) or else the automatic rule."""
    for key in (col.text, f"{col.series}@{col.device}", col.series):
        if key in overrides:
            return overrides[key]
    return auto_spec(col)


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    return float(value)


def mapping_from_toml(data: Mapping[str, Any], source: str = "mapping file") -> dict[str, ColumnSpec | None]:
    """Check a parsed mapping file; errors name the key (``columns."Bat_V".scale``)."""
    unknown = sorted(set(data) - {"columns", "timezone"})
    if unknown:
        raise ConfigError(unknown[0], "unknown key (known: columns, timezone)", source)
    cols = data.get("columns", {})
    if not isinstance(cols, dict):
        raise ConfigError("columns", "must be a table", source)
    out: dict[str, ColumnSpec | None] = {}
    for k, v in cols.items():
        key = f'columns."{k}"'
        if v == "":
            out[k] = None
        elif isinstance(v, str):
            if not _CHANNEL_NAME.match(v):
                raise ConfigError(key, f"not a channel name like battery.voltage.labjack: {v!r}", source)
            out[k] = ColumnSpec(v, standard_unit(v))
        elif isinstance(v, dict):
            bad = sorted(set(v) - {"channel", "unit", "scale", "offset"})
            if bad:
                raise ConfigError(
                    f"{key}.{bad[0]}", "unknown key (known: channel, unit, scale, offset)", source
                )
            ch = v.get("channel")
            if not isinstance(ch, str) or not _CHANNEL_NAME.match(ch):
                raise ConfigError(
                    f"{key}.channel", f"needs a channel name like battery.voltage.labjack, got {ch!r}", source
                )
            unit = v.get("unit", "")
            if not isinstance(unit, str):
                raise ConfigError(f"{key}.unit", "must be a string", source)
            scale = _number(v.get("scale", 1.0), f"{key}.scale")
            offset = _number(v.get("offset", 0.0), f"{key}.offset")
            try:
                out[k] = conform(ColumnSpec(ch, unit, scale, offset))
            except UnitError as exc:
                raise ConfigError(f"{key}.unit", str(exc), source) from None
        else:
            raise ConfigError(key, f'must be a channel name, "" (skip) or a table, got {v!r}', source)
    return out
