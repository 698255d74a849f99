"""The vocabulary every layer shares: channels, samples, instrument status, events, sessions.

Small immutable values only — no behaviour that needs I/O or Qt — so that drivers, the core,
the recorder and the widgets can all speak about the same things without depending on each other.

Conventions (also in the README):

* channel names are ``<quantity>.<source>``, e.g. ``battery.voltage.labjack``;
* battery current is positive when charging, negative when discharging, everywhere;
* ``t_ns`` is the acquisition time in UTC nanoseconds since the epoch.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Channel:
    """A named, unit-carrying stream of values from one instrument.

    ``quantity`` is what is measured (``battery.voltage``), ``source`` which instrument measured
    it (``labjack``); the name is normally ``f"{quantity}.{source}"``. ``rate_hz`` is a hint for
    sizing display buffers, not a promise.
    """

    name: str
    unit: str
    source: str
    quantity: str
    label: str = ""
    rate_hz: float = 1.0

    @classmethod
    def of(cls, quantity: str, source: str, unit: str, label: str = "", rate_hz: float = 1.0) -> Channel:
        """Build a channel named by the ``<quantity>.<source>`` convention."""
        return cls(f"{quantity}.{source}", unit, source, quantity, label or f"{quantity} ({source})", rate_hz)


class SampleFlag(enum.IntFlag):
    """Per-sample quality flags, stored with the sample."""

    NONE = 0
    OVER_RANGE = 1  # within 2 % of the selected input range: probably clipped
    SUSPECT = 2  # the source says the value may be wrong (e.g. sensor fault)


class Sample(NamedTuple):
    """One value of one channel at one instant (a NamedTuple: cheap to create by the thousand)."""

    channel: str
    t_ns: int
    value: float
    flags: int = 0


class InstrumentState(enum.Enum):
    """Connection state of an instrument as the operator sees it."""

    DISABLED = "disabled"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class InstrumentStatus:
    """Status of one instrument: state, a human text, and how often it had to reconnect."""

    instrument: str
    state: InstrumentState
    text: str = ""
    reconnects: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for a status bar: ``connected``, ``reconnecting (3): port vanished``…"""
        head = self.state.value
        if self.state is InstrumentState.RECONNECTING:
            head = f"reconnecting ({self.reconnects})"
        return f"{head}: {self.text}" if self.text else head


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened in a session at an instant: a program step, a setpoint change,
    a safety trip, an operator annotation. ``kind`` is a dotted category (``program.step``,
    ``safety.trip``, ``annotation``…); ``data`` holds the numbers, JSON-serialisable."""

    t_ns: int
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def data_json(self) -> str:
        return json.dumps(self.data, sort_keys=True, default=float)


@dataclass(frozen=True, slots=True)
class SessionMeta:
    """What the operator says about a session when starting it."""

    operator: str = ""
    battery_id: str = ""
    notes: str = ""
    kind: str = "live"  # live | demo | import | replay
    bench: str = ""  # the bench that recorded it (``[bench] name``); "" unknown (old or imported)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A stored session as listed by the store."""

    id: str
    started_ns: int
    ended_ns: int | None
    meta: SessionMeta
    samples: int = 0
    forwarded: int = 0

    @property
    def duration_s(self) -> float | None:
        if self.ended_ns is None:
            return None
        return (self.ended_ns - self.started_ns) / 1_000_000_000  # model and clock share a layer
