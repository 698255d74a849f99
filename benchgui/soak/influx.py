"""InfluxDB in the soak: a private ``influxd`` the bench's forwarder writes to, stopped and
started again as one of the faults, and at the end a count — every sample in the store is in
InfluxDB exactly once.

The server is Debian's InfluxDB 1.x (:mod:`benchgui.testing.influxd`, on free loopback ports,
in a throwaway directory). The outage fault stops it with SIGTERM and starts it again without
waiting for it: the forwarder finds it back by itself, as it would a restarted server. After the
run, what the live forwarder had not delivered yet is drained the way ``benchgui forward
--once`` does it, and then InfluxDB is asked how many values each session's measurements hold.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgui.config import LoadedConfig
from benchgui.recording import influx_schema as schema
from benchgui.recording.forward import Forwarder
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.sinks import Influx1Sink
from benchgui.recording.store import Store
from benchgui.soak.faults import ServiceOutage
from benchgui.testing.influxd import InfluxServer

DATABASE = "soak"
NOT_SAMPLES = {schema.EVENTS_MEASUREMENT, schema.ANNOTATIONS_MEASUREMENT, schema.SESSIONS_MEASUREMENT}


@dataclass
class InfluxCounts:
    url: str
    sent_live: int = 0  # points the forwarder delivered while the bench ran
    drained_at_end: int = 0  # samples left for the final drain after the run
    in_influx: int = 0  # sample values of the session found in InfluxDB
    error: str = ""


class SoakInflux:
    def __init__(self, root: Path) -> None:
        self.server = InfluxServer(root)
        self.counts = InfluxCounts(self.server.url)

    @property
    def target(self) -> InfluxTarget:
        return InfluxTarget(1, self.server.url, database=DATABASE, interval_s=0.5, max_backoff_s=2.0)

    async def start(self) -> None:
        await asyncio.to_thread(self.server.start)
        self.counts.url = self.server.url  # final once it is up (a taken port means new ones)
        await asyncio.to_thread(self.server.create_db, DATABASE)

    def stop(self) -> None:
        self.server.stop()

    def configure(self, loaded: LoadedConfig) -> LoadedConfig:
        """``loaded`` forwarding to this server (environment overrides of the target dropped)."""
        cfg = loaded.config
        t = self.target
        influx = dataclasses.replace(
            cfg.recording.influx,
            url=t.url,
            version=1,
            database=DATABASE,
            interval_s=t.interval_s,
            max_backoff_s=t.max_backoff_s,
        )
        recording = dataclasses.replace(cfg.recording, influx=influx)
        secrets = {k: v for k, v in loaded.secrets.items() if not k.startswith("influx_")}
        return dataclasses.replace(
            loaded, config=dataclasses.replace(cfg, recording=recording), secrets=secrets
        )

    def fault(self) -> ServiceOutage:
        """InfluxDB down (SIGTERM) for a while, then started again."""

        async def down() -> None:
            await asyncio.to_thread(self.server.stop)

        async def up() -> None:
            if self.server.proc is None:
                await asyncio.to_thread(lambda: self.server.start(wait=False))

        return ServiceOutage("influxdb", down, up)

    def note_live(self, forwarder: Any) -> None:
        """Remember what the bench's forwarder delivered (call before the bench closes)."""
        state = getattr(forwarder, "state", None)
        if state is not None:
            self.counts.sent_live = int(state.sent_points)

    async def finish(self, store: Path, session_id: str) -> InfluxCounts:
        """Server up, the rest drained, the session's sample values counted in InfluxDB."""
        try:
            if self.server.proc is None:
                await asyncio.to_thread(self.server.start)
            await asyncio.to_thread(self.server.wait_ready)
            self.counts.drained_at_end = await asyncio.to_thread(self._drain, store)
            self.counts.in_influx = await asyncio.to_thread(self._count, session_id)
        except Exception as exc:  # reported as a failed check, never a crash of the soak
            self.counts.error = f"{type(exc).__name__}: {exc}"
        return self.counts

    def _drain(self, store_path: Path) -> int:
        t = self.target
        with Store(store_path) as store:
            sink = Influx1Sink(t)
            try:
                with Forwarder(store, sink, t.batch_size) as fwd:
                    return fwd.drain().samples_sent
            finally:
                sink.close()

    def _count(self, session_id: str) -> int:
        where = f"\"session\" = '{session_id}'"
        total = 0
        for series in self.server.query(f"SELECT count(*) FROM /.*/ WHERE {where}", DATABASE):
            if series["name"] in NOT_SAMPLES:
                continue
            for col, value in zip(series["columns"][1:], series["values"][0][1:], strict=True):
                # a sample's quality flags ride along as <field>_flags; a field may be "flags" itself
                if value and not col.removeprefix("count_").endswith(schema.FLAGS_SUFFIX):
                    total += int(value)
        return total
