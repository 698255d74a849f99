"""One synthetic bench for ``bench_lab.py``: benchgui's recorder and forwarder at a bench's rates.

The real recording path (Recorder → local store → ForwarderService → server) fed with samples
at the rates of the real bench instead of the simulators, so that 50 of these fit on a small
machine and the measurement is about the server and the forwarder, not the simulated physics:
LabJack 10 Hz (battery V and I), MPPT 1 Hz (8 channels), load 2 Hz (4 channels), SPKF 1 Hz
(SOC and 3σ), an event every 10 s. Every 0.25 s it notes the forwarder lag: the age of the oldest
sample the server has not acknowledged (0 when nothing waits). At the end it stops producing,
waits until the backlog is empty and writes a JSON report.

Usage: python benchmarks/lab_worker.py --bench NAME --store PATH --url URL --version 1|2
       [--database DB] --duration S --report PATH
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchgui.core.forwarder import ForwarderService  # noqa: E402
from benchgui.core.recorder import Recorder  # noqa: E402
from benchgui.model import Channel, Event, Sample, SessionMeta  # noqa: E402
from benchgui.recording.influx_config import InfluxTarget  # noqa: E402

RATES = {  # channels per source and their rate (Hz), as on the real bench
    "labjack": (10.0, [("battery.voltage", "V"), ("battery.current", "A")]),
    "mppt": (
        1.0,
        [
            ("battery.voltage", "V"),
            ("battery.current", "A"),
            ("battery.power", "W"),
            ("solar.voltage", "V"),
            ("solar.current", "A"),
            ("charger.state", ""),
            ("soc", "%"),
            ("mppt.temperature", "°C"),
        ],
    ),
    "load": (
        2.0,
        [
            ("battery.voltage", "V"),
            ("battery.current", "A"),
            ("battery.power", "W"),
            ("load.current.setpoint", "A"),
        ],
    ),
    "spkf": (1.0, [("soc", "%"), ("soc.sigma3", "%")]),
}
EVENT_EVERY_S = 10.0


def points_per_second() -> float:
    return sum(rate * len(chs) for rate, chs in RATES.values())


def oldest_unacked_ns(db: sqlite3.Connection) -> int | None:
    """t_ns of the first sample behind the forwarder's cursor (None: nothing waits)."""
    try:
        row = db.execute("SELECT MAX(sample_rowid) FROM forward_cursors").fetchone()
        cursor = int(row[0] or 0) if row else 0
        nxt = db.execute(
            "SELECT t_ns FROM samples WHERE rowid > ? ORDER BY rowid LIMIT 1", (cursor,)
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    return int(nxt[0]) if nxt else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--version", type=int, default=1)
    ap.add_argument("--database", default="lab")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--report", type=Path, required=True)
    args = ap.parse_args()

    if args.version == 1:
        target = InfluxTarget(1, args.url, database=args.database, interval_s=1.0, max_backoff_s=5.0)
    else:
        target = InfluxTarget(2, args.url, org="lab", bucket=args.database, token="unused", interval_s=1.0)
    recorder = Recorder(args.store, 0.25)
    recorder.start()
    channels = {
        src: [Channel.of(q, src, unit, rate_hz=rate) for q, unit in chs] for src, (rate, chs) in RATES.items()
    }
    recorder.add_channels([c for chs in channels.values() for c in chs])
    t_start = time.time_ns()
    recorder.start_session(t_start, SessionMeta(kind="demo", bench=args.bench, notes="bench_lab"))
    forwarder = ForwarderService(args.store, target)
    forwarder.start()
    probe = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True, timeout=10)

    produced = 0
    lags: list[float] = []
    next_due = {src: time.monotonic() for src in RATES}
    next_event = time.monotonic() + EVENT_EVERY_S
    next_probe = time.monotonic()
    end = time.monotonic() + args.duration
    ticks = dict.fromkeys(RATES, 0)
    while (now := time.monotonic()) < end:
        t_ns = time.time_ns()
        for src, (rate, _) in RATES.items():
            if now >= next_due[src]:
                next_due[src] += 1.0 / rate
                # acquisition time on the instrument's own schedule, as a real source stamps it
                # (a process that falls behind catches up without two samples in one millisecond)
                t_sample = t_start + int(ticks[src] * 1e9 / rate)
                ticks[src] += 1
                phase = (t_sample - t_start) / 1e9
                batch = [
                    Sample(c.name, t_sample, 12.0 + math.sin(phase + i)) for i, c in enumerate(channels[src])
                ]
                recorder.on_samples(batch)
                produced += len(batch)
        if now >= next_event:
            next_event += EVENT_EVERY_S
            recorder.on_event(Event(t_ns, "program.step", "step: discharge 1 A", {"current_a": 1.0}))
        if now >= next_probe:
            next_probe += 0.25
            oldest = oldest_unacked_ns(probe)
            lags.append(0.0 if oldest is None else max(0.0, (t_ns - oldest) / 1e9))
        time.sleep(max(0.0, min(next_due.values()) - time.monotonic()))
    recorder.end_session(time.time_ns())
    recorder.flush(30)
    drain_deadline = time.monotonic() + 120
    while oldest_unacked_ns(probe) is not None and time.monotonic() < drain_deadline:
        forwarder.wake()
        time.sleep(0.2)
    drained = oldest_unacked_ns(probe) is None
    stored = int(probe.execute("SELECT COUNT(*) FROM samples WHERE value IS NOT NULL").fetchone()[0])
    probe.close()
    forwarder.close(drain_s=5.0)
    recorder.close()
    args.report.write_text(
        json.dumps(
            {"bench": args.bench, "produced": produced, "stored": stored, "lags": lags, "drained": drained}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
