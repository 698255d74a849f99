"""``benchgui commission``: passes on the simulated bench, names the bytes of a failing step, and
its trace is served back by ``benchgui sim ea --replay`` (the issue's "Done when")."""

from __future__ import annotations

import argparse
import json
import select
import signal
from pathlib import Path

import pytest

from benchgui.cli import commission as cli_commission
from benchgui.commission import checks
from benchgui.config import load_config
from benchgui.instruments.ea.driver import EaDriver
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.protocol import Direction, Kind, Telegram, TelegramReader
from benchgui.instruments.trace import read_trace
from benchgui.instruments.transport import SerialSettings, SerialTransport
from tests.conftest import Cli
from tests.helpers import spawn_cli

pytestmark = pytest.mark.timeout(180)


def _steps(report: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {f"{s['instrument']}: {s['name']}": s for s in report["steps"]}


def test_commission_demo_passes_every_step_and_its_trace_replays(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    r = cli(["commission", "--demo", "--speed", "5", "-o", str(out), "--live-load", "--yes"])
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["passed"] is True
    steps = _steps(report)
    assert all(s["outcome"] == "pass" for s in steps.values()), steps
    for name in (
        "load: identify",
        "load: remote on",
        "load: remote off",
        "load: small setpoint, input off, read back",
        "load: live load 1 A for 5 s",
        "mppt: publication items",
        "mppt: publication period",
        "labjack: input ranges as configured",
        "labjack: one scan of 4 AINs",
    ):
        assert name in steps
    assert "read back 0.49" in steps["load: small setpoint, input off, read back"]["detail"]
    assert "Commissioning PASSED" in out.read_text()
    trace = read_trace(out.with_suffix(".trace"))
    assert {"load", "mppt", "labjack"} <= set(trace.devices)
    assert r.stdout.strip().splitlines()[-1].startswith("commission: PASSED (14 passed, 0 failed, 0 skipped)")
    _replay_round_trip(out.with_suffix(".trace"), tmp_path / "ea.pty")


def _replay_round_trip(trace: Path, link: Path) -> None:
    import asyncio

    proc = spawn_cli(["sim", "ea", "--replay", str(trace), "--link", str(link)])
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)  # a slow machine's start-up
        assert ready, "the replaying simulator printed nothing"
        assert proc.stdout is not None
        assert "replaying" in proc.stdout.readline()

        async def talk() -> None:
            t = SerialTransport(str(link), SerialSettings(57600, 8, "O", 1))
            d = EaDriver(t, load_profile("el3000"), timeout_s=2.0, retries=0)
            await d.open()
            try:
                ident = await d.identify()
                assert ident.device_type == "EL 3160-60A"
                assert ident.nominal_current_a == 60.0
                actual = await d.read_actual()
                assert 10.0 < actual.voltage_v < 15.0
                await d.remote(True)
                await d.set_current(0.5)
                assert await d.read("set_current") == [pytest.approx(0.5, abs=0.005)]
            finally:
                await d.close()

        asyncio.run(talk())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.communicate(timeout=30)


async def test_a_failing_step_names_what_was_sent_and_what_came_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load stops answering once it is identified: the next step fails with its bytes."""
    real_ea = checks.ea

    async def mute_then_check(walk, bench, src):  # type: ignore[no-untyped-def]
        src.simulator.mute = True
        await real_ea(walk, bench, src)

    monkeypatch.setattr(checks, "ea", mute_then_check)
    args = argparse.Namespace(demo=True, speed=5.0, step_timeout=20.0, live_load=False)
    paths = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.trace"
    rc = await cli_commission.commission(args, load_config(None), *paths, False)
    assert rc == 1
    report = json.loads(paths[1].read_text())
    assert report["passed"] is False
    failed = [s for s in report["steps"] if s["outcome"] == "fail"]
    assert failed
    assert all(s["instrument"] == "load" for s in failed)
    first = failed[0]
    assert first["name"] == "read U, I, P"
    # A query went out — the step's own (object 71) or, on a busy machine, one of the source's
    # polls (status, object 70; Ah counter, object 69: both seen under stress-ng), whose
    # unanswered 0.5 s closes the link before the step's query is sent. Which one depends on
    # timing; that each is a well-formed query telegram (checksum and all) does not — …
    sent = [e.removeprefix("sent ") for e in first["exchange"] if e.startswith("sent ")]
    assert sent, first["exchange"]
    for hexbytes in sent:
        reader = TelegramReader(Direction.TO_DEVICE)
        reader.feed(bytes.fromhex(hexbytes))
        telegram = reader.next_event()
        assert isinstance(telegram, Telegram), hexbytes
        assert telegram.kind is Kind.QUERY, telegram.describe()
        assert telegram.node == 0, telegram.describe()
    assert first["exchange"][-1] == "nothing came back"  # …and nothing answered
    assert first["exchange"][-2].startswith("sent ")  # the last request is the unanswered one
    assert "nothing came back" in paths[0].read_text()


def test_live_load_without_confirmation_is_skipped(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = cli(["commission", "--demo", "--speed", "5", "-o", str(out), "--live-load"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "--live-load not confirmed" in r.stderr
    steps = _steps(json.loads(out.with_suffix(".json").read_text()))
    assert steps["load: live load"]["outcome"] == "skip"


def test_commission_refuses_to_write_over_the_config(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    r = cli(["commission", "--demo", "--config", str(cfg), "--trace", str(cfg)])
    assert r.returncode == 2
    assert "the configuration file; refusing" in r.stderr


async def test_a_refused_setpoint_names_the_write_and_the_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load refuses the current set value (error 0x30, upper limit): the step shows both telegrams."""
    real_ea = checks.ea

    async def refuse_then_check(walk, bench, src):  # type: ignore[no-untyped-def]
        device = src.simulator.device
        real_write = device._write

        def write(spec, data):  # type: ignore[no-untyped-def]
            return 0x30 if spec.role == "set_current" else real_write(spec, data)

        monkeypatch.setattr(device, "_write", write)
        await real_ea(walk, bench, src)

    monkeypatch.setattr(checks, "ea", refuse_then_check)
    args = argparse.Namespace(demo=True, speed=5.0, step_timeout=20.0, live_load=False)
    paths = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.trace"
    assert await cli_commission.commission(args, load_config(None), *paths, False) == 1
    steps = _steps(json.loads(paths[1].read_text()))
    step = steps["load: small setpoint, input off, read back"]
    assert step["outcome"] == "fail"
    exchange = " | ".join(step["exchange"])
    assert "sent f1 00 33 00 d5" in exchange  # 0.5 A of 60 A = raw 213 = 0x00d5, to object 51
    assert "got  c0 01 ff 30" in exchange  # the answer: OBJ 0xFF, code 0x30
    assert [s["outcome"] for n, s in steps.items() if n != "load: small setpoint, input off, read back"] == [
        "pass"
    ] * (len(steps) - 1)


async def test_a_step_on_an_untraced_link_says_so_instead_of_listing_bytes(tmp_path: Path) -> None:
    from benchgui.commission.steps import CheckFailed, Walk
    from benchgui.instruments.trace import TraceWriter

    writer = TraceWriter(tmp_path / "t.trace")
    hook = writer.device("load", {"kind": "serial"})
    walk = Walk(writer, timeout_s=5.0)

    async def fails() -> str:
        hook(True, b"\x70\x00\x00\x00\x70")
        raise CheckFailed("no")

    assert not await walk.step("labjack", "labjack", "scan", fails)  # LJM: no @device line
    assert not await walk.step("load", "load", "identify", fails)
    writer.close()
    assert walk.results[0].exchange == ["(this link's bytes are not visible: not traced)"]
    assert walk.results[1].exchange == ["sent 70 00 00 00 70", "nothing came back"]
    assert walk.passed is False
