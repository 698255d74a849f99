"""The command line: ``benchgui sim labjack`` as a separate process, ``benchgui labjack info``,
and the simulated bench recording LabJack samples through the Modbus TCP backend."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from pathlib import Path

import pytest

from benchgui.instruments.labjack.backends.modbus import ModbusBackend
from tests.helpers import run_cli, spawn_cli
from tests.support.headless import record_until

pytestmark = pytest.mark.timeout(90)


async def test_sim_labjack_serves_modbus_tcp_on_the_port_it_reports() -> None:
    proc = spawn_cli(["sim", "labjack", "--port", "0"])
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        m = re.fullmatch(r"labjack: Modbus TCP on 127\.0\.0\.1:(\d+)\n", line)
        assert m, line
        b = ModbusBackend("127.0.0.1", int(m.group(1)))
        info = await asyncio.wait_for(b.open(), 10)
        volts = await b.read_ains([1, 2])
        await b.close()
        assert info.model == "T7"
        assert 2.0 < volts[1] < 3.0  # a 12 V battery through /5
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0


def test_labjack_info_on_the_simulator() -> None:
    r = run_cli(["labjack", "info", "--demo"])
    assert r.returncode == 0, r.stderr
    assert "T7  serial 470099999" in r.stdout
    assert re.search(r"battery\.voltage\.labjack\s+AIN2\s+±10 V\s+\+2\.\d+ V\s+→ \+1\d\.\d+ V", r.stdout)
    assert "battery.current.labjack" in r.stdout


def test_labjack_info_without_ljm_says_what_to_install() -> None:
    r = run_cli(["labjack", "info", "--backend", "ljm"])
    if r.returncode == 0:  # pragma: no cover - LabJack's library and a T7 are present
        pytest.skip("LJM is installed here")
    assert r.returncode == 1
    assert "LJM" in r.stderr
    assert "https://labjack.com/support/software/installers/ljm" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_headless_demo_records_labjack_through_modbus(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    channels = ("battery.voltage.labjack", "battery.current.labjack", "battery.power.labjack")
    r = record_until(
        ["--demo"], store, lambda n: all(n.get(c, 0) >= 10 for c in channels), what="10 polls of the T7"
    )
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(store) as db:
        rows = dict(
            db.execute(
                "SELECT c.name, count(*) FROM samples s JOIN channels c ON c.key = s.channel "
                "WHERE c.name LIKE '%.labjack' GROUP BY c.name"
            ).fetchall()
        )
        events = [t for (t,) in db.execute("SELECT text FROM events WHERE kind = 'instrument.connected'")]
    assert set(rows) == {"battery.voltage.labjack", "battery.current.labjack", "battery.power.labjack"}
    assert min(rows.values()) >= 10
    assert any("via modbus 127.0.0.1:" in t for t in events)
