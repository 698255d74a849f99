"""What a soak run found: its settings, the counts per instrument, and the checks that judge them.

Kept apart from the run itself (:mod:`benchgui.soak.run`) so the judgement can be tested on
made-up counts, without running a bench.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgui.soak.faults import FaultLog
from benchgui.soak.influx import InfluxCounts

POLL_CHANNEL = {
    "load": "battery.voltage.load",
    "mppt": "battery.voltage.mppt",
    "labjack": "battery.voltage.labjack",
}


@dataclass(frozen=True)
class SoakSettings:
    hours: float = 24.0  # simulated
    speed: float = 1000.0
    fault_every_min: tuple[float, float] = (3.0, 10.0)  # simulated minutes between faults
    outage_min: tuple[float, float] = (0.5, 3.0)  # simulated minutes a device stays unplugged
    #: the MPPT's publication period (simulated s). The simulated line runs at 115200 baud in real
    #: time (a statement of ~300 bytes takes 26 ms), so at 1000x the default 1 s would ask for
    #: 1000 statements a real second where the line carries 38: the simulator would drop lines
    #: as an overrun UART does and queue answers behind them. The soak tests faults, not
    #: throughput (that is ``make bench``): every 60 s, half the line at 1000x.
    mppt_period_s: float = 60.0
    load_a: float = 1.0
    load_on_min: float = 20.0  # of every simulated hour
    seed: int = 1
    warmup_fraction: float = 0.1  # RSS baseline after this part of the run (≥ 1.1 h: buffers full)
    max_rss_growth_mb: float = 50.0
    store_path: Path | None = None  # None: a temporary store, deleted afterwards
    faults: Sequence[str] | None = None  # fault names to use (None: all that apply)
    #: forward to a private influxd and take it down as a fault (None: when one is installed)
    influxd: bool | None = None


@dataclass
class InstrumentCounts:
    instrument: str
    produced: int = 0
    produced_what: str = ""
    published_polls: int = 0  # samples on the instrument's poll channel
    published_samples: int = 0  # all channels of the instrument
    stored_samples: int = 0
    #: both counted only while the source was connected (see :class:`_Windows`)
    produced_connected: int = 0
    published_connected: int = 0
    faults: int = 0
    reconnects: int = 0
    retries: int = 0  # polls sent again after a damaged or missing answer (each costs an answer)
    note: str = ""

    @property
    def missing(self) -> int:
        """Produced while connected, yet not published: cut off at the instant of a fault."""
        return self.produced_connected - self.published_connected


@dataclass
class SoakReport:
    settings: SoakSettings
    simulated_h: float = 0.0
    real_s: float = 0.0
    instruments: dict[str, InstrumentCounts] = field(default_factory=dict)
    channels_published: Counter[str] = field(default_factory=Counter)
    channels_stored: Counter[str] = field(default_factory=Counter)
    faults: FaultLog = field(default_factory=FaultLog)
    load_on_min: float = 0.0
    load_commands: Counter[str] = field(default_factory=Counter)
    load_off_at_end: bool | None = None
    #: events recorded in the session, by kind (setpoints, connections, safety trips once the
    #: supervisor is on the bench …)
    events: Counter[str] = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    influx: InfluxCounts | None = None  # None: no InfluxDB in this run
    rss_start_mb: float = 0.0
    rss_warm_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_warm_mb

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, bool(ok), detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "simulated_h": self.simulated_h,
            "real_s": round(self.real_s, 1),
            "speed": self.settings.speed,
            "instruments": {k: {**vars(v), "missing": v.missing} for k, v in self.instruments.items()},
            "samples_published": sum(self.channels_published.values()),
            "samples_stored": sum(self.channels_stored.values()),
            "faults": dict(self.faults.counts),
            "load_on_min": round(self.load_on_min, 1),
            "load_commands": dict(self.load_commands),
            "load_off_at_end": self.load_off_at_end,
            "events": dict(self.events),
            "influx": None if self.influx is None else vars(self.influx),
            "tracebacks": self.tracebacks,
            "internal_errors": self.internal_errors,
            "rss_mb": {
                "start": round(self.rss_start_mb, 1),
                "after_warmup": round(self.rss_warm_mb, 1),
                "end": round(self.rss_end_mb, 1),
                "peak": round(self.rss_peak_mb, 1),
                "growth": round(self.rss_growth_mb, 1),
            },
            "checks": [{"check": n, "ok": ok, "detail": d} for n, ok, d in self.checks],
            "ok": self.ok,
        }

    def to_text(self) -> str:
        lines = [
            f"soak: {self.simulated_h:.1f} simulated hours at {self.settings.speed:g}x"
            f" in {self.real_s:.0f} s",
            "",
            f"{'':<10} {'--------- whole run ---------':>29}  {'---- while connected ----':>27}",
            f"{'instrument':<10} {'produced':>9} {'published':>9} {'stored':>9}  {'produced':>9}"
            f" {'published':>9} {'missing':>7}  {'samples':>10} {'rows':>10} {'faults':>6} {'reconn':>6}",
        ]
        for c in self.instruments.values():
            stored = self.channels_stored[POLL_CHANNEL.get(c.instrument, "")]
            lines.append(
                f"{c.instrument:<10} {c.produced:>9,} {c.published_polls:>9,} {stored:>9,}  "
                f"{c.produced_connected:>9,} {c.published_connected:>9,} {c.missing:>7}"
                f"  {c.published_samples:>10,} {c.stored_samples:>10,} {c.faults:>6} {c.reconnects:>6}"
            )
        lines += [
            "  produced: "
            + "; ".join(f"{c.instrument} = {c.produced_what}" for c in self.instruments.values()),
            "  published / stored: polls or statements that became samples / rows (the poll channel);"
            " samples / rows: every channel of the instrument",
            "  missing: produced while the source was connected, never published (cut off by a fault);"
            " negative: read late out of the port's buffer (MPPT)",
        ]
        lines += [f"  {c.instrument}: {c.note}" for c in self.instruments.values() if c.note]
        total_pub, total_st = sum(self.channels_published.values()), sum(self.channels_stored.values())
        lines += [
            f"all channels: {total_pub:,} samples published, {total_st:,} stored",
            "faults: " + (", ".join(f"{k} {v}" for k, v in sorted(self.faults.counts.items())) or "none"),
            f"load: input on for {self.load_on_min:.0f} simulated min; commands "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.load_commands.items()))
            + f"; off at the end: {self.load_off_at_end}",
            "events: " + (", ".join(f"{k} {v}" for k, v in sorted(self.events.items())) or "none"),
            self._influx_text(),
            f"RSS: start {self.rss_start_mb:.0f} MB, after warm-up {self.rss_warm_mb:.0f} MB, end "
            f"{self.rss_end_mb:.0f} MB (growth {self.rss_growth_mb:+.1f} MB), peak {self.rss_peak_mb:.0f} MB",
            "",
        ]
        for name, ok, detail in self.checks:
            lines.append(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        lines.append("soak passed" if self.ok else "soak FAILED")
        return "\n".join(lines)

    def _influx_text(self) -> str:
        i = self.influx
        if i is None:
            return "InfluxDB: not in this run (no influxd installed, or --no-influxd)"
        return (
            f"InfluxDB ({i.url}): {i.sent_live:,} points forwarded live, {i.drained_at_end:,} samples "
            f"drained after the run, {i.in_influx:,} sample values of the session in InfluxDB"
            + (f"; error: {i.error}" if i.error else "")
        )


def judge(r: SoakReport) -> None:
    """Add every check to the report (``report.ok`` is then the verdict)."""
    r.check(
        "nothing crashed (no traceback, no unhandled task exception)",
        not r.tracebacks,
        "; ".join(r.tracebacks[:3]),
    )
    r.check(
        "no source restarted after an internal error", not r.internal_errors, "; ".join(r.internal_errors[:3])
    )
    r.check("the load drew current part of the time", r.load_on_min > 0, f"{r.load_on_min:.0f} min")
    r.check("the load input is off at the end (on the device)", r.load_off_at_end is True)
    lost = {
        n: r.channels_published[n] - r.channels_stored[n]
        for n in r.channels_published
        if r.channels_published[n] != r.channels_stored[n]
    }
    r.check(
        "every published sample is in the store (per channel)",
        not lost and sum(r.channels_stored.values()) > 0,
        f"{sum(r.channels_stored.values()):,} rows"
        if not lost
        else f"differences {dict(list(lost.items())[:4])}",
    )
    if r.influx is not None:
        stored = sum(r.channels_stored.values())
        r.check(
            "every stored sample is in InfluxDB, once (after its outages)",
            not r.influx.error and r.influx.in_influx == stored,
            r.influx.error or f"{r.influx.in_influx:,} in InfluxDB, {stored:,} stored",
        )
    for c in r.instruments.values():
        if c.produced_what:
            # a fault cuts at most a few polls; far more missing would be a leak, not a fault
            bound = 3 * c.faults + c.reconnects + 1 + c.retries
            r.check(
                f"{c.instrument}: produced while connected = published, but what faults cut",
                c.published_polls <= c.produced and -(c.reconnects + 1) <= c.missing <= bound,
                f"{c.produced_connected:,} produced, {c.published_connected:,} published,"
                f" {c.missing} missing (at most {bound}: 3 per fault, 1 per reconnect and retry)",
            )
        r.check(f"{c.instrument}: data during the run", c.published_polls > 0, f"{c.published_polls:,} polls")
    r.check(
        f"RSS growth ≤ {r.settings.max_rss_growth_mb:g} MB after warm-up",
        bool(r.rss_warm_mb) and r.rss_growth_mb <= r.settings.max_rss_growth_mb,
        f"{r.rss_growth_mb:+.1f} MB",
    )
