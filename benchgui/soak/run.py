"""The soak run: assemble the demo bench, drive the load, inject faults, then count and judge.

See :mod:`benchgui.soak` for what is counted and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchgui.assembly import Assembly, assemble
from benchgui.config import LoadedConfig
from benchgui.config.schema import MpptSection
from benchgui.errors import BenchError
from benchgui.model import InstrumentState, InstrumentStatus, Sample, SessionMeta
from benchgui.soak.counting import Windows, count_instruments, settle_mppt, stored_counts
from benchgui.soak.faults import Fault, FaultLog, default_faults, simulator_of
from benchgui.soak.influx import SoakInflux
from benchgui.soak.report import SoakReport, SoakSettings, judge
from benchgui.testing import influxd

log = logging.getLogger(__name__)


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
        with_mppt_period(loaded, s.mppt_period_s), demo=True, speed=s.speed, store_path=store
    )
    bench = asm.bench
    published = report.channels_published
    statuses: list[InstrumentStatus] = []

    def count(samples: Sequence[Sample]) -> None:
        published.update(x.channel for x in samples)

    bench.samples_published.connect(count)
    bench.status_changed.connect(statuses.append)
    bench.event_recorded.connect(lambda e: report.events.update([e.kind]))
    windows = Windows(asm, published)
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
        await all_connected(asm, 20.0)
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
        await all_connected(asm, 20.0)
        await settle_mppt(asm)  # nothing left on the MPPT's wire when the windows close
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
    report.channels_stored.update(stored_counts(store, sid))
    if influx is not None and sid:
        report.influx = await influx.finish(store, sid)
    ea_sim = simulator_of(bench.sources.get("load"))
    report.load_off_at_end = None if ea_sim is None else not ea_sim.device.input_on
    count_instruments(asm, report, windows)
    judge(report)


def with_mppt_period(loaded: LoadedConfig, period_s: float) -> LoadedConfig:
    """``loaded`` with the MPPT publishing every ``period_s`` (see ``SoakSettings.mppt_period_s``)."""
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
    ea_sim = simulator_of(bench.sources.get("load"))
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


async def all_connected(asm: Assembly, timeout_s: float) -> None:
    """Until every source is connected (real time: connecting is I/O); a warning after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(src.status.state is InstrumentState.CONNECTED for src in asm.bench.sources.values()):
            return
        await asyncio.sleep(0.05)
    log.warning("soak: not every instrument connected within %.0f s", timeout_s)
