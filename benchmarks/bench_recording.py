"""Recording benchmarks: into the local store, through the forwarder to a real influxd, backlogs.

* store ingest: samples/s the recorder commits, fed in bench-sized batches as fast as possible;
  baseline: one transaction per batch (what a naive recorder does);
* forwarder to influxd 1.x (Debian's 1.6.7, on loopback): points/s while recording (the
  forwarder must keep up with a 50 k/s bench) and the drain rate of a stored backlog; baseline:
  small uncompressed batches (100 points per request);
* a 1 h outage: ``benchgui record --headless --demo`` for one simulated hour with InfluxDB away —
  RSS must stay flat (the backlog waits on disk, not in memory) — then ``benchgui forward
  --once`` drains that hour: its rate and its peak RSS.

Run with ``make bench`` or ``python benchmarks/run.py recording [--quick]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Result, cpu_s, rss_mb

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000_000_000_000


def _channels():  # type: ignore[no-untyped-def]
    from benchgui.model import Channel

    return [
        Channel.of(f"battery.{q}", src, u)
        for q, u in (("voltage", "V"), ("current", "A"))
        for src in ("labjack", "mppt", "load")
    ]


def bench_store_ingest(quick: bool) -> list[Result]:
    from benchgui.core.recorder import Recorder
    from benchgui.model import Sample, SessionMeta
    from benchgui.recording.store import Store

    n = 300_000 if quick else 1_000_000
    batch = 60  # ~ what the bench publishes per poll of all instruments
    names = [c.name for c in _channels()]
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recorder(Path(tmp) / "s.sqlite3")
        rec.add_channels(_channels())
        rec.start()
        rec.start_session(T0, SessionMeta(kind="demo"))
        batches = [
            [Sample(names[j % 6], T0 + (i + j) * 1000, 12.0 + j * 1e-4) for j in range(batch)]
            for i in range(0, n, batch)
        ]
        t, cpu = time.perf_counter(), time.process_time()
        for b in batches:
            rec.on_samples(b)
        ok = rec.flush(120)
        dt = time.perf_counter() - t
        cpu = time.process_time() - cpu
        rec.close()
        rate = n / dt
        # baseline: one executemany + commit per batch, like a recorder without a writer thread
        nb = min(n, 100_000)
        with Store(Path(tmp) / "naive.sqlite3") as store:
            sid = store.create_session(T0, SessionMeta())
            keys = {c.name: store.channel_key(c) for c in _channels()}
            t = time.perf_counter()
            for b in batches[: nb // batch]:
                store.insert_samples(sid, [(keys[s.channel], s.t_ns, s.value, 0) for s in b])
            base = nb / (time.perf_counter() - t)
    return [
        Result(
            "store ingest through the recorder (60-sample batches)",
            rate,
            "pts/s",
            ">= 50,000",
            ok and rate >= 50_000,
            base,
            "baseline: one transaction per batch",
        ),
        Result(
            "store ingest CPU per point (all threads)",
            cpu / n * 1e6,
            "µs",
            "",
            None,
            None,
            f"{1e6 / (cpu / n * 1e6):,.0f} pts/s per busy core; the machine was shared while measuring",
        ),
    ]


def _fill(path: Path, n: int, seconds: float) -> str:
    from benchgui.model import SessionMeta
    from benchgui.recording.store import Store

    chans = _channels()
    step = int(seconds * 1e9 / max(1, n // len(chans)))
    with Store(path) as store:
        sid = store.create_session(T0, SessionMeta("bench", "B1", "", "demo"))
        keys = [store.channel_key(c) for c in chans]
        chunk = 120_000
        for start in range(0, n, chunk):
            rows = [
                (keys[i % len(keys)], T0 + (i // len(keys)) * step, 12.0 + (i % 1000) * 1e-3, 0)
                for i in range(start, min(n, start + chunk))
            ]
            store.insert_samples(sid, rows)
        store.end_session(sid, T0 + int(seconds * 1e9))
    return sid


def bench_forwarder(quick: bool) -> list[Result]:
    from benchgui.core.forwarder import ForwarderService
    from benchgui.core.recorder import Recorder
    from benchgui.model import Sample, SessionMeta
    from benchgui.recording.forward import Forwarder
    from benchgui.recording.influx_config import InfluxTarget
    from benchgui.recording.points import PointEncoder
    from benchgui.recording.sinks import Influx1Sink
    from benchgui.recording.store import Store
    from benchgui.testing.influxd import InfluxServer

    results: list[Result] = []
    n = 199_998 if quick else 999_996  # a multiple of the 6 channels
    with tempfile.TemporaryDirectory() as tmp:
        server = InfluxServer(Path(tmp) / "influxd")
        server.start()
        try:
            # 1. drain a stored backlog
            server.create_db("drain")
            path = Path(tmp) / "backlog.sqlite3"
            _fill(path, n, 3600)
            target = InfluxTarget(1, server.url, database="drain")
            with Store(path) as store:
                enc = PointEncoder(store)
                rows = store.samples_after(0, 200_000)
                t = time.perf_counter()
                for r in rows:
                    enc.sample_line(*r[1:])
                encode_rate = len(rows) / (time.perf_counter() - t)
                sink = Influx1Sink(target)
                assert server.proc is not None
                t, cpu, srv_cpu = time.perf_counter(), time.process_time(), cpu_s(server.proc.pid)
                with Forwarder(store, sink, target.batch_size) as fwd:
                    total = fwd.drain()
                drain_dt = time.perf_counter() - t
                cpu = time.process_time() - cpu
                srv_cpu = cpu_s(server.proc.pid) - srv_cpu
                sink.close()
            assert total.samples_sent == n, total
            got = server.count("drain", "battery", "voltage_v")
            drain_rate = n / drain_dt
            # baseline: 100 points per request, no gzip
            server.create_db("naive")
            nb = min(n, 100_000)
            path_b = Path(tmp) / "naive.sqlite3"
            _fill(path_b, nb, 600)
            tb = InfluxTarget(1, server.url, database="naive", gzip=False, batch_size=100)
            with Store(path_b) as store:
                sink = Influx1Sink(tb)
                t = time.perf_counter()
                with Forwarder(store, sink, tb.batch_size, pipeline=1) as fwd:
                    fwd.drain()
                base = nb / (time.perf_counter() - t)
                sink.close()
            results += [
                Result(
                    "forwarder: backlog drain into influxd 1.x",
                    drain_rate,
                    "pts/s",
                    ">= 50,000",
                    drain_rate >= 50_000 and got == n // 2,
                    base,
                    f"{n:,} points in {drain_dt:.1f} s ({got:,} voltage_v in InfluxDB), batches of {target.batch_size}, gzip; "
                    "baseline: 100 per request, plain, no overlap",
                ),
                Result("line encoding from store rows (no network)", encode_rate, "lines/s"),
                Result(
                    "CPU per forwarded point: benchgui / influxd",
                    cpu / n * 1e6,
                    "µs",
                    "",
                    None,
                    None,
                    f"influxd {srv_cpu / n * 1e6:.1f} µs/pt; with the next batch encoded while influxd "
                    f"works, one free core each allows ~{n / max(cpu, srv_cpu, 1e-9):,.0f} pts/s",
                ),
            ]
            # 2. forwarding while recording at 50 k samples/s
            server.create_db("live")
            live_path = Path(tmp) / "live.sqlite3"
            rec = Recorder(live_path)
            rec.add_channels(_channels())
            rec.start()
            rec.start_session(T0, SessionMeta(kind="demo"))
            svc = ForwarderService(live_path, InfluxTarget(1, server.url, database="live", interval_s=0.2))
            svc.start()
            names = [c.name for c in _channels()]
            rate_in, seconds = 50_000, (4 if quick else 10)
            per_tick, tick = rate_in // 20, 0.05
            sent = 0
            t_start = time.perf_counter()
            next_t = t_start
            while time.perf_counter() - t_start < seconds:
                rec.on_samples(
                    [Sample(names[j % 6], T0 + (sent + j) * 20_000, 12.0) for j in range(per_tick)]
                )
                sent += per_tick
                next_t += tick
                time.sleep(max(0.0, next_t - time.perf_counter()))
            rec.flush(60)
            fed_dt = time.perf_counter() - t_start
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                st = svc.state
                if st.backlog == 0 and st.sent_points >= sent:
                    break
                time.sleep(0.05)
            live_dt = time.perf_counter() - t_start
            lag = live_dt - fed_dt
            svc.close()
            rec.close()
            live_rate = sent / live_dt
            fed_rate = sent / fed_dt
            results += [
                Result(
                    "forwarder lag behind a recording fed at 50 k samples/s",
                    lag,
                    "s",
                    "<= 1 s",
                    lag <= 1.0,
                    None,
                    f"{sent:,} points; all in InfluxDB {lag:.2f} s after the last was recorded",
                ),
                Result(
                    "record + forward in one process, end to end (store → influxd)",
                    live_rate,
                    "pts/s",
                    "",
                    None,
                    None,
                    f"the feeding loop reached {fed_rate:,.0f}/s of the 50,000/s asked: building "
                    "Samples, storing and forwarding share one Python process on 2 cores; the "
                    "forwarder alone drains at the rate above",
                ),
            ]
        finally:
            server.stop()
    return results


def bench_outage(quick: bool) -> list[Result]:
    """One simulated hour recorded with InfluxDB away, then drained by `benchgui forward --once`."""
    from benchgui.testing.influxd import InfluxServer, free_port

    speed = 360 if quick else 60  # 1 h of bench time in 10 s / 60 s
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "s.sqlite3"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BENCHGUI_DATA_DIR": tmp,
            "BENCHGUI_CONFIG_DIR": tmp,
            "BENCHGUI_INFLUX_URL": f"http://127.0.0.1:{free_port()}",  # nobody there
            "BENCHGUI_INFLUX_VERSION": "1",
            "BENCHGUI_INFLUX_DATABASE": "bench",
        }
        cmd = [sys.executable, "-m", "benchgui", "--store", str(store), "record", "--headless", "--demo"]
        proc = subprocess.Popen(
            [*cmd, "--speed", str(speed), "--duration", "3600"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        rss: list[tuple[float, float]] = []
        t0 = time.monotonic()
        while proc.poll() is None:
            rss.append((time.monotonic() - t0, rss_mb(proc.pid)))
            time.sleep(0.2)
        proc.communicate()
        settled = [r for t, r in rss if t > 3 and r > 0]  # after imports and start-up
        first, last, peak = settled[0], settled[-1], max(settled)
        server = InfluxServer(Path(tmp) / "influxd")
        server.start()
        try:
            server.create_db("bench")
            env["BENCHGUI_INFLUX_URL"] = server.url
            t = time.perf_counter()
            fwd = subprocess.Popen(
                [*cmd[:5], "forward", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            fwd_rss = []
            while fwd.poll() is None:
                fwd_rss.append(rss_mb(fwd.pid))
                time.sleep(0.05)
            out, err = fwd.communicate()
            dt = time.perf_counter() - t
            sent = int(out.decode().split("forwarded ")[1].split()[0]) if fwd.returncode == 0 else 0
        finally:
            server.stop()
    return [
        Result(
            "RSS growth of `record` over a 1 h InfluxDB outage",
            last - first,
            "MB",
            "<= 10 MB",
            last - first <= 10,
            None,
            f"RSS {first:.0f} → {last:.0f} MB (peak {peak:.0f}) while 1 h of samples queued on disk",
        ),
        Result(
            "`forward --once` draining that 1 h backlog (incl. start-up)",
            sent / dt if dt else 0.0,
            "pts/s",
            "",
            None,
            None,
            f"{sent:,} points in {dt:.1f} s; peak RSS {max(fwd_rss or [0]):.0f} MB; exit {fwd.returncode} {err.decode()[-200:]}",
        ),
    ]


def run(quick: bool = False) -> list[Result]:
    sys.path.insert(0, str(ROOT))
    return [*bench_store_ingest(quick), *bench_forwarder(quick), *bench_outage(quick)]
