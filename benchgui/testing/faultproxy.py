"""A loopback HTTP proxy that injects server trouble in front of a real time-series server.

Test and benchmark support, not used by the app. Each request the proxy receives takes the next
action from its script (then ``forward`` once the script is empty):

``forward``        pass the request to the server, the answer back;
``status:<code>``  answer ``<code>`` itself (429/503 carry ``Retry-After: <retry_after>``; 413 as
                   a server with a body limit would), the server never sees the request;
``reset``          drop the connection (TCP RST) before the server sees the request;
``lost_ack``       pass it on, then drop the connection instead of the answer: the server has
                   stored the batch but the client must assume it did not;
``partial``        pass it on, send half the answer, close;
``delay:<s>``      wait, then forward (a slow server).

One request per connection (the proxy answers ``Connection: close``), so every action meets a
fresh request of the client under test.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections import Counter, deque

log = logging.getLogger(__name__)


def _read_request(sock: socket.socket) -> bytes | None:
    """One HTTP request (headers and a Content-Length body) or None when the client hung up."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_response(sock: socket.socket) -> bytes:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while length is not None and len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _close_request(request: bytes) -> bytes:
    """The request with ``Connection: close`` so the server ends its answer by closing."""
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultProxy:
    def __init__(self, upstream_port: int, retry_after: str = "0") -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.retry_after = retry_after
        self.script: deque[str] = deque()
        self.done: Counter[str] = Counter()  # actions performed
        self.forwarded = 0  # requests the server saw
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="faultproxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inject(self, *actions: str) -> None:
        with self._lock:
            self.script.extend(actions)

    def pending(self) -> int:
        with self._lock:
            return len(self.script)

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _next_action(self) -> str:
        with self._lock:
            return self.script.popleft() if self.script else "forward"

    def _forward(self, request: bytes) -> bytes:
        with socket.create_connection(self.upstream, timeout=30) as up:
            up.sendall(_close_request(request))
            answer = _read_response(up)
        with self._lock:
            self.forwarded += 1
        return answer

    def _handle(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            if request is None:
                conn.close()
                return
            action = self._next_action()
            with self._lock:
                self.done[action] += 1
            kind, _, arg = action.partition(":")
            if kind == "status":
                extra = f"Retry-After: {self.retry_after}\r\n" if arg in ("429", "503") else ""
                body = b'{"error":"injected by faultproxy"}'
                conn.sendall(
                    f"HTTP/1.1 {arg} Injected\r\nContent-Type: application/json\r\n{extra}"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                conn.close()
            elif kind == "reset":
                _reset(conn)
            elif kind == "lost_ack":
                self._forward(request)
                _reset(conn)
            elif kind == "partial":
                answer = self._forward(request)
                conn.sendall(answer[: max(1, len(answer) // 2)])
                conn.close()
            else:
                if kind == "delay":
                    time.sleep(float(arg))
                conn.sendall(self._forward(request))
                conn.close()
        except OSError as exc:  # the client gave up (timeout) or the server is away
            log.debug("faultproxy: %s", exc)
            with contextlib.suppress(OSError):
                conn.close()
