"""Work-around for pyqtgraph's SVG exporter with Qt ≥ 6.10 (every SVG export raised ValueError).

Qt's QSvgGenerator now closes paths with a separate ``Z`` token (``M0,0 L5,0 L5,4 Z``).
pyqtgraph 0.13–0.14's ``correctCoordinates`` splits a path's ``d`` at spaces and expects every
token to be ``x,y`` with an optional command letter, so the lone ``Z`` raises "not enough values
to unpack" and no plot — not even an empty ViewBox — can be exported as SVG (also from the
right-click "Export…" menu). :func:`install` wraps that function: each ``Z`` token is disguised as
a coordinate before and restored after, so pyqtgraph's own transformation logic runs unchanged.
Remove once pyqtgraph handles it.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_MARK = re.compile(rf"([Zz]){_NUM},{_NUM}")
_installed = False


def _disguise(d: str) -> str:
    return " ".join(t + "0,0" if t in ("Z", "z") else t for t in d.split(" "))


def install() -> None:
    """Patch pyqtgraph's SVG exporter once (idempotent)."""
    global _installed
    if _installed:
        return
    mod: Any = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    original = getattr(mod, "correctCoordinates", None)
    if original is None:  # a pyqtgraph that reorganised its exporter: nothing to patch
        return

    def correct_coordinates(node: Any, defs: Any, item: Any, options: Any) -> Any:
        paths = [
            p for p in node.getElementsByTagName("path") if re.search(r"(^| )[Zz]( |$)", p.getAttribute("d"))
        ]
        for p in paths:
            p.setAttribute("d", _disguise(p.getAttribute("d").strip()))
        try:
            return original(node, defs, item, options)
        finally:
            for p in paths:
                p.setAttribute("d", _MARK.sub(r"\1", p.getAttribute("d")))

    mod.correctCoordinates = correct_coordinates
    _installed = True
