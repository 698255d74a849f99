"""InfluxDB sinks behind one small interface: ``write(lines)`` succeeds, or says why not.

Two outcomes besides success matter to the forwarder, so they are two exception types:

* :class:`SinkUnavailable` — try again later, nothing is wrong with the data: the server is
  unreachable or slow (timeout), overloaded (429, 5xx, honouring ``Retry-After``), refuses our
  credentials (401/403) or lacks the database/bucket (404). The backlog waits on disk.
* :class:`SinkRejected` — the server refused the data itself (400, 413, 422): the forwarder
  splits the batch to find the offending lines and quarantines them.

:class:`Influx2Sink` (InfluxDB 2.x, Cloud, 3.x) writes through ``influxdb-client`` in synchronous
mode (we batch ourselves, so an acknowledgement means exactly one batch is stored).
:class:`Influx1Sink` speaks InfluxDB 1.x's ``/write`` endpoint directly over a kept-alive
``http.client`` connection: Debian's influxd (1.6.7) has no ``/api/v2`` compatibility API.
Both gzip the body and verify TLS certificates unless configured otherwise.
"""

from __future__ import annotations

import abc
import base64
import contextlib
import datetime
import email.utils
import gzip
import http.client
import json
import logging
import ssl
import time
import warnings
from typing import Any
from urllib.parse import urlencode, urlsplit

from benchgui.errors import BenchError
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.lineprotocol import join_lines

log = logging.getLogger(__name__)


class SinkUnavailable(BenchError, ConnectionError):
    """The write did not happen and may succeed later; the data is fine."""

    def __init__(self, reason: str, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s


class SinkRejected(BenchError, ValueError):
    """The server refused the data of this write as invalid (retrying it cannot help)."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _message(body: bytes | str | None) -> str:
    """The error text from an InfluxDB error body (1.x ``{"error"}``, 2.x ``{"message"}``)."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    with contextlib.suppress(ValueError, AttributeError):
        obj = json.loads(text)
        text = str(obj.get("error") or obj.get("message") or text)
    return " ".join(text.split())[:500]


def _retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # unreadable: our own back-off will do
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def check_status(status: int, body: bytes | str | None, retry_after: str | None = None) -> None:
    """Raise what an HTTP status from a write endpoint means for the forwarder (2xx: return)."""
    if 200 <= status < 300:
        return
    msg = _message(body)
    if status in (400, 413, 422):
        raise SinkRejected(f"HTTP {status}: {msg}", status)
    if status in (401, 403):
        raise SinkUnavailable(f"authentication rejected (HTTP {status}): {msg}", status)
    if status == 404:
        raise SinkUnavailable(f"not found (HTTP 404; does the database/bucket exist?): {msg}", status)
    if status == 429 or status >= 500:
        raise SinkUnavailable(
            f"server busy or failing (HTTP {status}): {msg}", status, _retry_after(retry_after)
        )
    raise SinkUnavailable(f"unexpected answer (HTTP {status}): {msg}", status)


class InfluxSink(abc.ABC):
    """Where forwarded points go. One object belongs to one thread."""

    def __init__(self, target: InfluxTarget) -> None:
        self.target = target

    @property
    def sink_id(self) -> str:
        return self.target.sink_id

    def describe(self) -> str:
        return self.target.describe()

    @abc.abstractmethod
    def write(self, lines: list[str]) -> None:
        """Store these lines; raise :class:`SinkUnavailable` or :class:`SinkRejected` if not."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`SinkUnavailable` unless the server answers (used when there is nothing to send)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def _ssl_context(target: InfluxTarget) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=target.ca_file or None)
    if not target.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Influx1Sink(InfluxSink):
    """InfluxDB 1.x: ``POST /write?db=&rp=&precision=ns`` with HTTP basic auth when configured."""

    def __init__(self, target: InfluxTarget) -> None:
        super().__init__(target)
        parts = urlsplit(target.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        query = {"db": target.database, "precision": "ns"}
        if target.retention_policy:
            query["rp"] = target.retention_policy
        self._path = f"{parts.path.rstrip('/')}/write?{urlencode(query)}"
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if target.gzip:
            self._headers["Content-Encoding"] = "gzip"
        if target.user:
            cred = base64.b64encode(f"{target.user}:{target.password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {cred}"
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.target.timeout_s, context=_ssl_context(self.target)
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self.target.timeout_s)
        return self._conn

    def write(self, lines: list[str]) -> None:
        body = join_lines(lines)
        if self.target.gzip:
            body = gzip.compress(body, compresslevel=1)
        self._post(body)

    def check(self) -> None:
        """An empty write: 1.x checks credentials and the database before it parses the body."""
        try:
            self._post(gzip.compress(b"") if self.target.gzip else b"")
        except SinkRejected as exc:
            raise SinkUnavailable(exc.reason, exc.status) from exc

    def _post(self, body: bytes) -> None:
        try:
            conn = self._connection()
            conn.request("POST", self._path, body, self._headers)
            resp = conn.getresponse()
            data = resp.read()
            status, retry_after = resp.status, resp.getheader("Retry-After")
            if resp.will_close:
                self.close()
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise SinkUnavailable(f"TLS certificate of {self.target.url} not trusted: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise SinkUnavailable(f"cannot reach {self.target.url}: {exc or type(exc).__name__}") from exc
        check_status(status, data, retry_after)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class Influx2Sink(InfluxSink):
    """InfluxDB 2.x / Cloud / 3.x through ``influxdb-client`` (``/api/v2/write``, token auth)."""

    def __init__(self, target: InfluxTarget) -> None:
        super().__init__(target)
        from influxdb_client import InfluxDBClient, WritePrecision
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._precision = WritePrecision.NS
        if not target.verify_tls:
            import urllib3

            log.warning("TLS certificate verification is off for %s (verify_tls = false)", target.url)
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self._client = InfluxDBClient(
            url=target.url,
            token=target.token,
            org=target.org,
            timeout=int(target.timeout_s * 1000),
            enable_gzip=target.gzip,
            verify_ssl=target.verify_tls,
            ssl_ca_cert=target.ca_file or None,
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[str]) -> None:
        import urllib3
        from influxdb_client.rest import ApiException

        try:
            self._api.write(
                bucket=self.target.bucket,
                org=self.target.org,
                record=join_lines(lines),
                write_precision=self._precision,  # type: ignore[arg-type]
            )
        except ApiException as exc:
            if not exc.status:  # the client's wrapper for TLS failures (urllib3.SSLError)
                reason = " ".join(str(exc.reason or "").split())
                raise SinkUnavailable(f"TLS/connection problem with {self.target.url}: {reason}") from exc
            headers: Any = exc.headers or {}
            check_status(int(exc.status or 0), exc.body, headers.get("Retry-After"))
            raise SinkUnavailable(f"unexpected client error: {exc.reason}") from exc  # pragma: no cover
        except urllib3.exceptions.SSLError as exc:
            raise SinkUnavailable(f"TLS problem with {self.target.url}: {exc}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkUnavailable(f"cannot reach {self.target.url}: {exc}") from exc

    def check(self) -> None:
        """``/ping`` (2.x cannot check a write token without writing)."""
        import urllib3

        try:
            ok = self._client.ping()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkUnavailable(f"cannot reach {self.target.url}: {exc}") from exc
        if not ok:
            raise SinkUnavailable(f"{self.target.url} does not answer /ping")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._api.close()
            self._client.close()


def make_sink(target: InfluxTarget) -> InfluxSink:
    return Influx1Sink(target) if target.version == 1 else Influx2Sink(target)


def preload(target: InfluxTarget) -> None:
    """Import what the sink for ``target`` needs, on the calling thread.

    Call it from the main thread before a worker thread builds the sink: importing a large
    package (influxdb-client pulls in urllib3, dateutil, reactivex…) on a worker thread while
    PySide6's import hook is active has crashed the process (segfault seen in the tests).
    """
    if target.version != 1:
        import influxdb_client
        import influxdb_client.client.write_api  # noqa: F401
