"""The verification service: live from published samples, stored sessions from the store."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from benchgui.clock import WallClock
from benchgui.config import load_config
from benchgui.config.schema import VerifySection
from benchgui.core.bench import Bench
from benchgui.core.verification import LIVE, VerificationService, verify_session
from benchgui.errors import SessionNotFound, StoreError
from benchgui.model import Sample, SessionMeta
from tests.helpers import wait_until
from tests.verify import synth


def publish_session(bench: Bench, channels, batch_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Publish synthetic channels in time order, a minute of readings per call (as sources would)."""
    rows = sorted(
        (int(t), name, float(v)) for name, (ts, vs) in channels.items() for t, v in zip(ts, vs, strict=True)
    )
    batch: list[Sample] = []
    edge = rows[0][0] + int(batch_s * 1e9)
    for t, name, v in rows:
        if t >= edge:
            bench.publish(batch)
            batch = []
            edge += int(batch_s * 1e9)
        batch.append(Sample(name, t, v))
    bench.publish(batch)


@pytest.fixture
def bench() -> Bench:
    return Bench(WallClock(), [], None)


def test_live_statistics_follow_the_published_samples(bench: Bench) -> None:
    settings = dataclasses.replace(VerifySection(), live_interval_s=3600)  # only when asked
    svc = VerificationService(bench, settings)
    seen = []
    svc.result_ready.connect(seen.append)
    try:
        bench.start_session(SessionMeta(operator="op"))
        publish_session(bench, synth.session(seed=21))
        v = svc.refresh_live().result(timeout=30)
        assert v is not None
        assert v.live
        assert v.meta.session_id == bench.session.id
        c = v.result.get("battery.current", "mppt")
        assert c.summary.gain.contains(1.03)
        assert c.summary.offset.contains(0.02)
        assert seen == [v]
        assert svc.latest[LIVE] is v
        # a new session starts from nothing
        bench.start_session()
        assert LIVE not in svc.latest
        empty = svc.refresh_live().result(timeout=30)
        assert empty is not None
        assert empty.result.comparisons == []
    finally:
        svc.close()


def test_live_result_comes_from_the_timer_after_a_burst(bench: Bench) -> None:
    """All data published at once (a fast machine, a replay), then silence: a result still comes."""
    settings = dataclasses.replace(VerifySection(), live_interval_s=0.2)
    svc = VerificationService(bench, settings)
    assert not svc.live_enabled  # nobody watches yet: no CPU spent
    try:
        bench.publish([Sample("soc.mppt", 1, 50.0), Sample("solar.voltage.mppt", 1, 18.0)])
        publish_session(bench, synth.session(seed=22))
        assert svc.computations == 0  # samples alone never compute
        svc.live_enabled = True  # as the view does; no sample arrives after this
        wait_until(lambda: LIVE in svc.latest, timeout=60, what="first live result")
        assert "soc.mppt" not in svc._live
        assert "solar.voltage.mppt" not in svc._live
        assert svc.latest[LIVE].result.get("battery.current", "mppt").summary.gain.contains(1.03)
    finally:
        svc.close()
    assert not svc.live_enabled


def test_live_recomputes_while_samples_trickle_in_and_rests_when_nothing_changes(bench: Bench) -> None:
    settings = dataclasses.replace(VerifySection(), live_interval_s=0.2)
    svc = VerificationService(bench, settings)
    svc.live_enabled = True
    try:
        channels = synth.session(seed=22)
        publish_session(bench, channels)
        wait_until(lambda: LIVE in svc.latest, timeout=60, what="first live result")
        # more samples keep arriving: the service recomputes by itself
        t0 = int(max(t[-1] for t, _ in channels.values())) + 10**9
        for k in range(3):
            before = svc.computations
            bench.publish([Sample("battery.current.mppt", t0 + k, 0.0)])
            wait_until(lambda b=before: svc.computations > b, timeout=60, what=f"recomputation {k + 1}")
        # nothing new: timer periods pass without computing
        wait_until(lambda: svc.live_up_to_date, timeout=60, what="the last samples computed")
        done, ticks = svc.computations, svc.ticks
        wait_until(lambda: svc.ticks >= ticks + 3, timeout=60, what="three idle timer periods")
        assert svc.computations == done
        # a tick with nothing new returns nothing; a tick after new data computes
        assert svc.tick() is None
        bench.publish([Sample("battery.voltage.mppt", t0 + 10, 13.0)])
        svc.live_enabled = False  # the timer stops; a manual tick still works
        fut = svc.tick()
        assert fut is not None
        assert fut.result(timeout=60) is not None
    finally:
        svc.close()


def test_live_memory_is_bounded(bench: Bench) -> None:
    settings = dataclasses.replace(VerifySection(), live_interval_s=3600, live_max_points=1000)
    svc = VerificationService(bench, settings)
    try:
        for k in range(10):
            bench.publish([Sample("battery.current.labjack", k * 1000 + i, 0.0) for i in range(500)])
            svc.refresh_live().result(timeout=30)
        assert svc._live["battery.current.labjack"].size <= 1500
    finally:
        svc.close()


def test_live_readings_are_bounded_by_the_window_of_bench_time(bench: Bench) -> None:
    """Issue 23: every live computation re-reads what is kept, so kept since the session started
    it grew without end (the GUI soak's memory growth and CPU creep); now the last
    ``live_window_s`` of bench time, counted from the newest reading."""
    settings = dataclasses.replace(VerifySection(), live_interval_s=3600, live_window_s=60.0)
    svc = VerificationService(bench, settings)
    try:
        t0 = 1_700_000_000 * 10**9
        for minute in range(10):  # one reading a second, sealed a minute at a time
            base = t0 + minute * 60 * 10**9
            bench.publish([Sample("battery.current.labjack", base + i * 10**9, float(i)) for i in range(60)])
            svc.refresh_live().result(timeout=30)
        live = svc._live["battery.current.labjack"]
        t = np.concatenate([c[0] for c in live.chunks])
        newest = t0 + (9 * 60 + 59) * 10**9
        assert t.max() == newest
        assert t.min() == newest - 60 * 10**9  # exactly the window, the older part of a chunk cut
        assert live.size == len(t) == 61
        # a session longer than the window verifies its last part only
        v = svc.refresh_live().result(timeout=30)
        assert v is not None
    finally:
        svc.close()


def test_stored_session_is_verified_on_the_worker_thread(bench: Bench, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    sid = synth.store_session(store, synth.session(seed=23, ref_period_s=0.5))
    svc = VerificationService(bench, VerifySection(), store)
    seen = []
    svc.result_ready.connect(seen.append)
    try:
        assert [s.id for s in svc.sessions()] == [sid]
        v = svc.analyse_session(sid[:10]).result(timeout=60)
        assert v.origin == sid
        assert v.meta.info["instruments"]["mppt"]["serial"] == "ABC123"
        assert v.meta.operator == "tester"
        assert v.result.get("battery.current", "mppt").summary.gain.contains(1.03)
        assert seen == [v]
        with pytest.raises(SessionNotFound):
            svc.analyse_session("nope").result(timeout=30)
        # the report is written off the GUI thread and announced
        written = []
        svc.report_written.connect(lambda p, e: written.append((p, e)))
        svc.write_report(v, tmp_path / "r" / "report.html", tmp_path / "r" / "stats.json").result(timeout=60)
        assert written == [(tmp_path / "r" / "report.html", None)]
        assert (tmp_path / "r" / "stats.json").stat().st_size > 1000
    finally:
        svc.close()


def test_without_a_store() -> None:
    svc = VerificationService(Bench(WallClock(), [], None), VerifySection(), None)
    try:
        assert svc.sessions() == []
        with pytest.raises(StoreError):
            svc.analyse_session("x")
    finally:
        svc.close()


def test_verify_session_reads_only_what_it_needs(tmp_path: Path) -> None:
    channels = synth.session(seed=24, ref_period_s=0.5)
    channels["soc.mppt"] = (
        channels["battery.current.mppt"][0],
        np.full(len(channels["battery.current.mppt"][0]), 50.0),
    )
    sid = synth.store_session(tmp_path / "s.sqlite3", channels)
    v = verify_session(tmp_path / "s.sqlite3", "latest", VerifySection())
    assert v.origin == sid
    assert len(v.result.comparisons) == 2  # the load is absent: listed as missing
    assert len(v.result.missing) == 2


async def test_the_assembly_attaches_the_service(tmp_path: Path) -> None:
    from benchgui.assembly import assemble

    asm = await assemble(load_config(None), demo=True, store_path=tmp_path / "s.sqlite3", wire=False)
    try:
        svc = asm.bench.services.verify
        assert isinstance(svc, VerificationService)
        assert svc.store_path == tmp_path / "s.sqlite3"
    finally:
        await asm.aclose()
