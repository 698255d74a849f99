"""A small SVG plot writer for the verification report: scatter, time series, histogram.

Why not pyqtgraph's exporters here: the report is written by the headless CLI and by a core
service, and neither may import Qt (headless commands must run without a display, and nothing
below the widgets imports Qt). SVG is vector (sharp when printed or put in a thesis), embeds
inline in the HTML without base64, and is plain text that tests can parse. The GUI's own plots
export SVG/PNG/CSV through pyqtgraph.

Points are snapped to the pixel grid and drawn once per occupied pixel, so a plot of 100 000
pairs stays a few hundred kB and looks exactly like the full plot. Pure Python + numpy; returns
strings, writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from benchgui.verify.align import FloatArray

WIDTH, HEIGHT = 560, 360
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 70, 16, 30, 46
FONT = "font-family:Helvetica,Arial,sans-serif"


@dataclass(frozen=True)
class Line:
    """A straight line y = slope·x + intercept drawn across the plot."""

    slope: float
    intercept: float
    color: str
    label: str
    dash: bool = False


@dataclass(frozen=True)
class PointSet:
    x: FloatArray
    y: FloatArray
    color: str
    label: str = ""


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 5 × 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    x = start
    while x <= hi + step * 1e-9:
        ticks.append(round(x, 12))
        x += step
    return ticks


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _range(values: Sequence[FloatArray], pad: float = 0.04) -> tuple[float, float]:
    finite = [v[np.isfinite(v)] for v in values if len(v)]
    finite = [v for v in finite if len(v)]
    if not finite:
        return 0.0, 1.0
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    if hi <= lo:
        d = abs(lo) * 0.01 or 1.0
        return lo - d, hi + d
    d = (hi - lo) * pad
    return lo - d, hi + d


class _Canvas:
    def __init__(
        self, title: str, xlabel: str, ylabel: str, xr: tuple[float, float], yr: tuple[float, float]
    ):
        self.xr, self.yr = xr, yr
        self.x0, self.x1 = MARGIN_L, WIDTH - MARGIN_R
        self.y0, self.y1 = HEIGHT - MARGIN_B, MARGIN_T
        self.parts: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" style="{FONT};font-size:11px">',
            f"<title>{escape(title)}</title>",
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
            f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">'
            f"{escape(title)}</text>",
        ]
        self._axes(xlabel, ylabel)
        self.parts.append("<g>")
        self._group_open = True

    def px(self, x: FloatArray | float) -> FloatArray | float:
        return self.x0 + (np.asarray(x) - self.xr[0]) / (self.xr[1] - self.xr[0]) * (self.x1 - self.x0)

    def py(self, y: FloatArray | float) -> FloatArray | float:
        return self.y0 - (np.asarray(y) - self.yr[0]) / (self.yr[1] - self.yr[0]) * (self.y0 - self.y1)

    def _axes(self, xlabel: str, ylabel: str) -> None:
        p = self.parts
        for t in nice_ticks(*self.xr):
            x = float(self.px(t))
            p.append(f'<line x1="{x:.1f}" y1="{self.y1}" x2="{x:.1f}" y2="{self.y0}" stroke="#e4e4e4"/>')
            p.append(f'<text x="{x:.1f}" y="{self.y0 + 14}" text-anchor="middle">{_fmt(t)}</text>')
        for t in nice_ticks(*self.yr):
            y = float(self.py(t))
            p.append(f'<line x1="{self.x0}" y1="{y:.1f}" x2="{self.x1}" y2="{y:.1f}" stroke="#e4e4e4"/>')
            p.append(f'<text x="{self.x0 - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
        p.append(
            f'<rect x="{self.x0}" y="{self.y1}" width="{self.x1 - self.x0}" height="{self.y0 - self.y1}" '
            'fill="none" stroke="#444"/>'
        )
        p.append(
            f'<text x="{(self.x0 + self.x1) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{escape(xlabel)}</text>"
        )
        cy = (self.y0 + self.y1) / 2
        p.append(
            f'<text x="14" y="{cy}" text-anchor="middle" transform="rotate(-90 14 {cy})">'
            f"{escape(ylabel)}</text>"
        )

    def points(self, ps: PointSet, size: float = 1.6) -> None:
        ok = np.isfinite(ps.x) & np.isfinite(ps.y)
        ok &= (ps.x >= self.xr[0]) & (ps.x <= self.xr[1]) & (ps.y >= self.yr[0]) & (ps.y <= self.yr[1])
        if not np.any(ok):
            return
        xs = np.round(np.asarray(self.px(ps.x[ok]), dtype=float)).astype(np.int64)
        ys = np.round(np.asarray(self.py(ps.y[ok]), dtype=float)).astype(np.int64)
        cells = np.unique(np.stack([xs, ys], axis=1), axis=0)
        h = size / 2
        path = "".join(f"M{x - h:g} {y - h:g}h{size:g}v{size:g}h-{size:g}z" for x, y in cells)
        self.parts.append(f'<path d="{path}" fill="{ps.color}"><title>{escape(ps.label)}</title></path>')

    def line(self, ln: Line) -> None:
        """Draw y = slope·x + intercept, clipped to the plot box (no clipPath: not every SVG
        renderer supports it, e.g. Qt's SVG Tiny renderer fills it black)."""
        (xa, xb), (ylo, yhi) = self.xr, self.yr
        if ln.slope != 0:
            xs = sorted(((ylo - ln.intercept) / ln.slope, (yhi - ln.intercept) / ln.slope))
            xa, xb = max(xa, xs[0]), min(xb, xs[1])
        elif not ylo <= ln.intercept <= yhi:
            return
        if xb <= xa:
            return
        ya, yb = ln.slope * xa + ln.intercept, ln.slope * xb + ln.intercept
        dash = ' stroke-dasharray="6 4"' if ln.dash else ""
        self.parts.append(
            f'<line x1="{float(self.px(xa)):.1f}" y1="{float(self.py(ya)):.1f}" '
            f'x2="{float(self.px(xb)):.1f}" y2="{float(self.py(yb)):.1f}" '
            f'stroke="{ln.color}" stroke-width="1.6"{dash}/>'
        )

    def rect(self, xa: float, xb: float, ya: float, yb: float, color: str) -> None:
        x, y = float(self.px(xa)), float(self.py(yb))
        w, h = float(self.px(xb)) - x, float(self.py(ya)) - y
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{color}" stroke="white" stroke-width="0.5"/>'
        )

    def _close_group(self) -> None:
        if self._group_open:
            self.parts.append("</g>")
            self._group_open = False

    def legend(self, entries: Sequence[tuple[str, str]]) -> None:
        self._close_group()
        y = self.y1 + 14
        for color, label in entries:
            if not label:
                continue
            self.parts.append(f'<rect x="{self.x0 + 8}" y="{y - 8}" width="10" height="10" fill="{color}"/>')
            self.parts.append(f'<text x="{self.x0 + 22}" y="{y + 1}">{escape(label)}</text>')
            y += 15

    def done(self) -> str:
        self._close_group()
        self.parts.append("</svg>")
        return "".join(self.parts)


def scatter(sets: Sequence[PointSet], lines: Sequence[Line], *, title: str, xlabel: str, ylabel: str) -> str:
    """Device against reference, with the fitted and the ideal line."""
    xr = _range([s.x for s in sets])
    yr = _range([s.y for s in sets])
    c = _Canvas(title, xlabel, ylabel, xr, yr)
    for ln in lines:  # under the points: the clusters of a constant-current step sit on the lines
        c.line(ln)
    for s in sets:
        c.points(s, size=2.2)
    c.legend([(s.color, s.label) for s in sets] + [(ln.color, ln.label) for ln in lines])
    return c.done()


def timeseries(sets: Sequence[PointSet], *, title: str, xlabel: str, ylabel: str, zero: bool = True) -> str:
    """Values over time (x already in display units, e.g. minutes), one colour per set."""
    xr = _range([s.x for s in sets], pad=0.01)
    yr = _range([s.y for s in sets])
    c = _Canvas(title, xlabel, ylabel, xr, yr)
    if zero and yr[0] < 0 < yr[1]:
        c.line(Line(0.0, 0.0, "#888", "", dash=True))
    for s in sets:
        c.points(s, size=1.8)
    c.legend([(s.color, s.label) for s in sets])
    return c.done()


def histogram(values: FloatArray, *, title: str, xlabel: str, bins: int = 60, color: str = "#1f77b4") -> str:
    """Distribution of the error."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        c = _Canvas(title, xlabel, "pairs", (0.0, 1.0), (0.0, 1.0))
        return c.done()
    lo, hi = _range([v], pad=0.0)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    c = _Canvas(
        title, xlabel, "pairs", (float(edges[0]), float(edges[-1])), (0.0, float(counts.max()) * 1.08 or 1.0)
    )
    for n, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        if n:
            c.rect(float(a), float(b), 0.0, float(n), color)
    return c.done()
