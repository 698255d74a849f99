"""The SOC gauge: the running estimate, its ±3σ band, where it is heading, and the comparisons.

Big percentage of the SPKF estimate; a bar with the ±3σ band; a trend arrow with the rate at
the present current; time to empty (discharging) or to full (charging) at that current; the
MPPT's own ``soc.mppt`` and plain coulomb counting beside it; a small trend plot of the last
hour with the band. It reads ``bench.services.soc.latest`` and the display buffers on a
timer — no I/O, no signals from other threads.

SOC is shown within 0…100 % (the filter may run past the ends for a while; the status line says
so) and the band is clipped there too. The trend keeps its own hour, one point per
``TREND_STEP_S`` of bench time, taken from the display buffers as they fill: those hold a fixed
number of samples, at the estimator's rate only minutes, not the hour the plot promises.

What it costs (issue 19): the dock refreshes its texts every 0.5 s, but the trend plot is redrawn
only when its history gained or changed a point and at most once per pixel column of its hour
(:meth:`SocGauge.trend_column_s`, bench time), and the bar repaints only when what it shows moved.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from benchgui.core.bench import Bench
from benchgui.core.soc_service import OPERATOR_HOW, SocEstimate, SocService
from benchgui.errors import ValueOutOfRange
from benchgui.widgets.host import PanelHost
from benchgui.widgets.soc_start_dialog import AskStart, StartChoice, ask_start_over

TREND_S = 3600.0
TREND_STEP_S = 5.0  # one trend point per 5 s of bench time: 720 points for the hour
TREND_MAX_COLUMN_S = 60.0  # the history is read at least this often: the display buffers hold minutes
TREND_CHANNELS = ("soc.spkf", "soc.spkf.sigma3", "soc.mppt", "soc.coulomb")
HOW = {  # how the estimator started, in words
    "configured": "started from the configured guess ([soc] initial_soc_pct): the battery was not at rest",
    "from rested voltage": "started from the rested battery voltage",
}


def how_text(how: str) -> str:
    """How the estimator started, in words for the status line."""
    if how in HOW:
        return HOW[how]
    if how.startswith(OPERATOR_HOW):
        return f"started at the SOC {how}"
    return f"started {how}"


def clamp_pct(value: float) -> float:
    return min(max(value, 0.0), 100.0)


class TrendHistory:
    """The last ``span_s`` of some display channels, one point per ``step_s`` (the last sample
    of each step), appended from the display buffers on every refresh."""

    def __init__(self, names: tuple[str, ...], span_s: float = TREND_S, step_s: float = TREND_STEP_S) -> None:
        self.span_s, self.step_s = span_s, step_s
        self.points: dict[str, deque[tuple[float, float]]] = {n: deque() for n in names}

    def update(self, bench: Bench) -> bool:
        """Take the new samples in; True when a point was added or changed (worth a redraw)."""
        changed = False
        for name, points in self.points.items():
            buf = bench.display.get(name)
            if buf is None:
                continue
            after = points[-1][0] if points else -math.inf
            t, v = buf.window(after if math.isfinite(after) else 0.0)
            t, v = np.asarray(t), np.asarray(v)
            keep = t > after
            t, v = t[keep], v[keep]
            if not len(t):
                continue
            step = np.floor(t / self.step_s)
            last_of_step = np.r_[step[1:] != step[:-1], True]
            if points and math.floor(points[-1][0] / self.step_s) == step[0]:
                points.pop()  # its step goes on: the newer sample stands for it
            points.extend(zip(t[last_of_step].tolist(), v[last_of_step].tolist(), strict=True))
            changed = True
            while points and points[0][0] < points[-1][0] - self.span_s:
                points.popleft()
        return changed

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        pts = self.points[name]
        if not pts:
            return np.empty(0), np.empty(0)
        arr = np.asarray(pts)
        return arr[:, 0], arr[:, 1]


def fmt_duration(seconds: float | None) -> str:
    """``2 h 05 min`` / ``17 min`` / ``> 99 h``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    if seconds >= 99 * 3600:
        return "> 99 h"
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def trend_text(est: SocEstimate, rest_a: float) -> tuple[str, str]:
    """(arrow, words) for the direction SOC is moving at the present current."""
    if est.current_a > rest_a:
        return "▲", f"charging {est.soc_pct_per_h:+.1f} %/h"
    if est.current_a < -rest_a:
        return "▼", f"discharging {est.soc_pct_per_h:+.1f} %/h"
    return "▶", "resting"


class SocBar(QWidget):
    """A horizontal 0…100 % bar: the estimate as a fill, ±3σ as a translucent band, and tick
    marks for the comparison values (MPPT, coulomb counting)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.soc: float | None = None
        self.sigma3 = 0.0
        self.marks: dict[str, tuple[float, QColor]] = {}
        self._painted: tuple[object, ...] = ()
        self.setMinimumHeight(34)

    def set_values(self, soc: float | None, sigma3: float, marks: dict[str, tuple[float, QColor]]) -> None:
        """Repaints only when something moved by a pixel (the dock refreshes every 0.5 s; most
        refreshes change nothing the bar can show)."""
        shown = self._shown(soc, sigma3, marks)
        self.soc, self.sigma3, self.marks = soc, sigma3, marks
        if shown != self._painted:
            self._painted = shown
            self.update()

    def _shown(
        self, soc: float | None, sigma3: float, marks: dict[str, tuple[float, QColor]]
    ) -> tuple[object, ...]:
        """What the bar would draw, in whole pixels of its present width."""
        px = max(self.width(), 1) / 100.0

        def col(pct: float) -> int:
            return round(min(max(pct, 0.0), 100.0) * px)

        band = None if soc is None else (col(soc), col(soc - sigma3), col(soc + sigma3))
        return (self.width(), band, tuple((k, col(v), c.rgba()) for k, (v, c) in sorted(marks.items())))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(2, 6, -2, -6)
        p.setPen(QPen(QColor(90, 90, 90), 1))
        p.setBrush(QColor(245, 245, 245))
        p.drawRect(r)

        def x(pct: float) -> float:
            return r.left() + r.width() * min(max(pct, 0.0), 100.0) / 100.0

        if self.soc is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(148, 103, 189, 200))
            p.drawRect(QRectF(r.left(), r.top(), x(self.soc) - r.left(), r.height()))
            lo, hi = x(self.soc - self.sigma3), x(self.soc + self.sigma3)
            p.setBrush(QColor(148, 103, 189, 70))
            p.drawRect(QRectF(lo, r.top() - 4, hi - lo, r.height() + 8))
        for value, color in self.marks.values():
            p.setPen(QPen(color, 3))
            p.drawLine(int(x(value)), int(r.top() - 5), int(x(value)), int(r.bottom() + 5))
        p.end()


class SocGauge(QWidget):
    """Shows one :class:`SocService`; refreshed by :meth:`refresh` (a timer calls it)."""

    MPPT = QColor(214, 39, 40)
    COULOMB = QColor(44, 160, 44)
    pause_when_hidden = True  # its timer only redraws this dock (MainWindow._pause_timers)
    #: how "Start over…" asks the operator (tests inject one that answers at once)
    ask_start: AskStart = staticmethod(ask_start_over)  # type: ignore[assignment]

    def __init__(self, bench: Bench, service: SocService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.service = service
        self.history = TrendHistory(TREND_CHANNELS)
        self._next_trend_t = -math.inf  # bench time of the next trend update (one pixel column on)
        self.trend_draws = 0  # how often the trend plot was handed new data
        self._setup_ui()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(500)
        self.refresh()

    def _tick(self) -> None:
        if self.isVisible():  # a closed dock costs nothing (behind a tab: MainWindow pauses the timer)
            self.refresh()

    def _setup_ui(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        top = QGridLayout()
        self.percent = QLabel("—")
        big = QFont()
        big.setPointSize(40)
        big.setBold(True)
        self.percent.setFont(big)
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.arrow = QLabel("")
        af = QFont()
        af.setPointSize(30)
        self.arrow.setFont(af)
        self.band = QLabel("")
        bf = QFont()
        bf.setPointSize(14)
        self.band.setFont(bf)
        self.band.setWordWrap(True)  # "± 28.1 % (3σ) · coulomb counting only" fits a narrow dock
        top.addWidget(self.percent, 0, 0, 2, 1)
        top.addWidget(self.arrow, 0, 1)
        top.addWidget(self.band, 1, 1)
        top.setColumnStretch(0, 1)
        lay.addLayout(top)
        self.bar = SocBar()
        lay.addWidget(self.bar)
        self.trend = QLabel("")
        self.eta = QLabel("")
        ef = QFont()
        ef.setPointSize(13)
        self.eta.setFont(ef)
        lay.addWidget(self.trend)
        eta_row = QHBoxLayout()  # the command beside the numbers: visible without scrolling
        eta_row.addWidget(self.eta, 1)
        self.start_over_button = QPushButton("Start over…")
        self.start_over_button.setToolTip(
            "Start the estimate again: from the battery's voltage, or at a SOC you know"
        )
        self.start_over_button.clicked.connect(self._ask_start_over)
        eta_row.addWidget(self.start_over_button)
        lay.addLayout(eta_row)
        grid = QGridLayout()
        self.mppt = QLabel("—")
        self.coulomb = QLabel("—")
        for row, (caption, label, color) in enumerate(
            (("MPPT (own estimate)", self.mppt, self.MPPT), ("Coulomb counting", self.coulomb, self.COULOMB))
        ):
            c = QLabel(f"<span style='color:{color.name()}'>■</span> {caption}")
            grid.addWidget(c, row, 0)
            label.setAlignment(Qt.AlignmentFlag.AlignRight)
            f = QFont()
            f.setPointSize(15)
            label.setFont(f)
            grid.addWidget(label, row, 1)
        lay.addLayout(grid)
        self.trend_plot = pg.PlotWidget()
        self.trend_plot.setMinimumHeight(140)
        self.trend_plot.setLabel("left", "SOC", units="%")
        self.trend_plot.showGrid(x=True, y=True, alpha=0.25)
        self.trend_plot.setAxisItems({"bottom": pg.DateAxisItem(orientation="bottom")})
        self.trend_plot.enableAutoRange(axis="y", enable=False)
        self.trend_plot.setYRange(0, 100, padding=0.02)  # SOC lives in 0…100 %
        self.trend_plot.setLimits(yMin=-2, yMax=102)
        self.soc_curve = self.trend_plot.plot(pen=pg.mkPen((148, 103, 189), width=2))
        self.band_hi = self.trend_plot.plot(pen=pg.mkPen((148, 103, 189, 60)))
        self.band_lo = self.trend_plot.plot(pen=pg.mkPen((148, 103, 189, 60)))
        self.fill = pg.FillBetweenItem(self.band_hi, self.band_lo, brush=pg.mkBrush(148, 103, 189, 50))
        self.trend_plot.addItem(self.fill)
        self.mppt_curve = self.trend_plot.plot(pen=pg.mkPen(self.MPPT, width=1))
        self.cc_curve = self.trend_plot.plot(pen=pg.mkPen(self.COULOMB, width=1, style=Qt.PenStyle.DashLine))
        lay.addWidget(self.trend_plot, 1)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #666;")
        lay.addWidget(self.status)

    # -- commands ----------------------------------------------------------------------------
    def _ask_start_over(self) -> None:
        est = self.service.latest
        self.ask_start(self, None if est is None else clamp_pct(est.soc_pct), self.start_over)

    def start_over(self, choice: StartChoice | None) -> None:
        """Hand the operator's answer to the estimator (None: they cancelled)."""
        if choice is None:
            return
        try:
            self.service.start_over(choice.soc_pct, choice.sigma_pct)
        except ValueOutOfRange as exc:  # the dialog's ranges prevent it; say so if not
            self.status.setText(f"Not started over: {exc}")
            return
        self.refresh()

    # -- refresh -----------------------------------------------------------------------------
    def refresh(self) -> None:
        est = self.service.latest
        mppt = self.bench.display.latest("soc.mppt")
        self.mppt.setText("—" if mppt is None else f"{mppt[1]:.0f} %")
        m = self.service.model
        if est is None:
            self.percent.setText("—")
            self.band.setText("")
            self.arrow.setText("")
            self.trend.setText("")
            self.eta.setText("")
            self.coulomb.setText("—")
            self.bar.set_values(None, 0.0, {})
            self.status.setText(
                f"Waiting for {self.service.voltage_channel} and {self.service.current_channel} "
                f"(model: {m.name})"
            )
            return
        soc = clamp_pct(est.soc_pct)
        self.percent.setText(f"{soc:.1f} %")
        # on a flat OCV the voltage cannot tell SOC apart: say so rather than imply it does
        only_cc = " · coulomb counting only" if est.coulomb_only else ""
        self.band.setText(f"± {est.sigma3_pct:.1f} % (3σ){only_cc}")
        self.band.setToolTip(
            "The voltage cannot tell SOC apart here (the cell's OCV is flat): the estimate follows "
            "the current alone and its band grows until the voltage says something again."
            if est.coulomb_only
            else "The estimate combines the current with what the voltage says."
        )
        arrow, words = trend_text(est, m.rest_current_a())
        self.arrow.setText(arrow)
        self.trend.setText(f"{words} at {est.current_a:+.2f} A")
        if est.time_to_empty_s is not None:
            self.eta.setText(f"empty in {fmt_duration(est.time_to_empty_s)} at this current")
        elif est.time_to_full_s is not None:
            self.eta.setText(f"full in {fmt_duration(est.time_to_full_s)} at this current")
        else:
            self.eta.setText("")
        self.coulomb.setText(f"{clamp_pct(est.coulomb_pct):.1f} %")
        marks = {"coulomb": (clamp_pct(est.coulomb_pct), self.COULOMB)}
        if mppt is not None:
            marks["mppt"] = (clamp_pct(mppt[1]), self.MPPT)
        self.bar.set_values(soc, est.sigma3_pct, marks)
        f = self.service.filter
        rejected = (
            f"; {f.rejected} readings rejected as sensor faults" if f is not None and f.rejected else ""
        )
        past = f"; the estimate is {est.soc_pct:.1f} %, shown as {soc:.0f} %" if soc != est.soc_pct else ""
        how = how_text(est.initial_how)
        self.status.setText(
            f"{self.service.voltage_channel} + {self.service.current_channel}; model: {m.name}; "
            f"{how}{past}{rejected}"
        )
        self._plot()

    def trend_column_s(self) -> float:
        """Bench seconds per pixel column of the trend plot: redrawing more often moves nothing
        on the screen. At least one history step, at most :data:`TREND_MAX_COLUMN_S`."""
        width = self.trend_plot.getViewBox().width()
        column = TREND_S / width if width >= 1 else TREND_STEP_S
        return min(max(column, TREND_STEP_S), TREND_MAX_COLUMN_S)

    def _plot(self) -> None:
        latest = self.bench.display.latest("soc.spkf")
        now = None if latest is None else float(latest[0])
        if now is not None and self._next_trend_t - TREND_MAX_COLUMN_S <= now < self._next_trend_t:
            return  # not one pixel column further since the last redraw (earlier: time went back)
        if now is not None:
            self._next_trend_t = now + self.trend_column_s()
        if not self.history.update(self.bench):
            return
        self.trend_draws += 1
        t, v = self.history.series("soc.spkf")
        ts, s3 = self.history.series("soc.spkf.sigma3")
        self.soc_curve.setData(t, np.clip(v, 0.0, 100.0))
        if len(ts) == len(t):
            self.band_hi.setData(t, np.clip(v + s3, 0.0, 100.0))
            self.band_lo.setData(t, np.clip(v - s3, 0.0, 100.0))
        tm, vm = self.history.series("soc.mppt")
        self.mppt_curve.setData(tm, np.clip(vm, 0.0, 100.0))
        tc, vc = self.history.series("soc.coulomb")
        self.cc_curve.setData(tc, np.clip(vc, 0.0, 100.0))


def create_panel(window: PanelHost, bench: Bench) -> QWidget | None:
    """Add the SOC dock when the bench runs an estimator (``[soc] enabled``)."""
    service = bench.services.soc
    if service is None:
        return None
    gauge = SocGauge(bench, service)
    window.add_panel("State of charge", gauge)
    return gauge
