"""The assembly's demo bench runs the EA simulator through the real driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgui.assembly import assemble
from benchgui.config import load_config
from benchgui.config.schema import EaSection
from benchgui.instruments.ea import factory
from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.transport import SerialTransport
from tests.helpers import async_wait_until, run_cli

pytestmark = pytest.mark.timeout(60)


async def test_demo_bench_uses_the_wire_level_simulator(tmp_path: Path) -> None:
    asm = await assemble(load_config(None), demo=True, store_path=tmp_path / "s.sqlite3", record=False)
    try:
        src = asm.bench.sources["load"]
        assert isinstance(src, LoadSource)
        assert asm.bench.load is src
        assert isinstance(src.transport, SerialTransport)
        assert src.transport.name.startswith("/dev/pts/")
        await asm.bench.start()
        await async_wait_until(lambda: asm.bench.display.latest("battery.voltage.load") is not None, 10)
        await asm.bench.load.set_current(1.5)  # type: ignore[union-attr]
        await asm.bench.load.set_input(True)  # type: ignore[union-attr]
        await async_wait_until(
            lambda: (asm.bench.display.latest("battery.current.load") or (0, 0))[1] < -1.4, 10
        )
    finally:
        await asm.aclose()
    assert src.state.input_on is None  # stopped


def test_hardware_source_uses_the_configured_port() -> None:
    src = factory.hardware(EaSection(port="/dev/ttyUSB7", baud=57600, parity="O"), {})
    assert isinstance(src.transport, SerialTransport)
    assert src.transport.port == "/dev/ttyUSB7"
    assert (src.transport.settings.baud, src.transport.settings.parity) == (57600, "O")
    assert src.profile.name == "el3000"


@pytest.mark.slow
def test_record_headless_demo_records_the_load(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    res = run_cli(["record", "--headless", "--demo", "--duration", "2", "--store", str(store)])
    assert res.returncode == 0, res.stderr
    import sqlite3

    with sqlite3.connect(store) as db:
        names = {r[0] for r in db.execute("select name from channels")}
    assert {"battery.current.load", "load.ah.load"} <= names
