"""The InfluxDB 2.x / Cloud / 3.x path through influxdb-client, checked on the wire.

No InfluxDB 2 server package is available for this machine (Debian ships 1.6.7), so a loopback
HTTP server records exactly what ``influxdb-client`` sends and answers like InfluxDB 2 would.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchgui.recording.forward import Forwarder
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.points import session_lines
from benchgui.recording.sinks import Influx2Sink, SinkUnavailable
from benchgui.recording.store import Store
from tests.recording.conftest import fill_store
from tests.recording.httpstub import Reply, WriteStub


def target(url: str, **kw: object) -> InfluxTarget:
    base: dict[str, object] = {"org": "my org", "bucket": "bench/autogen", "token": "s3cr3t=="}
    base.update(kw)
    return InfluxTarget(2, url, **base)  # type: ignore[arg-type]


def test_what_influxdb_client_sends(tmp_path: Path, stub: WriteStub) -> None:
    path = tmp_path / "s.sqlite3"
    sid = fill_store(path, n=20)
    with Store(path) as store:
        r = Forwarder(store, Influx2Sink(target(stub.url)), batch_size=25).drain()
        expected = list(session_lines(store, sid))
    assert r.points == 60 + 2 + 1
    writes = stub.writes()
    assert len(writes) == 1 + 1 + 3  # session point, events, samples in batches of 25
    for w in writes:
        assert w.method == "POST"
        assert w.path == "/api/v2/write"
        assert w.query == {"org": ["my org"], "bucket": ["bench/autogen"], "precision": ["ns"]}
        assert w.headers["Authorization"] == "Token s3cr3t=="
        assert w.headers["Content-Encoding"] == "gzip"
        assert w.raw_body[:2] == b"\x1f\x8b"
    assert [ln for w in writes for ln in w.lines] == [expected[0], *expected[1:3], *expected[3:]]


def test_gzip_can_be_switched_off(tmp_path: Path, stub: WriteStub) -> None:
    Influx2Sink(target(stub.url, gzip=False)).write(["m f=1.0 1"])
    w = stub.writes()[0]
    assert "Content-Encoding" not in w.headers
    assert w.body == b"m f=1.0 1"


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (Reply(401, b'{"code":"unauthorized","message":"unauthorized access"}'), "authentication rejected"),
        (Reply(404, b'{"code":"not found","message":"bucket \\"x\\" not found"}'), "not found"),
        (Reply(503, b"{}"), "HTTP 503"),
    ],
)
def test_server_trouble_keeps_the_backlog(tmp_path: Path, stub: WriteStub, reply: Reply, match: str) -> None:
    path = tmp_path / "s.sqlite3"
    fill_store(path, n=4)
    stub.script.append(reply)
    with Store(path) as store:
        fwd = Forwarder(store, Influx2Sink(target(stub.url)))
        with pytest.raises(SinkUnavailable, match=match):
            fwd.step()
        assert fwd.backlog() == (12, 2)
        fwd.drain()
        assert fwd.backlog() == (0, 0)


def test_429_passes_retry_after_on(stub: WriteStub) -> None:
    stub.script.append(Reply(429, b'{"message":"too many requests"}', {"Retry-After": "30"}))
    with pytest.raises(SinkUnavailable, match="HTTP 429") as e:
        Influx2Sink(target(stub.url)).write(["m f=1.0 1"])
    assert e.value.retry_after_s == 30.0


def test_a_refused_line_is_isolated_and_quarantined(tmp_path: Path, stub: WriteStub) -> None:
    path = tmp_path / "s.sqlite3"
    fill_store(path, n=16)
    stub.reject_if_contains = "soc_pct=14.007 "  # one sample the "server" cannot take
    with Store(path) as store:
        fwd = Forwarder(store, Influx2Sink(target(stub.url)))
        r = fwd.drain()
        q = fwd.ledger.quarantined()
    assert (r.samples_sent, r.quarantined) == (47, 1)
    assert len(q) == 1
    assert "soc_pct=14.007 " in q[0].line
    accepted = [ln for w in stub.writes() for ln in w.lines if w is not None]
    assert sum("soc_pct=14.007 " in ln for ln in accepted) >= 1  # it was tried, then set aside


def _self_signed(tmp: Path) -> tuple[str, str]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_is_verified_by_default(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    tls = WriteStub(tls=(cert, key))
    try:
        with pytest.raises(SinkUnavailable, match=r"(?i)certificate|TLS|SSL"):
            Influx2Sink(target(tls.url)).write(["m f=1.0 1"])
        assert tls.writes() == []
        Influx2Sink(target(tls.url, ca_file=cert)).write(["m f=1.0 2"])  # a private CA, trusted
        Influx2Sink(target(tls.url, verify_tls=False)).write(["m f=1.0 3"])  # explicitly off
        assert [w.lines for w in tls.writes()] == [["m f=1.0 2"], ["m f=1.0 3"]]
    finally:
        tls.close()
