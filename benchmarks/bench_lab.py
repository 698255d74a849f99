"""A lab of N benches into one server: what one InfluxDB 1.x and one VictoriaMetrics take.

For N = 1, 5, 20, 50 (``--quick``: 1, 5) separate bench processes (``lab_worker.py``: benchgui's
recorder and forwarder fed at the real bench's rates, 38 points/s each) write for a while into
one server on this machine; then every bench drains. Measured per server and N:

* points/s the server accepted (samples counted on the server / producing time),
* forwarder lag p99 over all benches (age of the oldest unacknowledged sample, sampled 4×/s),
* server CPU (% of one core) and peak RSS while the benches write,
* samples lost (stored locally but not on the server — must be 0),

and the largest N each server holds with lag p99 ≤ 5 s. Both servers and all benches share this
machine's cores, so the numbers are a floor for a dedicated server.

Run with ``make bench`` or ``python benchmarks/run.py lab [--quick]``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Result, cpu_s, rss_mb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchgui.testing import influxd, victoriametrics  # noqa: E402

SAMPLE_MEASUREMENTS = ("battery", "solar", "charger", "soc", "mppt", "load")
LAG_TARGET_S = 5.0
POINTS_PER_BENCH = 38.0  # lab_worker.points_per_second(): the real bench's rates


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class _Server:
    """One server under test, started on construction; subclasses prepare it and count samples."""

    name: str
    version: int

    def __init__(self, srv: influxd.InfluxServer | victoriametrics.VictoriaServer) -> None:
        self.srv = srv
        self.srv.start()

    @property
    def url(self) -> str:
        return self.srv.url

    @property
    def pid(self) -> int:
        assert self.srv.proc is not None
        return self.srv.proc.pid

    def prepare(self, database: str) -> None:
        pass

    def counts(self, database: str, benches: list[str]) -> dict[str, int]:
        raise NotImplementedError

    def stop(self) -> None:
        self.srv.stop()


class _Influx(_Server):
    name = "InfluxDB 1.6"
    version = 1

    def __init__(self, root: Path) -> None:
        self.influx = influxd.InfluxServer(root)
        super().__init__(self.influx)

    def prepare(self, database: str) -> None:
        self.influx.create_db(database)

    def counts(self, database: str, benches: list[str]) -> dict[str, int]:
        out = dict.fromkeys(benches, 0)
        for m in SAMPLE_MEASUREMENTS:
            for bench, fields in self.influx.counts_by(database, m, "bench").items():
                if bench in out:
                    out[bench] += sum(fields.values())
        return out


class _Victoria(_Server):
    name = "VictoriaMetrics"
    version = 2

    def __init__(self, root: Path) -> None:
        self.victoria = victoriametrics.VictoriaServer(root)
        super().__init__(self.victoria)

    def counts(self, database: str, benches: list[str]) -> dict[str, int]:
        """Raw samples per bench from /api/v1/export (exact; a range query would round the end)."""
        names = "|".join(SAMPLE_MEASUREMENTS)
        out = dict.fromkeys(benches, 0)
        for series in self.victoria.export(f'{{__name__=~"({names})_.*",bench=~"{"|".join(benches)}"}}'):
            out[series["metric"]["bench"]] += len(series["values"])
        return out


def _run_lab(server: _Server, n: int, duration_s: float, tmp: Path) -> dict[str, float]:
    tag = f"n{n}-{int(time.time())}"
    database = f"lab_{tag.replace('-', '_')}"
    server.prepare(database)
    benches = [f"{tag}-b{i}" for i in range(n)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for b in benches:
        cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / "lab_worker.py"),
            "--bench", b,
            "--store", str(tmp / f"{b}.sqlite3"),
            "--url", server.url,
            "--version", str(server.version),
            "--database", database,
            "--duration", str(duration_s),
            "--report", str(tmp / f"{b}.json"),
        ]  # fmt: skip
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    cpu0, t0, peak_rss = cpu_s(server.pid), time.monotonic(), 0.0
    while time.monotonic() - t0 < duration_s:
        peak_rss = max(peak_rss, rss_mb(server.pid))
        time.sleep(0.5)
    cpu_pct = 100.0 * (cpu_s(server.pid) - cpu0) / (time.monotonic() - t0)
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode:
            raise RuntimeError(f"lab worker failed: {err.decode(errors='replace')[-500:]}")
    reports = [json.loads((tmp / f"{b}.json").read_text()) for b in benches]
    on_server = server.counts(database, benches)
    stored = {r["bench"]: r["stored"] for r in reports}
    lost = sum(max(0, stored[b] - on_server.get(b, 0)) for b in benches)
    lags = [x for r in reports for x in r["lags"]]
    return {
        "points_s": sum(on_server.values()) / duration_s,
        "lag_p99_s": _p99(lags),
        "lag_median_s": statistics.median(lags) if lags else 0.0,
        "cpu_pct": cpu_pct,
        "rss_mb": peak_rss,
        "lost": float(lost),
        "undrained": float(sum(1 for r in reports if not r["drained"])),
    }


def _drain_rate(server: _Server, tmp: Path, n_samples: int) -> float:
    """Points/s one forwarder delivers from a stored backlog: the server's intake for one client."""
    from benchgui.model import Channel, SessionMeta
    from benchgui.recording.forward import Forwarder
    from benchgui.recording.influx_config import InfluxTarget
    from benchgui.recording.sinks import make_sink
    from benchgui.recording.store import Store

    database = f"drain_{int(time.time())}"
    server.prepare(database)
    path = tmp / "backlog.sqlite3"
    t0 = time.time_ns() - n_samples * 10**6
    with Store(path) as store:
        sid = store.create_session(t0, SessionMeta(kind="demo", bench="drain"))
        key = store.channel_key(Channel.of("battery.voltage", "labjack", "V"))
        store.insert_samples(sid, [(key, t0 + i * 10**6, 12.0 + i * 1e-6, 0) for i in range(n_samples)])
    if server.version == 1:
        target = InfluxTarget(1, server.url, database=database)
    else:
        target = InfluxTarget(2, server.url, org="lab", bucket=database, token="unused")
    with Store(path) as store:
        sink = make_sink(target)
        t = time.perf_counter()
        with Forwarder(store, sink) as fwd:
            fwd.drain()
        rate = n_samples / (time.perf_counter() - t)
        sink.close()
    return rate


def run(quick: bool = False) -> list[Result]:
    ns = (1, 5) if quick else (1, 5, 20, 50)
    duration_s = 15.0 if quick else 45.0
    results: list[Result] = []
    for make in (_Influx, _Victoria):
        with tempfile.TemporaryDirectory(prefix="bench-lab-") as d:
            tmp = Path(d)
            server = make(tmp / "server")
            try:
                largest = 0
                for n in ns:
                    work = tmp / f"n{n}"
                    work.mkdir()
                    m = _run_lab(server, n, duration_s, work)
                    label = f"{server.name}, {n:>2} benches"
                    results += [
                        Result(f"{label}: points/s accepted", m["points_s"], "pt/s"),
                        Result(
                            f"{label}: forwarder lag p99",
                            m["lag_p99_s"],
                            "s",
                            f"<= {LAG_TARGET_S:.0f} s",
                            m["lag_p99_s"] <= LAG_TARGET_S,
                            note=f"median {m['lag_median_s']:.2f} s",
                        ),
                        Result(f"{label}: server CPU", m["cpu_pct"], "% core"),
                        Result(f"{label}: server peak RSS", m["rss_mb"], "MB"),
                        Result(
                            f"{label}: samples lost",
                            m["lost"],
                            "samples",
                            "0",
                            m["lost"] == 0 and not m["undrained"],
                        ),
                    ]
                    if m["lag_p99_s"] <= LAG_TARGET_S and m["lost"] == 0:
                        largest = n
                drain = _drain_rate(server, tmp, 100_000 if quick else 300_000)
                results.append(
                    Result(
                        f"{server.name}: backlog drain, one forwarder",
                        drain,
                        "pt/s",
                        note=f"= {drain / POINTS_PER_BENCH:,.0f} benches' worth of live data "
                        f"({POINTS_PER_BENCH:.0f} pt/s each)",
                    )
                )
                results.append(
                    Result(
                        f"{server.name}: largest N tried with lag p99 <= 5 s",
                        float(largest),
                        "benches",
                        note=f"tried N = {', '.join(map(str, ns))}; {duration_s:.0f} s each, all on this machine",
                    )
                )
            finally:
                server.stop()
    return results
