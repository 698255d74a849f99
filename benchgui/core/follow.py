"""Follow a live bench from the central store: ``benchgui --follow BENCH`` (read-only).

A second screen in the office shows a bench without VNC to its Pi: :class:`FollowSource` is an
ordinary :class:`~benchgui.instruments.base.Source` that reads the bench's newest samples from
InfluxDB or VictoriaMetrics every ``interval_s`` (on a worker thread) and publishes them with
their original channel names and timestamps, so the same plots and readouts show them. The
follow bench has no recorder, no load, no charger and no programs: nothing can be sent to the
bench from here. A server that cannot be read is reported in the status bar and read again with
the usual back-off; the data shown is then as old as the status says.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from benchgui.clock import Clock, WallClock, ns_to_s, s_to_ns
from benchgui.config import LoadedConfig
from benchgui.config.identity import check_bench_name
from benchgui.core.bench import Bench
from benchgui.errors import BenchError, ConfigError
from benchgui.instruments.base import SampleSink, Source
from benchgui.model import Channel, InstrumentState
from benchgui.recording.follow_reader import FollowReader, FollowUnavailable, make_reader
from benchgui.recording.influx_config import InfluxTarget, influx_target

log = logging.getLogger(__name__)


class FollowSource(Source):
    id = "follow"

    def __init__(
        self,
        target: InfluxTarget,
        bench_name: str,
        *,
        history_s: float = 600.0,
        interval_s: float = 1.0,
        reader: FollowReader | None = None,
    ) -> None:
        super().__init__()
        self.target = target
        self.bench_name = bench_name
        self.history_s = history_s
        self.interval_s = interval_s
        self._reader = reader
        self.since_ns: int | None = None  # newest sample time published so far
        self.published = 0
        self.reads = 0  # completed reads (tests wait on this, not on time)

    def channels(self) -> list[Channel]:
        return []  # learnt from the data (sink.add_channels), as the followed bench has them

    def info(self) -> dict[str, Any]:
        return {"following": self.bench_name, "server": self.target.describe()}

    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        if self._reader is None:
            try:
                self._reader = await asyncio.to_thread(make_reader, self.target)
            except FollowUnavailable as exc:
                raise BenchError(str(exc)) from None
        return f"following bench {self.bench_name} on {self.target.describe()}"

    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        reader = self._reader
        assert reader is not None
        if self.since_ns is None:
            self.since_ns = time.time_ns() - s_to_ns(self.history_s)
        while True:
            try:
                result = await asyncio.to_thread(reader.read_since, self.bench_name, self.since_ns)
            except FollowUnavailable as exc:
                raise BenchError(str(exc)) from None
            self.reads += 1
            if result.channels:
                sink.add_channels(result.channels)
            if result.samples:
                sink.publish(result.samples)
                self.published += len(result.samples)
                assert result.newest_ns is not None
                self.since_ns = result.newest_ns
            age = ns_to_s(time.time_ns() - self.since_ns)
            if not self.published:
                text = f"bench {self.bench_name}: no data in the last {self.history_s:.0f} s"
            else:
                text = f"following bench {self.bench_name} (newest sample {max(0.0, age):.0f} s old)"
            if text != self.status.text:
                self._set_status(InstrumentState.CONNECTED, text)
            await asyncio.sleep(self.interval_s)


def follow_target(loaded: LoadedConfig, bench: str) -> InfluxTarget:
    """The server to follow ``bench`` on: the configured InfluxDB target (ConfigError if none)."""
    check_bench_name(bench, "--follow")
    target = influx_target(loaded.config.recording.influx, loaded.secrets)
    if target is None:
        raise ConfigError(
            "recording.influx.url",
            "--follow reads the central store: configure it (BENCHGUI_INFLUX_URL and a user or "
            "token with read access)",
        )
    return target


def follow_bench(target: InfluxTarget, bench_name: str, history_s: float = 3900.0) -> Bench:
    """A read-only bench whose only source follows ``bench_name`` on the central store."""
    source = FollowSource(target, bench_name, history_s=min(history_s, 3600.0))
    return Bench(WallClock(), [source], None, history_s=history_s, name=f"{bench_name} (following)")
