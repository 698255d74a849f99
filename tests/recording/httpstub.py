"""A loopback HTTP server that records InfluxDB write requests and answers from a script.

No InfluxDB 2 server package exists for this machine, so the 2.x path is checked here: the
server keeps every request (method, path, query, headers, gunzipped body) and answers each with
the next scripted :class:`Reply` (status, body, headers, held back), then 204. It also serves the
1.x ``/write`` path, to script the answers a real influxd cannot be made to give (429, 503, slow).
"""

from __future__ import annotations

import gzip
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOLD_LIMIT_S = 120.0  # a held answer goes out by itself after this (a test that forgot to release)


@dataclass
class Reply:
    status: int = 204
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: a server too slow for the client: the answer waits until the test sets this (after the
    #: client has given up) — not for a time, which a slow enough machine could exceed
    hold: threading.Event | None = None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_body: bytes
    body: bytes  # gunzipped when Content-Encoding: gzip

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.body.decode("utf-8").split("\n") if ln]


class WriteStub:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """``tls``: (certificate, key) PEM files to serve HTTPS instead of HTTP."""
        self.scheme = "https" if tls else "http"
        self.requests: list[Request] = []
        self.script: deque[Reply] = deque()
        self.reject_if_contains: str | None = None  # answer 400 naming the first such line
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" and raw else raw
                parts = urlsplit(self.path)
                req = Request(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), raw, body
                )
                with stub._lock:
                    stub.requests.append(req)
                    reply = stub.script.popleft() if stub.script else None
                    bad = stub.reject_if_contains
                if reply is None:
                    reply = Reply(204)
                    if parts.path == "/ping":
                        reply = Reply(204, headers={"X-Influxdb-Version": "stub"})
                    elif bad is not None and bad in body.decode("utf-8", "replace"):
                        line = next(ln for ln in body.decode().split("\n") if bad in ln)
                        reply = Reply(400, f'{{"error":"unable to parse \'{line}\': bad"}}'.encode())
                if reply.hold is not None:
                    reply.hold.wait(HOLD_LIMIT_S)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            do_POST = _answer
            do_GET = _answer
            do_HEAD = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def writes(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/write")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
