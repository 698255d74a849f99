"""``--trace FILE`` on record / run-program / sim, the trace as the session's attachment, and
``benchgui sim ea|mppt --replay`` as separate processes."""

from __future__ import annotations

import asyncio
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
from tests.helpers import ROOT, run_cli, spawn_cli
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


def test_the_gui_traces_its_links(tmp_path: Path) -> None:
    trace = tmp_path / "gui.trace"
    png = tmp_path / "w.png"
    r = run_cli(["--demo", "--trace", str(trace), "--screenshot", str(png), "--quit-after", "3"], timeout=90)
    assert r.returncode == 0, r.stderr
    t = read_trace(trace)
    assert set(t.devices) == {"labjack", "mppt", "load"}
    assert t.of("load")
    assert len(t.sessions) == 1  # the GUI's auto-started session


def test_run_program_traces_the_setpoints_it_sends(tmp_path: Path) -> None:
    prog = tmp_path / "p.toml"
    prog.write_text("[[step]]\nkind = 'cc'\ncurrent_a = 1.5\nduration_s = 5\n")
    trace = tmp_path / "p.trace"
    r = run_cli(["run-program", str(prog), "--demo", "--speed", "20", "--trace", str(trace)], timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    sent = [rec.data for rec in read_trace(trace).of("load") if rec.to_device]
    # 1.5 A of 60 A = 640 raw = 0x0280, written to object 51 (SD 0xF1: send 2 bytes)
    assert any(d[:5] == bytes.fromhex("f1 00 33 02 80") for d in sent), [d.hex(" ") for d in sent[-20:]]
    session = json.loads(r.stdout.strip().splitlines()[-1])["session"]
    assert read_trace(trace).sessions == [session]


def test_trace_before_the_command_and_where_it_does_not_apply() -> None:
    from benchgui.cli import build_parser, main

    assert build_parser().parse_args(["--trace", "x.trace", "record"]).trace == "x.trace"
    assert build_parser().parse_args(["--trace", "x.trace", "commission"]).trace == "x.trace"
    with pytest.raises(SystemExit) as exc:
        main(["--trace", "x.trace", "sessions", "list"])
    assert exc.value.code == 2


async def test_sim_bench_traces_each_simulator_under_the_bench_names(tmp_path: Path) -> None:
    ea, mppt, out = tmp_path / "ea.pty", tmp_path / "mppt.pty", tmp_path / "sim.trace"
    proc = spawn_cli(
        [
            "sim",
            "bench",
            "--ea-link",
            str(ea),
            "--mppt-link",
            str(mppt),
            "--labjack-port",
            "0",
            "--trace",
            str(out),
        ]
    )
    try:
        lines = [_first_line(proc) for _ in range(3)]
        assert any(line.startswith("ea: ") for line in lines), lines
        d = EaDriver(SerialTransport(str(ea), SerialSettings(57600, 8, "O", 1)), load_profile("el3000"))
        await d.open()
        try:
            await d.identify()
        finally:
            await d.close()
        m = SerialTransport(str(mppt), SerialSettings(115200))
        await m.open()
        try:
            await m.write(b"?info\n")
            got = b""
            while b"\n:" not in b"\n" + got:
                got += await asyncio.wait_for(m.read(), 20)
        finally:
            await m.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    t = read_trace(out)
    assert set(t.devices) == {"load", "mppt"}  # the LabJack simulator serves TCP from a thread
    assert t.of("load")[0].data == bytes.fromhex("70 00 00 00 70")
    assert any(r.to_device and r.data == b"?info\n" for r in t.of("mppt"))
    assert any(not r.to_device and b":85 " in r.data for r in t.of("mppt"))


def test_an_unwritable_trace_is_one_line_before_anything_starts(cli: Cli, tmp_path: Path) -> None:
    where = tmp_path / "no" / "dir" / "x.trace"
    r = cli(["record", "--demo", "--duration", "1", "--trace", str(where)])
    assert r.returncode == 1
    assert r.stderr.strip() == f"benchgui: cannot write the trace {where}: No such file or directory"
