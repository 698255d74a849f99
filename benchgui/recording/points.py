"""Rows of the session store → InfluxDB line protocol, for the forwarder and for ``export``.

One encoder for both, so ``benchgui export --format lineprotocol`` prints exactly the lines the
forwarder sends. Measurement, field and tag names come from
:mod:`benchgui.recording.influx_schema`; each sample becomes one line with one field (plus
``<field>_flags`` when its flags are not zero), timestamped with its acquisition time in ns.
The tags of a session (``session``, ``battery_id``, ``device`` per instrument) are read from the
sessions table when the line is built, so metadata edited after the start applies to everything
not yet forwarded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from benchgui.model import Channel, Event, SessionMeta
from benchgui.recording import influx_schema as schema
from benchgui.recording.lineprotocol import UnrepresentableValue, escape_key, format_line, series_key
from benchgui.recording.store import Store


@dataclass(frozen=True)
class SessionContext:
    key: int
    id: str
    meta: SessionMeta
    started_ns: int
    ended_ns: int | None
    devices: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes whenever the session's InfluxDB point would change (metadata, end)."""
        m = self.meta
        return json.dumps(
            [m.operator, m.battery_id, m.notes, m.kind, self.started_ns, self.ended_ns, m.bench]
        )


def _devices(info_json: str) -> dict[str, str]:
    try:
        info: Any = json.loads(info_json or "{}")
    except ValueError:
        return {}
    instruments = info.get("instruments") if isinstance(info, dict) else None
    if not isinstance(instruments, dict):
        return {}
    return {str(k): schema.device_tag(v) for k, v in instruments.items() if isinstance(v, dict)}


class PointEncoder:
    """Builds lines from store rows, caching the per-(session, channel) line heads."""

    def __init__(self, store: Store, refresh_s: float = 1.0) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._sessions: dict[int, SessionContext] = {}
        self._channels: dict[int, Channel] = {}
        #: (session key, channel key) → (line head up to "field=", flags field key); filled on use
        self.heads: dict[tuple[int, int], tuple[str, str]] = {}
        self._loaded_at = -1e9
        self.refresh()

    # -- metadata --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read sessions and channels (cheap: tens of rows); drop heads whose tags changed."""
        sessions = {}
        for key, sid, started, ended, op, bat, notes, kind, info, bench in self.store.session_rows():
            sessions[int(key)] = SessionContext(
                int(key), sid, SessionMeta(op, bat, notes, kind, bench), int(started), ended, _devices(info)
            )
        changed = {
            k for k, ctx in sessions.items() if (old := self._sessions.get(k)) is not None and old != ctx
        }
        self._sessions = sessions
        self._channels = {
            int(k): Channel(n, u or "", s or "", q or n, lbl or "")
            for k, n, u, s, q, lbl in self.store.channel_rows()
        }
        if changed:
            self.heads = {k: v for k, v in self.heads.items() if k[0] not in changed}
        self._loaded_at = time.monotonic()

    def maybe_refresh(self) -> None:
        if time.monotonic() - self._loaded_at >= self.refresh_s:
            self.refresh()

    def sessions(self) -> list[SessionContext]:
        return list(self._sessions.values())

    def session(self, key: int) -> SessionContext:
        ctx = self._sessions.get(key)
        if ctx is None:
            self.refresh()
            ctx = self._sessions.get(key)
            if ctx is None:  # cannot happen with the foreign key; keep the point rather than fail
                ctx = SessionContext(key, f"session-{key}", SessionMeta(), 0, None)
        return ctx

    def channel(self, key: int) -> Channel:
        ch = self._channels.get(key)
        if ch is None:
            self.refresh()
            ch = self._channels.get(key) or Channel(f"channel{key}", "", "", f"channel{key}")
        return ch

    # -- lines -----------------------------------------------------------------------------------
    def _head(self, session_key: int, channel_key: int) -> tuple[str, str]:
        ctx = self.session(session_key)
        ch = self.channel(channel_key)
        measurement, fld = schema.measurement_and_field(ch)
        tags = schema.sample_tags(
            ch, ctx.id, ctx.meta.battery_id, ctx.devices.get(ch.source, ""), ctx.meta.bench
        )
        head = (f"{series_key(measurement, tags)} {escape_key(fld)}=", escape_key(schema.flags_field(fld)))
        self.heads[(session_key, channel_key)] = head
        return head

    def sample_line(
        self, session_key: int, channel_key: int, t_ns: int, value: float | None, flags: int
    ) -> str | None:
        """The line of one stored sample; None when it has no value (stored NULL = NaN).

        Raises :class:`UnrepresentableValue` for ±infinity.
        """
        if value is None:
            return None
        if value - value != 0.0:
            raise UnrepresentableValue(f"value {value!r} cannot be written to InfluxDB")
        head = self.heads.get((session_key, channel_key)) or self._head(session_key, channel_key)
        if flags:
            return f"{head[0]}{float(value)!r},{head[1]}={int(flags)}i {t_ns}"
        return f"{head[0]}{float(value)!r} {t_ns}"

    def event_line(self, session_key: int, event: Event) -> str:
        ctx = self.session(session_key)
        measurement, tags, fields = schema.event_point(event, ctx.id, ctx.meta.battery_id, ctx.meta.bench)
        return format_line(measurement, tags, fields, event.t_ns)

    def session_line(self, ctx: SessionContext) -> str:
        measurement, tags, fields, t_ns = schema.session_point(ctx.id, ctx.meta, ctx.started_ns, ctx.ended_ns)
        return format_line(measurement, tags, fields, t_ns)


def event_from_row(t_ns: int, kind: str, text: str, data_json: str) -> Event:
    try:
        data = json.loads(data_json or "{}")
    except ValueError:
        data = {}
    return Event(int(t_ns), kind, text or "", data if isinstance(data, dict) else {})


def session_lines(store: Store, session_id: str, batch: int = 5000) -> Iterator[str]:
    """Every line the forwarder sends for one session: its point, its events, its samples.

    Samples the forwarder could not send either (NaN/infinite) are left out here as well.
    """
    enc = PointEncoder(store)
    key = store.session_key(session_id)
    yield enc.session_line(enc.session(key))
    for t_ns, kind, text, data in store.session_event_rows(session_id):
        yield enc.event_line(key, event_from_row(t_ns, kind, text, data))
    for rows in store.session_sample_rows(session_id, batch):
        for ck, t_ns, value, flags in rows:
            try:
                line = enc.sample_line(key, ck, t_ns, value, flags)
            except UnrepresentableValue:
                continue
            if line is not None:
                yield line
