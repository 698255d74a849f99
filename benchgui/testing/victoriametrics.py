"""A private VictoriaMetrics server (Debian's ``victoria-metrics``) for tests and benchmarks.

Test support, not used by the app. VictoriaMetrics accepts InfluxDB line protocol on ``/write``
(1.x style) and ``/api/v2/write`` (2.x style), so benchgui's sinks write to it unchanged; its
cluster version scales out horizontally. Each instance gets a throwaway data directory and a free
loopback port. The flags are the ones the README recommends for a benchgui server:

* ``-retentionPeriod=100y``: VictoriaMetrics answers 204 to points older than the retention and
  drops them (a warning in its log only), so imported sessions from last year would vanish;
* ``-dedup.minScrapeInterval=1ms``: samples are stored at millisecond resolution; a batch that is
  sent again after a lost acknowledgement must not count twice (InfluxDB overwrites such points
  by itself).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from benchgui.testing.influxd import free_port
from benchgui.testing.process import stop_process, wait_http_ready

VICTORIA = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
RECOMMENDED_FLAGS = ("-retentionPeriod=100y", "-dedup.minScrapeInterval=1ms")


def available() -> bool:
    return os.access(VICTORIA, os.X_OK)


class VictoriaServer:
    """One ``victoria-metrics`` process on 127.0.0.1 with its own data directory."""

    def __init__(self, root: Path, extra_flags: tuple[str, ...] = ()) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.extra_flags = extra_flags
        self.log_path = self.root / "victoria-metrics.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait until ``/health`` answers (a port taken meanwhile: retried on a new one)."""
        for attempt in range(3):
            log = self.log_path.open("ab")
            self.proc = subprocess.Popen(
                [
                    VICTORIA,
                    f"-storageDataPath={self.root / 'data'}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    *RECOMMENDED_FLAGS,
                    *self.extra_flags,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log.close()
            try:
                self._wait_ready(timeout)
                return
            except RuntimeError:
                text = self.log_path.read_text(errors="replace").lower()
                if "address already in use" not in text or attempt == 2:
                    raise
                self.stop()
                self.port = free_port()

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        wait_http_ready(self.proc, f"{self.url}/health", 200, timeout, "victoria-metrics", self._log_tail)

    def _log_tail(self) -> str:
        tail = " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-3:])
        return f"{tail} (log: {self.log_path})"

    def stop(self, timeout: float = 20.0) -> None:
        stop_process(self.proc, timeout=timeout)
        self.proc = None

    # -- reading back --------------------------------------------------------------------------------
    def flush(self) -> None:
        """Make everything written so far visible to queries (otherwise up to a few seconds late)."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30) as r:
            r.read()

    def export(self, match: str) -> list[dict[str, Any]]:
        """Raw samples of every series matching the selector, e.g. ``{session="s1"}``:
        ``[{"metric": {labels}, "values": [...], "timestamps": [ms...]}, ...]``."""
        self.flush()
        data = urllib.parse.urlencode({"match[]": match}).encode()
        req = urllib.request.Request(f"{self.url}/api/v1/export", data=data, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]

    def samples(self, match: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]]:
        """{(metric name, other labels sorted): [(t_ms, value)...] sorted by time}."""
        out: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]] = {}
        for s in self.export(match):
            labels = dict(s["metric"])
            name = labels.pop("__name__")
            key = (name, tuple(sorted(labels.items())))
            out.setdefault(key, []).extend(zip(s["timestamps"], s["values"], strict=True))
        return {k: sorted(v) for k, v in out.items()}
