"""Soak: the whole simulated bench for many simulated hours, with faults, then a count of everything.

:func:`soak` assembles the demo bench — the wire-level simulators on real ptys and a real
loopback Modbus port, read by the real drivers — at ``speed`` × real time, records one session,
draws current with the EA load for part of every hour, and injects a fault every few simulated
minutes (:mod:`benchgui.soak_faults`: instruments unplugged and plugged back, garbage on the
line, InfluxDB stopped and started; the set is pluggable), dealt like cards: every kind once, in
random order, then again. When Debian's ``influxd`` is
installed, the bench forwards to a private one (:mod:`benchgui.soak_influx`) and the report also
counts the session's samples in InfluxDB. At the end it heals everything, stops the bench (load off, session
closed, store flushed) and compares counts at three points of every instrument's path:

* **produced** — what the simulator put on its wire: the EA's answers to actual-value queries
  (object 71; each complete poll needs one), the MPPT's publication statements written to the
  pty in full, the T7's answered AIN block reads;
* **published** — samples the bench's sources made of it (one ``battery.voltage.<id>`` sample per
  complete poll or statement; all channels counted too);
* **stored** — rows of the session in the local store.

Stored must equal published, channel by channel: nothing the bench accepted is lost. Published
may fall short of produced only by what a fault cut off (an answer on its way when the cable
went, a statement hit by garbage, a poll retried after a damaged answer) — the report shows that
difference beside the faults that explain it. Plus: nothing crashed (no traceback logged, no
unhandled task exception, no source restarted after an internal error), the load is off on the
device at the end, and the process grew by at most ``max_rss_growth_mb`` after the warm-up
(ring buffers full).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import random
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgui.assembly import Assembly, assemble
from benchgui.config import LoadedConfig
from benchgui.config.schema import MpptSection
from benchgui.errors import BenchError
from benchgui.model import InstrumentState, InstrumentStatus, Sample, SessionMeta
from benchgui.recording import influxd
from benchgui.soak_faults import Fault, FaultLog, default_faults
from benchgui.soak_influx import InfluxCounts, SoakInflux

log = logging.getLogger(__name__)

#: the channel that gets exactly one sample per complete poll / statement of each instrument
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
    #: the MPPT's publication period (simulated s). At 1000x the default 1 s asks the host for
    #: 1000 statements a real second — more than a busy 2-core machine reads beside the rest of
    #: the bench, and the simulator then drops lines as an overrun UART would. The soak tests
    #: faults, not throughput (that is ``make bench``), so it publishes every 5 s by default.
    mppt_period_s: float = 5.0
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


def rss_mb() -> float:
    """Resident set size of this process now (Linux)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Tracebacks(logging.Handler):
    """Collects every log record that carries a traceback (a crash somewhere)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(f"{record.name}: {record.getMessage()}")


async def soak(
    loaded: LoadedConfig,
    settings: SoakSettings,
    progress: Callable[[str], None] | None = None,
    extra_faults: Sequence[Fault] = (),
) -> SoakReport:
    """Run the soak; returns the report (``report.ok`` says whether every check passed).
    ``extra_faults`` join the simulators' own (e.g. an InfluxDB outage)."""
    report = SoakReport(settings)
    report.rss_start_mb = report.rss_peak_mb = rss_mb()
    if settings.influxd and not influxd.available():
        raise BenchError(f"--influxd: {influxd.INFLUXD} is not installed (apt-get install influxdb)")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="benchgui-soak-")))
        store = settings.store_path or tmp / "soak.sqlite3"
        influx: SoakInflux | None = None
        if settings.influxd is not False and influxd.available():
            influx = SoakInflux(tmp / "influxd")
            stack.callback(influx.stop)
            try:
                await influx.start()
            except (RuntimeError, OSError) as exc:
                raise BenchError(
                    f"the soak's private influxd did not start ({exc}); --no-influxd runs without"
                ) from exc
            loaded = influx.configure(loaded)
            extra_faults = [*extra_faults, influx.fault()]
        await _run(loaded, settings, store, report, progress or (lambda _: None), extra_faults, influx)
    return report


async def _run(
    loaded: LoadedConfig,
    s: SoakSettings,
    store: Path,
    report: SoakReport,
    progress: Callable[[str], None],
    extra_faults: Sequence[Fault],
    influx: SoakInflux | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    unhandled: list[str] = []
    old_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _l, ctx: unhandled.append(str(ctx.get("exception") or ctx["message"])))
    tracebacks = _Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    t0 = time.monotonic()
    asm = await assemble(
        _with_mppt_period(loaded, s.mppt_period_s), demo=True, speed=s.speed, store_path=store
    )
    bench = asm.bench
    published = report.channels_published
    statuses: list[InstrumentStatus] = []

    def count(samples: Sequence[Sample]) -> None:
        published.update(x.channel for x in samples)

    bench.samples_published.connect(count)
    bench.status_changed.connect(statuses.append)
    bench.event_recorded.connect(lambda e: report.events.update([e.kind]))
    windows = _Windows(asm, published)
    bench.status_changed.connect(windows.on_status)
    rng = random.Random(s.seed)
    faults = default_faults(asm, s.faults, extra_faults)
    sid = ""
    try:
        await bench.start()
        sid = bench.start_session(SessionMeta(notes="soak", kind="demo")).id
        # the instruments connect in real time, which at 1000x is simulated minutes: the run (and
        # its first fault) starts once they are up, or a slow machine would unplug an instrument
        # that never connected
        await _all_connected(asm, 20.0)
        duration_s = s.hours * 3600.0
        tasks = [
            asyncio.create_task(_inject_faults(asm, faults, s, rng, report.faults), name="soak-faults"),
            asyncio.create_task(_drive_load(asm, s, report), name="soak-load"),
            asyncio.create_task(_watch_rss(asm, s, report, progress), name="soak-rss"),
        ]
        await bench.clock.sleep(duration_s)
        report.simulated_h = s.hours
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for f in faults:
            await f.heal()
        await _all_connected(asm, 20.0)
        windows.close_all()
        if bench.load is not None:  # what an operator does at the end (and Bench.stop again)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bench.load.set_input(False), 5.0)
        if influx is not None:
            influx.note_live(bench.services.forwarder)
    finally:
        await asm.aclose()  # load off, session ended, store flushed, simulators stopped
        logging.getLogger().removeHandler(tracebacks)
        loop.set_exception_handler(old_handler)
    report.real_s = time.monotonic() - t0
    report.rss_end_mb = rss_mb()
    report.rss_peak_mb = max(report.rss_peak_mb, report.rss_end_mb)
    report.tracebacks = tracebacks.records + unhandled
    report.internal_errors = [
        f"{st.instrument}: {st.text}"
        for st in statuses
        if st.state is InstrumentState.ERROR and "internal" in st.text
    ]
    report.channels_stored.update(_stored(store, sid))
    if influx is not None and sid:
        report.influx = await influx.finish(store, sid)
    ea_sim = getattr(bench.sources.get("load"), "simulator", None)
    report.load_off_at_end = None if ea_sim is None else not ea_sim.device.input_on
    _count_instruments(asm, report, windows)
    _judge(report)


def _with_mppt_period(loaded: LoadedConfig, period_s: float) -> LoadedConfig:
    cfg = loaded.config
    mppt = dataclasses.replace(cfg.instruments.mppt or MpptSection(), publication_period_s=period_s)
    instruments = dataclasses.replace(cfg.instruments, mppt=mppt)
    return dataclasses.replace(loaded, config=dataclasses.replace(cfg, instruments=instruments))


async def _inject_faults(
    asm: Assembly, faults: list[Fault], s: SoakSettings, rng: random.Random, flog: FaultLog
) -> None:
    """Inject a fault every ``fault_every_min``. Faults are dealt from a shuffled deck, so every
    kind comes up once in each round: how many faults fit into the run depends on how fast the
    machine injects and heals them (simulated minutes pass during that too), and a short run on a
    slow machine must still see every kind."""
    clock = asm.bench.clock
    if not faults:
        return
    deck: list[Fault] = []
    while True:
        await clock.sleep(60.0 * rng.uniform(*s.fault_every_min))
        if not deck:
            deck = list(faults)
            rng.shuffle(deck)
        fault = deck.pop()
        await fault.inject(rng)
        flog.add(fault)
        if fault.outage:
            await clock.sleep(60.0 * rng.uniform(*s.outage_min))
            await fault.heal()


async def _drive_load(asm: Assembly, s: SoakSettings, report: SoakReport) -> None:
    """Draw ``load_a`` for the first ``load_on_min`` minutes of every simulated hour; keep
    insisting through faults (a command fails while the load is unplugged)."""
    bench, load = asm.bench, asm.bench.load
    ea_sim = getattr(bench.sources.get("load"), "simulator", None)
    if load is None:
        return
    t0 = bench.clock.monotonic()
    while True:
        minute = ((bench.clock.monotonic() - t0) / 60.0) % 60.0
        want = minute < s.load_on_min
        if load.input_on is not None and load.input_on != want:
            try:
                if want:
                    await load.set_current(s.load_a)
                await load.set_input(want)
                report.load_commands["on" if want else "off"] += 1
            except Exception as exc:  # not connected, a refusal: try again next minute
                report.load_commands["failed"] += 1
                log.debug("soak: load command failed: %s", exc)
        if ea_sim is not None and ea_sim.device.input_on:
            report.load_on_min += 0.5
        await bench.clock.sleep(30.0)


async def _watch_rss(
    asm: Assembly, s: SoakSettings, report: SoakReport, progress: Callable[[str], None]
) -> None:
    clock = asm.bench.clock
    # ring buffers hold 65 min: full after 1.1 h; a short run takes its middle instead
    warm_at = min(max(s.warmup_fraction * s.hours, 1.1), s.hours / 2) * 3600.0
    t0 = clock.monotonic()
    next_report = 3600.0
    while True:
        await clock.sleep(300.0)
        now = clock.monotonic() - t0
        rss = rss_mb()
        report.rss_peak_mb = max(report.rss_peak_mb, rss)
        if not report.rss_warm_mb and now >= warm_at:
            report.rss_warm_mb = rss
        if now >= next_report:
            next_report += 3600.0
            progress(
                f"{now / 3600:.0f} h: {sum(report.channels_published.values()):,} samples, RSS {rss:.0f} MB"
            )


async def _all_connected(asm: Assembly, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(src.status.state is InstrumentState.CONNECTED for src in asm.bench.sources.values()):
            return
        await asyncio.sleep(0.05)
    log.warning("soak: not every instrument connected within %.0f s", timeout_s)


def _stored(store: Path, session_id: str) -> Counter[str]:
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT c.name, count(*) FROM samples s JOIN channels c ON c.key = s.channel "
            "JOIN sessions x ON x.key = s.session WHERE x.id = ? GROUP BY c.name",
            (session_id,),
        ).fetchall()
    return Counter({name: n for name, n in rows})


@dataclass(frozen=True)
class _Producer:
    """What an instrument's simulator put on its wire, as it counts it."""

    count: Callable[[], int]
    what: str


def _producers(asm: Assembly) -> dict[str, _Producer]:
    counters: dict[str, tuple[Callable[[Any], int], str]] = {
        "load": (lambda sim: sim.answers_by_object[71], "actual-value answers (object 71) written"),
        "mppt": (lambda sim: sim.statements_written, "statements written in full"),
        "labjack": (lambda sim: sim.device.reads, "AIN block reads answered"),
    }
    out: dict[str, _Producer] = {}
    for sid, src in asm.bench.sources.items():
        sim = getattr(src, "simulator", None)
        if sim is not None and sid in counters:
            count, what = counters[sid]
            out[sid] = _Producer(functools.partial(count, sim), what)
    return out


class _Windows:
    """Counts, per instrument, what its simulator produced and its source published while the
    source was connected (status ``connected``): there the two must match, but for what a
    fault cuts at its instant. Outside those windows they differ for good reasons (the MPPT
    publishes into a port nobody has open; a source publishes while it sets a device up).

    One blur remains: what the simulator wrote just before a window opened and the source read
    just after counts as published but not as produced in the window. Only the MPPT, which
    publishes without being asked, ahead of a busy host, shows it: its "missing" can be
    negative (statements read late out of the port's buffer, not a loss)."""

    def __init__(self, asm: Assembly, published: Counter[str]) -> None:
        self.producers = _producers(asm)
        self.published = published
        self.produced: Counter[str] = Counter()
        self.heard: Counter[str] = Counter()
        self._open: dict[str, tuple[int, int]] = {}

    def _now(self, sid: str) -> tuple[int, int]:
        return self.producers[sid].count(), self.published[POLL_CHANNEL.get(sid, "")]

    def on_status(self, status: InstrumentStatus) -> None:
        sid = status.instrument
        if sid not in self.producers:
            return
        if status.state is InstrumentState.CONNECTED:
            self._open.setdefault(sid, self._now(sid))
        elif sid in self._open:
            self._close(sid)

    def close_all(self) -> None:
        for sid in list(self._open):
            self._close(sid)

    def _close(self, sid: str) -> None:
        (p0, s0), (p1, s1) = self._open.pop(sid), self._now(sid)
        self.produced[sid] += p1 - p0
        self.heard[sid] += s1 - s0


def _count_instruments(asm: Assembly, report: SoakReport, windows: _Windows) -> None:
    producers = _producers(asm)
    for sid, src in asm.bench.sources.items():
        c = InstrumentCounts(sid, reconnects=src.status.reconnects, faults=report.faults.by_instrument[sid])
        chans = [ch.name for ch in src.channels()]
        c.published_samples = sum(report.channels_published[n] for n in chans)
        c.stored_samples = sum(report.channels_stored[n] for n in chans)
        c.published_polls = report.channels_published[POLL_CHANNEL.get(sid, "")]
        if sid in producers:
            c.produced, c.produced_what = producers[sid].count(), producers[sid].what
            c.produced_connected, c.published_connected = windows.produced[sid], windows.heard[sid]
        if sid == "load":
            stats = src.driver.stats  # type: ignore[attr-defined]
            c.retries = stats.retries
            c.note = (
                f"driver retries {stats.retries}, timeouts {stats.timeouts},"
                f" corrupt answers {stats.corrupt_answers}, stale answers {stats.stale_answers}"
            )
        elif sid == "mppt":
            sim = getattr(src, "simulator", None)
            dropped = sim.dropped_lines if sim is not None else 0
            c.note = (
                f"statements read {src.snapshot.statements}, bad lines {src.bad_lines},"  # type: ignore[attr-defined]
                f" lines the simulator dropped (host too slow) {dropped}"
            )
        report.instruments[sid] = c


def _judge(r: SoakReport) -> None:
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
