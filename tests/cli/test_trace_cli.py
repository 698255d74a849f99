"""``--trace FILE`` on record / run-program / sim, the trace as the session's attachment, and
``benchgui sim ea|mppt --replay`` as separate processes."""

from __future__ import annotations

import json
import select
import signal
import subprocess
from pathlib import Path

import pytest

from benchgui.instruments.ea.driver import EaDriver
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.trace import read_trace
from benchgui.instruments.transport import SerialSettings, SerialTransport
from benchgui.recording.store import Store
from tests.conftest import Cli
from tests.helpers import ROOT, spawn_cli
from tests.support.headless import record_until

pytestmark = pytest.mark.timeout(120)
EA_TRACE = ROOT / "tests" / "traces" / "ea-el3160-reference.trace"


def test_record_traces_every_link_and_attaches_the_trace_to_the_session(tmp_path: Path) -> None:
    store, trace = tmp_path / "s.sqlite3", tmp_path / "bench.trace"
    r = record_until(
        ["--demo", "--trace", str(trace)],
        store,
        lambda n: all(n.get(c, 0) >= 3 for c in ("battery.voltage.load", "battery.voltage.labjack")),
        what="load and LabJack samples",
    )
    assert r.returncode == 0, r.stderr
    sid = r.stdout.strip().splitlines()[-1]
    t = read_trace(trace)
    assert set(t.devices) == {"labjack", "mppt", "load"}
    assert t.devices["load"]["parity"] == "O"
    assert t.devices["load"]["baud"] == "57600"
    for dev in t.devices:
        assert any(rec.to_device for rec in t.of(dev)), dev
        assert any(not rec.to_device for rec in t.of(dev)), dev
    assert t.sessions == [sid]
    with Store(store) as s:
        info = json.loads(s.session_info_json(sid))
        assert info["wire_trace"]["path"] == str(trace.resolve())
        assert set(info["wire_trace"]["devices"]) == {"labjack", "mppt", "load"}
        assert [e.kind for e in s.events(sid, "trace.")] == ["trace.attached"]


@pytest.mark.parametrize("command", [["record", "--demo"], ["sim", "ea"]])
def test_a_trace_over_the_store_is_refused(cli: Cli, tmp_path: Path, command: list[str]) -> None:
    store = tmp_path / "s.sqlite3"
    store.write_bytes(b"precious")
    r = cli([*command, "--store", str(store), "--trace", str(store)])
    assert r.returncode == 2
    assert "the session store; refusing to write over it" in r.stderr
    assert store.read_bytes() == b"precious"


def test_run_program_refuses_a_trace_over_its_program(cli: Cli, tmp_path: Path) -> None:
    prog = ROOT / "benchgui" / "resources" / "programs"
    program = next(p for p in sorted(prog.glob("*.toml")) if "csv" not in p.read_text())
    copy = tmp_path / program.name
    copy.write_text(program.read_text())
    r = cli(["run-program", str(copy), "--demo", "--trace", str(copy)])
    assert r.returncode == 2
    assert "is the program" in r.stderr


def _first_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the simulator printed nothing"
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


async def test_sim_ea_replay_serves_the_captured_el3160(tmp_path: Path) -> None:
    link, out = tmp_path / "ea.pty", tmp_path / "sim-side.trace"
    proc = spawn_cli(["sim", "ea", "--replay", str(EA_TRACE), "--link", str(link), "--trace", str(out)])
    try:
        line = _first_line(proc)
        assert line.startswith(f"ea: {link} (replaying"), line
        assert "5 recorded answers" in line, line
        t = SerialTransport(str(link), SerialSettings(57600, 8, "O", 1))
        d = EaDriver(t, load_profile("el3160-60"), timeout_s=2.0, retries=0)
        await d.open()
        try:
            texts = await d.read("device_type", "serial", "firmware")
        finally:
            await d.close()
        assert texts == ["EL 3160-60A", "2649810226", "V5.05 02.08.12"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    sim_side = read_trace(out)
    first_answer = read_trace(EA_TRACE).records[1].data.hex()
    assert [r.data.hex() for r in sim_side.of("load")][:2] == ["7000000070", first_answer]


def test_sim_replay_of_a_broken_trace_is_one_line(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.trace"
    bad.write_text("not a trace\n")
    r = cli(["sim", "mppt", "--replay", str(bad)])
    assert r.returncode == 1
    first = "(the first line must be '# benchgui wire trace 1')"
    assert r.stderr.strip() == f"benchgui: {bad}:1: not a benchgui wire trace {first}"
