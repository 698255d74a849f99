"""Store-and-forward against a real InfluxDB 1.x (Debian's influxd): delivery, quarantine, outages."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from benchgui.core.forwarder import ForwarderService
from benchgui.recording.forward import Forwarder, ForwarderBusy, ForwardLock
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.points import session_lines
from benchgui.recording.sinks import Influx1Sink, SinkUnavailable
from benchgui.recording.store import Store
from tests.helpers import wait_until
from tests.recording.conftest import fill_store
from tests.recording.influxd import InfluxServer

pytestmark = pytest.mark.influxdb


def target(url: str, db: str, **kw: object) -> InfluxTarget:
    return InfluxTarget(1, url, database=db, **kw)  # type: ignore[arg-type]


def drain(store_path: Path, t: InfluxTarget):  # type: ignore[no-untyped-def]
    with Store(store_path) as store:
        sink = Influx1Sink(t)
        try:
            with Forwarder(store, sink, t.batch_size) as fwd:
                return fwd.drain()
        finally:
            sink.close()


def test_a_stored_session_arrives_complete_with_its_tags_events_and_metadata(
    tmp_path: Path, influx_server: InfluxServer, influx_db: str
) -> None:
    path = tmp_path / "s.sqlite3"
    sid = fill_store(path, n=120, battery_id="B 7,x")
    t = target(influx_server.url, influx_db, batch_size=50)  # several batches
    r = drain(path, t)
    assert (r.samples_sent, r.events_sent, r.sessions_sent, r.quarantined) == (360, 2, 1, 0)
    where = f"\"session\" = '{sid}'"
    assert influx_server.counts_by(influx_db, "battery", "source", where) == {
        "labjack": {"voltage_v": 120, "current_a": 120}
    }
    assert influx_server.count(influx_db, "soc", "soc_pct", where) == 120
    tags = influx_server.query(
        'SHOW TAG VALUES FROM "battery" WITH KEY IN ("device", "battery_id")', influx_db
    )
    assert sorted(v[1] for v in tags[0]["values"]) == ["B 7,x", "T7 470023670"]
    ev = influx_server.query('SELECT "text", "current_a", "kind" FROM "events"', influx_db)[0]["values"]
    assert [row[1:] for row in ev] == [["step 1: discharge 1 A", 1.0, "program.step"]]
    ann = influx_server.query('SELECT "text" FROM "annotations"', influx_db)[0]["values"]
    assert ann[0][1] == 'looks "odd"\\nsecond line'  # one point per line: newline written as \\n
    sess = influx_server.query('SELECT "operator", "notes", "duration_s" FROM "sessions"', influx_db)
    assert sess[0]["values"][0][1:] == ["ann", "a note", 120.0]
    # acknowledged means done: a second drain sends nothing; sessions list shows it all forwarded
    assert drain(path, t).points == 0
    with Store(path) as store:
        assert store.session(sid).forwarded == 360
        assert store.sessions(t.sink_id)[0].forwarded == 360
        assert store.sessions("another sink")[0].forwarded == 0


def test_values_survive_exactly(tmp_path: Path, influx_server: InfluxServer, influx_db: str) -> None:
    path = tmp_path / "s.sqlite3"
    fill_store(path, n=10)
    drain(path, target(influx_server.url, influx_db))
    with Store(path, readonly=True) as store:
        sid = store.sessions()[0].id
        t_ns, v = store.samples(sid, "battery.current.labjack")
    rows = influx_server.query('SELECT "current_a" FROM "battery" ORDER BY time', influx_db)[0]["values"]
    assert [(r[0], r[1]) for r in rows] == list(zip(t_ns.tolist(), v.tolist(), strict=True))


def test_refused_points_are_logged_quarantined_and_not_retried(
    tmp_path: Path, influx_server: InfluxServer, influx_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.sqlite3"
    t0 = 1_700_000_000_000_000_000
    sid = fill_store(path, n=40, t0_ns=t0)
    # someone wrote voltage_v as a string into the same shard: every float voltage_v conflicts
    sink = Influx1Sink(target(influx_server.url, influx_db))
    sink.write([f'battery,source=other voltage_v="oops" {t0 - 10**9}'])
    caplog.set_level(logging.WARNING, "benchgui.recording.forward")
    r = drain(path, target(influx_server.url, influx_db, batch_size=30))
    assert r.quarantined == 40
    assert r.samples_sent == 80
    assert "field type conflict" in caplog.text
    assert "voltage_v=12.0 " in caplog.text  # the offending line is in the log
    where = f"\"session\" = '{sid}'"
    assert influx_server.counts_by(influx_db, "battery", "source", where) == {"labjack": {"current_a": 40}}
    assert influx_server.count(influx_db, "soc", "soc_pct", where) == 40
    with Store(path) as store:
        fwd = Forwarder(store, sink)
        assert fwd.ledger.quarantined_count() == 40
        q = fwd.ledger.quarantined(limit=1)[0]
        assert q.kind == "sample"
        assert q.session_id == sid
        assert "voltage_v=" in q.line
        assert "field type conflict" in q.error
        assert fwd.step().points == 0  # not retried
        assert fwd.backlog() == (0, 0)
        info = store.session(sid)
    assert info.forwarded == 80  # forwarded + quarantined == samples
    sink.close()


def test_unreachable_server_keeps_everything_then_drains_when_it_appears(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = InfluxServer(tmp_path_factory.mktemp("late"))  # ports chosen, not started yet
    path = tmp_path / "s.sqlite3"
    fill_store(path, n=50)
    t = target(server.url, "late", max_backoff_s=0.2, interval_s=0.1, timeout_s=2.0)
    with Store(path) as store, pytest.raises(SinkUnavailable, match="cannot reach"):
        Forwarder(store, Influx1Sink(t)).step()
    service = ForwarderService(path, t)
    states = []
    service.state_changed.connect(states.append)
    service.start()
    try:
        wait_until(lambda: service.state.connected is False, 10, what="the forwarder to notice")
        st = service.state
        assert "cannot reach" in st.last_error
        assert st.backlog_samples == 150
        assert st.last_success_ns is None
        server.start()
        # the server is up but the database is missing: a 404, still not data loss
        wait_until(lambda: "not found" in service.state.last_error, 10, what="a 404")
        assert service.state.backlog_samples == 150
        server.create_db("late")
        wait_until(lambda: service.state.backlog == 0 and service.state.connected, 15, what="the drain")
        assert server.count("late", "battery", "voltage_v") == 50
        assert service.state.last_success_ns is not None
        assert service.state.sent_points == 150 + 1 + 1 + 1  # samples, event, annotation, session
    finally:
        service.close()
        server.stop()
    assert not service.state.running
    assert any(s.connected is False for s in states)


def test_rejected_credentials_wait_and_the_right_ones_deliver(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = InfluxServer(tmp_path_factory.mktemp("auth"), auth=True)
    server.start()
    try:
        server.query("CREATE USER admin WITH PASSWORD 'right' WITH ALL PRIVILEGES", method="POST")
        server.auth = ("admin", "right")
        server.create_db("sec")
        path = tmp_path / "s.sqlite3"
        fill_store(path, n=5)
        with pytest.raises(SinkUnavailable, match="authentication rejected"):
            drain(path, target(server.url, "sec", user="admin", password="wrong"))
        with Store(path) as store:
            assert Forwarder(store, Influx1Sink(target(server.url, "sec"))).backlog() == (15, 2)
        r = drain(path, target(server.url, "sec", user="admin", password="right"))
        assert r.samples_sent == 15
        assert server.count("sec", "battery", "voltage_v") == 5
    finally:
        server.stop()


def test_one_forwarder_per_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    a, b = ForwardLock(path), ForwardLock(path)
    a.acquire()
    try:
        with pytest.raises(ForwarderBusy, match="is forwarding"):
            b.acquire()
    finally:
        a.release()
    b.acquire()
    b.release()


def test_export_is_exactly_what_the_forwarder_sends(tmp_path: Path, stub) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.sqlite3"
    sid = fill_store(path, n=30)
    drain(path, target(stub.url, "x", batch_size=7))
    sent = [ln for r in stub.writes() for ln in r.lines]
    with Store(path, readonly=True) as store:
        exported = list(session_lines(store, sid))
    assert sorted(sent) == sorted(exported)
    assert len(exported) == len(set(exported)) == 90 + 2 + 1
    assert exported[0].startswith("sessions,")


def test_slow_and_overloaded_servers_are_waited_for(tmp_path: Path, stub) -> None:  # type: ignore[no-untyped-def]
    from tests.recording.httpstub import Reply

    path = tmp_path / "s.sqlite3"
    fill_store(path, n=3)
    # the answers that do come must come within the timeout on a busy machine too; the slow
    # one is held back until the client has given up, however long that takes
    t = target(stub.url, "x", timeout_s=2.0)
    late = threading.Event()
    stub.script.extend(
        [
            Reply(503, b'{"error":"engine: cache maximum memory size exceeded"}'),
            Reply(429, b"", {"Retry-After": "7"}),
            Reply(204, hold=late),  # slower than the timeout
        ]
    )
    with Store(path) as store:
        fwd = Forwarder(store, Influx1Sink(t))
        with pytest.raises(SinkUnavailable, match="HTTP 503") as e1:
            fwd.step()
        with pytest.raises(SinkUnavailable, match="HTTP 429") as e2:
            fwd.step()
        try:
            with pytest.raises(SinkUnavailable, match="cannot reach"):
                fwd.step()
        finally:
            late.set()
        assert e1.value.retry_after_s is None
        assert e2.value.retry_after_s == 7.0
        assert fwd.backlog() == (9, 2)
        r = fwd.drain()
        assert r.samples_sent == 9
        assert fwd.backlog() == (0, 0)


async def test_recording_a_simulated_bench_lands_in_influxdb(
    tmp_path: Path, influx_server: InfluxServer, influx_db: str
) -> None:
    from benchgui.assembly import assemble
    from benchgui.config import LoadedConfig
    from benchgui.config.schema import Config, InfluxSection, RecordingSection
    from benchgui.model import SessionMeta
    from tests.helpers import async_wait_until
    from tests.recording.conftest import forward_done

    secrets = {"influx_url": influx_server.url, "influx_version": "1", "influx_database": influx_db}
    cfg = Config(recording=RecordingSection(influx=InfluxSection(interval_s=0.1, max_backoff_s=0.5)))
    path = tmp_path / "s.sqlite3"
    asm = await assemble(LoadedConfig(cfg, None, secrets), demo=True, speed=50, store_path=path, wire=False)
    bench = asm.bench
    fwd = bench.services.forwarder
    assert isinstance(fwd, ForwarderService)
    # every channel checked below must have been recorded: how many samples each source has
    # delivered after a given time depends on the machine (the MPPT's connect takes longest)
    needed = {
        "battery.voltage.labjack",
        "battery.current.mppt",
        "battery.power.load",
        "soc.mppt",
        "soc.spkf",
        "soc.spkf.sigma3",
    }
    seen: set[str] = set()
    try:
        await bench.start()
        session = bench.start_session(SessionMeta("tess", "B9", "end-to-end"))
        bench.samples_published.connect(lambda samples: seen.update(s.channel for s in samples))
        await async_wait_until(
            lambda: bench.sample_count > 3000 and needed <= seen, 50, what=f"samples of {sorted(needed)}"
        )
        bench.annotate("half way")
        bench.record_event("program.step", "step 2", {"current_a": 3.0})
        await bench.stop()  # session closed, store flushed
        await async_wait_until(lambda: forward_done(path), 50, what="the forwarder to catch up")
        assert fwd.state.connected
    finally:
        await asm.aclose()
    with Store(path, readonly=True) as store:
        stored = {c.name: len(store.samples(session.id, c.name)[0]) for c in store.channels(session.id)}
        assert store.session(session.id).forwarded == sum(stored.values())
    where = f"\"session\" = '{session.id}'"
    got = influx_server.counts_by(influx_db, "battery", "source", where)
    assert got["labjack"]["voltage_v"] == stored["battery.voltage.labjack"]
    assert got["mppt"]["current_a"] == stored["battery.current.mppt"]
    assert got["load"]["power_w"] == stored["battery.power.load"]
    soc = influx_server.counts_by(influx_db, "soc", "source", where)  # MPPT's and the live SPKF's
    assert soc["mppt"]["soc_pct"] == stored["soc.mppt"]
    assert soc["spkf"]["soc_pct"] == stored["soc.spkf"]
    assert soc["spkf"]["sigma3_pct"] == stored["soc.spkf.sigma3"]
    assert influx_server.count(influx_db, "annotations", "text", where) == 1
    kinds = influx_server.query(f'SELECT "text" FROM "events" WHERE {where} GROUP BY "kind"', influx_db)
    assert {s["tags"]["kind"] for s in kinds} == {
        "session.start",
        "session.stop",
        "program.step",
        "instrument.state",
    }
    sess = influx_server.query(f'SELECT "operator", "notes" FROM "sessions" WHERE {where}', influx_db)
    assert sess[0]["values"][0][1:] == ["tess", "end-to-end"]
