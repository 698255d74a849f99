"""The MPPT in the assembled bench: demo through the real driver, hardware by config, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgui.assembly import assemble
from benchgui.config.loader import LoadedConfig, parse_config
from benchgui.config.schema import Config, MpptSection
from benchgui.errors import ConfigError
from benchgui.instruments.mppt import factory
from benchgui.instruments.mppt.source import MpptSource
from benchgui.instruments.transport import SerialTransport
from benchgui.model import InstrumentState
from benchgui.recording.store import Store
from tests.helpers import async_wait_until
from tests.support.headless import record_until

pytestmark = pytest.mark.timeout(90)


async def test_demo_bench_uses_the_simulator_through_the_real_driver() -> None:
    asm = await assemble(LoadedConfig(Config(), None, {}), demo=True, record=False)
    source = asm.bench.sources["mppt"]
    assert isinstance(source, MpptSource)
    assert isinstance(source.transport, SerialTransport)
    link = Path(source.transport.port)
    try:
        await asm.bench.start()
        await async_wait_until(lambda: source.status.state is InstrumentState.CONNECTED, 15, what="connected")
        await async_wait_until(lambda: asm.bench.display.latest("soc.mppt") is not None, 10, what="soc.mppt")
        await async_wait_until(lambda: asm.bench.display.latest("charger.state.mppt") is not None, 10)
        assert link.is_symlink()
        # the simulator drives the charger now: the battery sees a charger contributor
        assert "charger" in asm.world.battery._s.currents  # type: ignore[union-attr]
    finally:
        await asm.aclose()
    assert not link.exists()
    assert not link.parent.exists()


async def test_hardware_source_on_a_missing_port_reports_and_retries(tmp_path: Path) -> None:
    from benchgui.clock import WallClock
    from benchgui.core.bench import Bench

    missing = tmp_path / "no-such-mppt"
    source = factory.hardware(MpptSection(port=str(missing)), {})
    assert isinstance(source, MpptSource)
    assert source.transport.name == str(missing)
    bench = Bench(WallClock(), [source])
    await bench.start()
    try:
        await async_wait_until(lambda: "cannot open" in source.status.text, 10, what="status")
        assert source.status.state is InstrumentState.CONNECTING
    finally:
        await bench.stop()


def test_config_keys() -> None:
    cfg = parse_config(
        {"instruments": {"mppt": {"port": "/dev/ttyACM0", "extra_items": ["Bat_degC"], "timeout_s": 2}}}
    )
    assert cfg.instruments.mppt == MpptSection(port="/dev/ttyACM0", extra_items=("Bat_degC",), timeout_s=2.0)
    with pytest.raises(ConfigError, match=r"instruments\.mppt\.extra_items"):
        parse_config({"instruments": {"mppt": {"extra_items": "Bat_degC"}}})
    with pytest.raises(ConfigError, match=r"instruments\.mppt\.baud"):
        parse_config({"instruments": {"mppt": {"baud": 1234}}})


def test_example_config_documents_the_mppt_keys() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[3]
    data = tomllib.loads((root / "resources" / "config.example.toml").read_text())
    section = data["instruments"]["mppt"]
    assert set(section) == set(MpptSection.__dataclass_fields__)
    parse_config({"instruments": {"mppt": section}})


@pytest.mark.slow
def test_record_headless_demo_records_mppt_channels(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    res = record_until(
        ["--demo"],
        store,
        lambda n: n.get("battery.voltage.mppt", 0) >= 2 and n.get("soc.mppt", 0) >= 2,
        what="two MPPT statements in the store",
    )
    assert res.returncode == 0, res.stderr
    session = res.stdout.strip().splitlines()[-1]
    with Store(store, readonly=True) as s:
        _t, v = s.samples(session, "battery.voltage.mppt")
        assert len(v) >= 2
        assert 10 < v[-1] < 15
        assert len(s.samples(session, "soc.mppt")[1]) >= 2
        info = s.session_info_json(session)
    assert "Libre Solar" in info  # device info stored in the session once learned
