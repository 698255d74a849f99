"""A private InfluxDB 1.x server (Debian's ``influxd``) for the soak, the tests and benchmarks.

Test and soak support, not used by the app: each instance gets a throwaway directory (meta,
data, wal), a generated config file and free loopback ports for both the HTTP API and the
backup/RPC service (8088 by default, which would make two servers collide). :meth:`stop` and
:meth:`start` again keep the data, for outage tests.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from benchgui.testing.process import stop_process, wait_http_ready

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"


def available() -> bool:
    return os.access(INFLUXD, os.X_OK)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports: all are held open while choosing, so none repeats (two
    separate calls may well return the same port once the first socket is closed)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  auth-enabled = {auth}
  write-tracing = false
  max-body-size = 0

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
"""


class InfluxServer:
    def __init__(self, root: Path, auth: bool = False) -> None:
        self.root = Path(root)
        self.auth: tuple[str, str] | None = None  # (user, password) for queries once users exist
        self.root.mkdir(parents=True, exist_ok=True)
        self._auth_enabled = auth
        self.conf = self.root / "influxdb.conf"
        self._choose_ports()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "influxd.log"
        self._ever_up = False  # once up, the URL is known to clients: ports stay as they are

    def _choose_ports(self) -> None:
        self.http_port, self.rpc_port = free_ports(2)
        self.conf.write_text(
            CONFIG.format(
                root=self.root,
                http_port=self.http_port,
                rpc_port=self.rpc_port,
                auth=str(self._auth_enabled).lower(),
            )
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 30.0, *, wait: bool = True) -> None:
        """Start ``influxd``; with ``wait``, until it answers ``/ping`` (else it comes up on its
        own while the caller goes on, as a restarted server does). A first start whose port
        another process took in the meantime is tried again on fresh ports (up to 3 times)."""
        for attempt in range(3):
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            if not wait:
                return
            try:
                self.wait_ready(timeout)
                self._ever_up = True
                return
            except RuntimeError:
                taken = "address already in use" in self._log_since(offset).lower()
                if self._ever_up or not taken or attempt == 2:
                    raise
                self.stop()
                self._choose_ports()

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")

    def _spawn(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [INFLUXD, "run", "-config", str(self.conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "INFLUXDB_REPORTING_DISABLED": "true"},
        )
        log.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until the started server answers ``/ping`` (RuntimeError when it exits or times out)."""
        assert self.proc is not None, "start() first"
        wait_http_ready(self.proc, f"{self.url}/ping", 204, timeout, "influxd", self._log_tail)

    def _log_tail(self) -> str:
        tail = " | ".join(self._log_since(0).strip().splitlines()[-3:])
        return f"{tail} (log: {self.log_path})"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        stop_process(self.proc, sig, timeout)
        self.proc = None

    # -- InfluxQL over HTTP ------------------------------------------------------------------------
    def query(self, q: str, db: str = "", method: str = "GET") -> list[dict[str, Any]]:
        """Run InfluxQL; returns the ``series`` of the first statement (raises on an error)."""
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params)
        if method == "POST":
            req = urllib.request.Request(f"{self.url}/query", data=data.encode(), method="POST")
        else:
            req = urllib.request.Request(f"{self.url}/query?{data}")
        if self.auth is not None:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            body = json.loads(r.read())
        result = body["results"][0]
        if "error" in result:
            raise RuntimeError(f"InfluxQL error: {result['error']}")
        return list(result.get("series", []))

    def create_db(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"', method="POST")

    def count(self, db: str, measurement: str, field: str, where: str = "") -> int:
        q = f'SELECT count("{field}") FROM "{measurement}"' + (f" WHERE {where}" if where else "")
        series = self.query(q, db)
        return int(series[0]["values"][0][1]) if series else 0

    def counts_by(self, db: str, measurement: str, tag: str, where: str = "") -> dict[str, dict[str, int]]:
        """{tag value: {field: count}} for every field of a measurement."""
        q = (
            f'SELECT count(*) FROM "{measurement}"'
            + (f" WHERE {where}" if where else "")
            + f' GROUP BY "{tag}"'
        )
        out: dict[str, dict[str, int]] = {}
        for s in self.query(q, db):
            cols, vals = s["columns"], s["values"][0]
            out[s.get("tags", {}).get(tag, "")] = {
                c.removeprefix("count_"): int(v) for c, v in zip(cols[1:], vals[1:], strict=True) if v
            }
        return out
