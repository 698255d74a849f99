"""The bench core on the in-process simulated bench (no ptys, no sockets): fast and exact."""

from pathlib import Path

import pytest

from benchgui.assembly import assemble
from benchgui.config import load_config
from benchgui.model import InstrumentState, SessionMeta
from benchgui.recording.store import Store
from tests.helpers import async_wait_until


async def test_bench_publishes_records_and_sessions(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    asm = await assemble(load_config(), demo=True, speed=50.0, store_path=store, wire=False)
    bench = asm.bench
    seen = []
    bench.samples_published.connect(seen.extend)
    await bench.start()
    try:
        session = bench.start_session(SessionMeta(operator="t", battery_id="B1", kind="demo"))
        await async_wait_until(lambda: bench.sample_count > 300, timeout=30, what="samples")
        assert all(st.state is InstrumentState.CONNECTED for st in bench.status.values())
        assert {"battery.voltage.labjack", "battery.voltage.mppt", "battery.voltage.load"} <= {
            s.channel for s in seen
        }
        assert bench.display.latest("battery.voltage.labjack") is not None
        bench.annotate("hello")
    finally:
        await asm.aclose()
    with Store(store) as s:
        info = s.session(session.id)
        assert info.ended_ns is not None
        assert info.samples == bench.sample_count  # the session started before acquisition
        kinds = [e.kind for e in s.events(session.id)]
        assert kinds[0] == "session.start"
        assert "annotation" in kinds
        assert kinds[-1] == "session.stop"


async def test_load_sag_is_seen_by_every_instrument(tmp_path: Path) -> None:
    """One battery: the load's current makes all three voltmeters drop together."""
    # 20 A is the default current limit: the load's own noisy reading of it would trip the
    # supervisor once it stays above for the 1 s debounce — likelier the fewer samples a busy
    # machine gets into a bench second at speed 20
    config = tmp_path / "config.toml"
    config.write_text("[safety]\nmax_current_a = 30\n")
    loaded = load_config(config)
    asm = await assemble(loaded, demo=True, speed=20.0, store_path=tmp_path / "s.sqlite3", wire=False)
    bench = asm.bench
    await bench.start()
    try:
        await async_wait_until(lambda: bench.display.latest("battery.voltage.load") is not None, 30)
        names = ["battery.voltage.labjack", "battery.voltage.mppt", "battery.voltage.load"]

        def mean_v(name: str, since: float) -> float:
            buf = bench.display.get(name)
            _t, v = buf.window(since)
            return float(v.mean())

        t_before = bench.clock.now_ns() / 1e9
        await bench.clock.sleep(4.0)
        before = {n: mean_v(n, t_before) for n in names}
        assert bench.load is not None
        await bench.load.set_current(20.0)
        await bench.load.set_input(True)
        t_on = bench.clock.now_ns() / 1e9 + 1.0
        await bench.clock.sleep(6.0)
        during = {n: mean_v(n, t_on) for n in names}
        drops = [before[n] - during[n] for n in names]
        assert all(d > 0.3 for d in drops), drops  # ≈ 20 A × R0 on every instrument
        assert max(drops) - min(drops) < 0.15, drops  # …and they agree within their sensor errors
        i_lj = bench.display.latest("battery.current.labjack")
        assert i_lj is not None
        assert i_lj[1] < -10
        assert bench.services.supervisor.trip_state is None
    finally:
        await asm.aclose()
    assert bench.load.input_on is False  # stopping the bench switched the load off


async def test_real_instruments_need_their_drivers(tmp_path: Path) -> None:
    from benchgui.config.loader import LoadedConfig
    from benchgui.config.schema import Config, InstrumentsSection, MpptSection
    from benchgui.errors import ConfigError

    cfg = Config(instruments=InstrumentsSection(mppt=MpptSection(port=str(tmp_path / "nothing"))))
    with pytest.raises(ConfigError):
        await assemble(LoadedConfig(cfg, None, {}), speed=10.0, store_path=tmp_path / "s.sqlite3")
