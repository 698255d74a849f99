"""Replay of a stored session through a bench: order, timestamps, pace, annotations afterwards."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import pytest

from benchgui.core.replay import ReplayClock, ReplaySource, replay_bench
from benchgui.errors import SessionNotFound, ValueOutOfRange
from benchgui.model import Channel, Sample, SessionMeta
from benchgui.recording.store import Store
from tests.helpers import async_wait_until

T0 = 1_622_238_848_000_000_000
CH = [Channel.of("battery.voltage", "mppt", "V"), Channel.of("battery.current", "mppt", "A")]


def make_session(path: Path, seconds: int = 300) -> str:
    """Two channels at 1 Hz, one NaN, and a repeated timestamp across channels."""
    with Store(path) as store:
        sid = store.create_session(T0, SessionMeta("op", "B2", "", "import"))
        keys = [store.channel_key(c) for c in CH]
        rows = []
        for i in range(seconds):
            rows.append((keys[0], T0 + i * 10**9, 12.0 + i / 1000, 0))
            rows.append((keys[1], T0 + i * 10**9 + 500_000_000, None if i == 7 else -1.0, 2 if i == 8 else 0))
        store.insert_samples(sid, rows[::-1])  # stored out of order: replay sorts by time
        store.end_session(sid, T0 + seconds * 10**9)
    return sid


async def test_replay_publishes_every_sample_in_time_order_with_original_times(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = make_session(path)
    bench, service = replay_bench(path, sid[:12], speed=1000)
    got: list[Sample] = []
    bench.samples_published.connect(got.extend)
    assert bench.recorder is None  # a replay records nothing again
    assert service.session.id == sid
    assert {c.name for c in bench.channels.values()} == {c.name for c in CH}
    t_start = time.monotonic()
    await bench.start()
    try:
        src = bench.sources["replay"]
        assert isinstance(src, ReplaySource)
        await async_wait_until(lambda: src.finished, 30, what="the replay to finish")
    finally:
        await bench.stop()
    assert len(got) == 600
    assert [s.t_ns for s in got] == sorted(s.t_ns for s in got)
    assert got[0] == Sample("battery.voltage.mppt", T0, 12.0, 0)
    nan = [s for s in got if math.isnan(s.value)]
    assert [(s.channel, s.t_ns) for s in nan] == [("battery.current.mppt", T0 + 7_500_000_000)]
    assert [s.flags for s in got if s.channel == "battery.current.mppt"][8] == 2
    # 300 s of session at 1000x take about 0.3 s: at least that, never "instantly"
    assert time.monotonic() - t_start >= 0.25
    assert service.position_s() == pytest.approx((T0 + 299_500_000_000) / 1e9)


async def test_the_clock_is_the_session_time(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = make_session(path, 3600)
    bench, _ = replay_bench(path, sid, speed=100)
    await bench.start()
    try:
        src = bench.sources["replay"]
        assert isinstance(src, ReplaySource)
        await async_wait_until(lambda: src.published > 20, 30, what="samples")
        now = bench.clock.now_ns()
        assert T0 < now < T0 + 3600 * 10**9
        newest = src.position_ns
        assert newest is not None
        assert newest <= now  # nothing is published before its time
    finally:
        await bench.stop()


async def test_notes_made_during_a_replay_are_stored_in_the_replayed_session(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = make_session(path, 60)
    bench, service = replay_bench(path, sid, speed=10)
    await bench.start()
    try:
        ev = bench.annotate("voltage dip here")
    finally:
        await bench.stop()
        await service.aclose()
    with Store(path, readonly=True) as store:
        notes = store.events(sid, "annotation")
    assert [(e.t_ns, e.text) for e in notes] == [(ev.t_ns, "voltage dip here")]
    assert T0 <= ev.t_ns < T0 + 60 * 10**9  # at the replayed time, not today


def test_replay_clock_stands_still_while_held() -> None:
    clock = ReplayClock(1000.0, start_ns=T0)
    clock.restart()
    clock.hold()
    a = clock.now_ns()
    time.sleep(0.01)
    assert clock.now_ns() == a
    clock.release()
    time.sleep(0.01)
    assert clock.now_ns() > a


def test_bad_requests(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    make_session(path, 5)
    with pytest.raises(ValueOutOfRange, match="1…1000"):
        replay_bench(path, "latest", speed=5000)
    with pytest.raises(SessionNotFound):
        replay_bench(path, "nope")
    with Store(path) as store:
        empty = store.create_session(T0, SessionMeta())
    with pytest.raises(ValueOutOfRange, match="no samples"):
        replay_bench(path, empty)


async def test_stopping_mid_replay_is_prompt(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = make_session(path, 3600)
    bench, _ = replay_bench(path, sid, speed=1)
    await bench.start()
    src = bench.sources["replay"]
    assert isinstance(src, ReplaySource)
    await async_wait_until(lambda: src.published > 0, 30, what="the replay to be under way")
    await asyncio.wait_for(bench.stop(), 5)
    assert not src.finished  # an hour at 1x: stopped in the middle
