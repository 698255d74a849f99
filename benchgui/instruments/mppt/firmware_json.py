"""JSON as the MPPT firmware prints and reads it (sans-IO, stdlib only).

The firmware prints floats with ``%.*f`` — a fixed number of decimals, no spaces — and a broken
sensor comes out as C's ``nan``/``inf``, which is not JSON. :class:`Fixed` and
:func:`render_json` write the first (the simulator answers as the device does);
:func:`loads_tolerant` reads the second without turning a broken sensor into a broken line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchgui.errors import LocalProtocolError


@dataclass(frozen=True)
class Fixed:
    """A float printed with a fixed number of decimals, as the firmware's ``%.*f`` does."""

    value: float
    decimals: int

    def render(self) -> str:
        if self.value != self.value or self.value in (float("inf"), float("-inf")):
            return "null"
        return f"{self.value:.{self.decimals}f}"


def render_json(value: Any) -> str:
    """Compact JSON (no spaces, as the firmware prints) that understands :class:`Fixed`."""
    if isinstance(value, Fixed):
        return value.render()
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{render_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(render_json(v) for v in value) + "]"
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"cannot send {value!r} as JSON: {exc}") from None


_NAN_TOKEN = re.compile(r"(?<=[:\[,])\s*-?(?:nan|inf|NaN|Infinity)\b")


def loads_tolerant(text: str) -> Any:
    """json.loads, tolerating the ``nan``/``inf`` that C's printf emits for a broken sensor."""
    try:
        return json.loads(text)
    except ValueError:
        if "n" not in text and "N" not in text and "I" not in text:
            raise
        return json.loads(_NAN_TOKEN.sub("null", text))
