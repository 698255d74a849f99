"""Back-pressure: a real VictoriaMetrics behind a fault-injecting loopback proxy.

The server pushes back (429/503 with Retry-After, 413), the line fails (resets before the
request, an acknowledgement lost after the server stored the batch, half an answer, a slow
answer) — and in the end every stored sample is on the server exactly once, nothing quarantined.
Lost acknowledgements make the forwarder send a stored batch again; the server's de-duplication
(InfluxDB: same series and time overwrite; VictoriaMetrics: ``-dedup.minScrapeInterval``, as the
README recommends) keeps one copy, which the export below shows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchgui.core.forwarder import RETRY_AFTER_CAP_S, ForwarderService, backoff_delay
from benchgui.recording.forward import Forwarder
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.sinks import Influx1Sink, Influx2Sink, InfluxSink, SinkUnavailable, _retry_after
from benchgui.recording.store import Store
from benchgui.testing import victoriametrics
from benchgui.testing.faultproxy import FaultProxy
from tests.helpers import wait_until
from tests.recording.conftest import fill_store

pytestmark = pytest.mark.victoriametrics

FAULTS = (
    "status:429",
    "status:503",
    "reset",
    "lost_ack",
    "partial",
    "delay:0.2",
    "status:413",
    "lost_ack",
    "status:503",
)


@pytest.fixture
def proxy(victoria: victoriametrics.VictoriaServer) -> Iterator[FaultProxy]:
    p = FaultProxy(victoria.port, retry_after="3")
    yield p
    p.close()


def _sink(version: int, url: str) -> InfluxSink:
    if version == 1:
        return Influx1Sink(InfluxTarget(1, url, database="bp", timeout_s=10))
    return Influx2Sink(InfluxTarget(2, url, org="lab", bucket="bp", token="unused", timeout_s=10))


@pytest.mark.parametrize("version", [1, 2])
def test_faults_lose_and_duplicate_nothing(
    tmp_path: Path, victoria: victoriametrics.VictoriaServer, proxy: FaultProxy, version: int
) -> None:
    path = tmp_path / "s.sqlite3"
    n = 120
    sid = fill_store(path, n=n, t0_ns=1_700_000_000_000_000_000 + version * 10**13, battery_id=f"bp{version}")
    proxy.inject(*FAULTS)
    unavailable: list[SinkUnavailable] = []
    with Store(path) as store:
        fwd = Forwarder(store, _sink(version, proxy.url), batch_size=64, pipeline=2)
        for _ in range(200):  # each failed step leaves everything unacknowledged in the store
            try:
                if not fwd.step().more and proxy.pending() == 0 and store.forwarded_everything():
                    break
            except SinkUnavailable as exc:
                unavailable.append(exc)
        assert store.forwarded_everything()
        assert fwd.ledger.quarantined_count() == 0
        assert fwd.batch_size == 32  # the 413 halved the batch for good
    assert proxy.pending() == 0  # every fault met a request
    assert sum(proxy.done[f] for f in set(FAULTS)) == len(FAULTS)
    assert {e.status for e in unavailable} >= {429, 503}
    assert any(e.retry_after_s == 3.0 for e in unavailable)
    got = victoria.samples(f'{{session="{sid}"}}')
    for name in ("battery_voltage_v", "battery_current_a", "soc_soc_pct"):
        (series,) = [v for (m, _), v in got.items() if m == name]
        times = [t for t, _ in series]
        assert len(times) == n, name  # nothing lost
        assert len(set(times)) == n, name  # nothing twice


def test_service_waits_at_least_retry_after_then_delivers(
    tmp_path: Path, victoria: victoriametrics.VictoriaServer, proxy: FaultProxy
) -> None:
    path = tmp_path / "s.sqlite3"
    fill_store(path, n=10, t0_ns=1_700_000_000_000_000_000 + 5 * 10**13, battery_id="svc")
    proxy.inject("status:429")
    target = InfluxTarget(2, proxy.url, org="lab", bucket="bp", token="unused", max_backoff_s=1.0)
    svc = ForwarderService(path, target, rng=random.Random(1))
    svc.start()
    try:
        wait_until(lambda: svc.state.retry_in_s is not None, timeout=30)
        st = svc.state
        assert st.connected is False
        assert "429" in st.last_error
        assert st.retry_in_s is not None
        assert st.retry_in_s >= 3.0  # above max_backoff_s: the server knows its load
        assert st.backlog_samples == 30
        svc.wake()  # the operator's "Retry now"
        wait_until(lambda: svc.state.connected is True and svc.state.backlog == 0, timeout=30)
    finally:
        svc.close()


def test_backoff_has_jitter_and_honours_retry_after() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(8.0, None, rng) for _ in range(200)]
    assert min(delays) >= 4.0
    assert max(delays) <= 8.0
    assert len({round(d, 3) for d in delays}) > 100  # spread: benches do not return in lock-step
    assert backoff_delay(0.5, 30.0, rng) == 30.0
    assert backoff_delay(0.5, 10**6, rng) == RETRY_AFTER_CAP_S


def test_retry_after_as_http_date() -> None:
    now = 1_700_000_000.0
    assert _retry_after("Tue, 14 Nov 2023 22:13:40 GMT", now=now) == pytest.approx(20.0)
    assert _retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0.0  # in the past
    assert _retry_after("120", now=now) == 120.0
    assert _retry_after("soon", now=now) is None
