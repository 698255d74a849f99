"""Read one bench's newest samples back from the central store, for ``benchgui --follow BENCH``.

Two query paths behind one small interface (``read_since``), chosen by asking the server:

* InfluxDB 1.x, and 2.x through its 1.x-compatible ``/query`` (the ``influx_server`` role maps
  each bucket to a database of the same name): InfluxQL ``SELECT * … GROUP BY *`` with
  ``epoch=ns``; HTTP basic auth (1.x user/password) or ``Token`` (2.x);
* VictoriaMetrics (no InfluxQL): ``/api/v1/export`` of ``{bench="…"}`` from a start time.

Rows become :class:`~benchgui.model.Sample` objects of the channels they were written from
(:func:`~benchgui.recording.influx_schema.channel_from_series`); events, annotations, session
points, flag fields and string values are skipped. Synchronous (``urllib``): the caller runs it
on a worker thread. Reads only — the credentials need read access, nothing more.
"""

from __future__ import annotations

import abc
import base64
import json
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from benchgui.errors import BenchError
from benchgui.model import Channel, Sample
from benchgui.recording import influx_schema as schema
from benchgui.recording.influx_config import InfluxTarget

log = logging.getLogger(__name__)

TEXT_MEASUREMENTS = {schema.EVENTS_MEASUREMENT, schema.ANNOTATIONS_MEASUREMENT, schema.SESSIONS_MEASUREMENT}
MAX_POINTS_PER_READ = 200_000  # a first read of a long history is cut here (newest kept)


class FollowUnavailable(BenchError, ConnectionError):
    """The server cannot be read now (unreachable, refused, malformed answer); try again later."""


@dataclass
class ReadResult:
    samples: list[Sample]
    channels: list[Channel]
    newest_ns: int | None


class FollowReader(abc.ABC):
    def __init__(self, target: InfluxTarget, timeout_s: float = 10.0) -> None:
        self.target = target
        self.timeout_s = timeout_s

    def _headers(self) -> dict[str, str]:
        if self.target.version == 2 and self.target.token:
            return {"Authorization": f"Token {self.target.token}"}
        if self.target.user:
            cred = base64.b64encode(f"{self.target.user}:{self.target.password}".encode()).decode()
            return {"Authorization": f"Basic {cred}"}
        return {}

    def _get(self, path: str, params: dict[str, str]) -> bytes:
        url = f"{self.target.url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, headers=self._headers())
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return bytes(r.read())
        except urllib.error.HTTPError as exc:
            raise FollowUnavailable(f"{self.target.url} answered HTTP {exc.code} to {path}") from None
        except (OSError, ValueError) as exc:
            raise FollowUnavailable(f"cannot read {self.target.url}: {exc}") from None

    @abc.abstractmethod
    def read_since(self, bench: str, since_ns: int) -> ReadResult:
        """Samples of ``bench`` with a time after ``since_ns``, in time order."""

    @staticmethod
    def _result(rows: list[tuple[Channel, int, float]]) -> ReadResult:
        rows.sort(key=lambda r: r[1])
        if len(rows) > MAX_POINTS_PER_READ:
            log.warning(
                "follow: %d points in one read; showing the newest %d", len(rows), MAX_POINTS_PER_READ
            )
            rows = rows[-MAX_POINTS_PER_READ:]
        channels = {ch.name: ch for ch, _, _ in rows}
        samples = [Sample(ch.name, t, v) for ch, t, v in rows]
        return ReadResult(samples, list(channels.values()), rows[-1][1] if rows else None)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


class InfluxQLReader(FollowReader):
    """InfluxDB 1.x, or 2.x through ``/query`` (database = bucket)."""

    def read_since(self, bench: str, since_ns: int) -> ReadResult:
        db = self.target.database if self.target.version == 1 else self.target.bucket
        bench_q = bench.replace("\\", "\\\\").replace("'", "\\'")
        q = f"SELECT * FROM /.*/ WHERE \"bench\" = '{bench_q}' AND time > {int(since_ns)} GROUP BY *"
        params = {"db": db, "q": q, "epoch": "ns"}
        if self.target.retention_policy:
            params["rp"] = self.target.retention_policy
        try:
            body = json.loads(self._get("/query", params))
            result = body["results"][0]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise FollowUnavailable(f"unexpected answer from {self.target.url}: {exc}") from None
        if "error" in result:
            raise FollowUnavailable(f"{self.target.url}: {result['error']}")
        rows: list[tuple[Channel, int, float]] = []
        for series in result.get("series", []):
            measurement = series.get("name", "")
            if measurement in TEXT_MEASUREMENTS:
                continue
            source = (series.get("tags") or {}).get("source", "")
            columns = series.get("columns", [])
            fields = [(i, c) for i, c in enumerate(columns) if c != "time"]
            channels = {c: schema.channel_from_series(measurement, c, source) for _, c in fields}
            for row in series.get("values", []):
                for i, c in fields:
                    ch, v = channels[c], _number(row[i])
                    if ch is not None and v is not None:
                        rows.append((ch, int(row[0]), v))
        return self._result(rows)


class VictoriaReader(FollowReader):
    """VictoriaMetrics: raw samples from ``/api/v1/export`` (ms timestamps)."""

    def read_since(self, bench: str, since_ns: int) -> ReadResult:
        bench_q = bench.replace("\\", "\\\\").replace('"', '\\"')
        params = {"match[]": f'{{bench="{bench_q}"}}', "start": f"{since_ns // 1_000_000 + 1}ms"}
        rows: list[tuple[Channel, int, float]] = []
        for line in self._get("/api/v1/export", params).decode(errors="replace").splitlines():
            try:
                series = json.loads(line)
                labels = series["metric"]
                split = schema.split_metric(labels["__name__"])
                if split is None or split[0] in TEXT_MEASUREMENTS:
                    continue
                ch = schema.channel_from_series(split[0], split[1], labels.get("source", ""))
                pairs = zip(series["timestamps"], series["values"], strict=True)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("follow: skipping a malformed export line: %s", exc)
                continue
            if ch is None:
                continue
            for t_ms, value in pairs:
                v = _number(value)
                if v is not None and t_ms * 1_000_000 > since_ns:
                    rows.append((ch, int(t_ms) * 1_000_000, v))
        return self._result(rows)


def is_victoriametrics(target: InfluxTarget, timeout_s: float = 10.0) -> bool:
    """VictoriaMetrics answers ``/api/v1/status/buildinfo``; InfluxDB does not (404)."""
    reader = InfluxQLReader(target, timeout_s)
    try:
        reader._get("/api/v1/status/buildinfo", {})
    except FollowUnavailable as exc:
        if "HTTP" in str(exc):
            return False
        raise
    return True


def make_reader(target: InfluxTarget, timeout_s: float = 10.0) -> FollowReader:
    """The reader for this server (asks it once which kind it is)."""
    if is_victoriametrics(target, timeout_s):
        return VictoriaReader(target, timeout_s)
    return InfluxQLReader(target, timeout_s)
