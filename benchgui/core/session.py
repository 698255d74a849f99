"""A recording session: what the operator ran, on which battery, from when to when."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from benchgui.model import SessionMeta


@dataclass
class Session:
    id: str
    started_ns: int
    meta: SessionMeta = field(default_factory=SessionMeta)
    ended_ns: int | None = None
    info: dict[str, Any] = field(default_factory=dict)  # instrument identities, config summary

    @property
    def running(self) -> bool:
        return self.ended_ns is None

    def with_meta(self, **changes: str) -> SessionMeta:
        return replace(self.meta, **changes)
