"""The live SOC estimator as a bench listener: channels in, soc.* channels out."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchgui.assembly import assemble
from benchgui.clock import ScaledClock
from benchgui.config import load_config
from benchgui.config.schema import BatterySection, Config, SocSection
from benchgui.core.bench import Bench
from benchgui.core.soc_service import SOC_CHANNELS, SocService, attach_soc, model_for
from benchgui.errors import ConfigError, ValueOutOfRange
from benchgui.model import Sample
from benchgui.soc.model import simulate
from benchgui.soc.spkf import SpkfTuning
from tests.helpers import async_wait_until
from tests.soc.synthetic import nmc_like

T0 = 1_700_000_000_000_000_000


def make(
    voltage: str = "battery.voltage.labjack", current: str = "battery.current.labjack", **options: Any
) -> tuple[Bench, SocService]:
    bench = Bench(ScaledClock(1.0), [])
    svc = SocService(
        bench, nmc_like(), SpkfTuning(), voltage_channel=voltage, current_channel=current, **options
    )
    return bench, svc


def feed(
    bench: Bench, t: np.ndarray, i: np.ndarray, v: np.ndarray, every_i: int = 1, every_v: int = 1
) -> None:
    """LabJack-style batches: V, I (and P) of one instant published together."""
    for k, (tk, ik, vk) in enumerate(zip(t, i, v, strict=True)):
        tn = T0 + int(tk * 1e9)
        batch = []
        if k % every_v == 0:
            batch.append(Sample("battery.voltage.labjack", tn, float(vk)))
        if k % every_i == 0:
            batch.append(Sample("battery.current.labjack", tn, float(ik)))
            batch.append(Sample("battery.current.mppt", tn, float(ik)))
        bench.publish(batch)


def test_publishes_estimate_band_and_coulomb_counting() -> None:
    bench, svc = make()
    assert {c.name for c in SOC_CHANNELS} <= set(bench.channels)
    out: list[Sample] = []
    bench.samples_published.connect(lambda s: out.extend(x for x in s if x.channel.startswith("soc.")))
    t = np.arange(0.0, 1800.0, 0.5)
    i = np.where(t < 180, 0.0, -5.0)  # rest, then 1C discharge
    v, z = simulate(svc.model, t, i, 0.8)
    feed(bench, t, i, v)
    names = {s.channel for s in out}
    assert names == {"soc.spkf", "soc.spkf.sigma3", "soc.coulomb"}
    est = svc.latest
    assert est is not None
    # started from the rested voltage, then again from the 3-minute rest's relaxation fitted
    assert est.initial_how == "from the first 3 min of rest, its relaxation fitted"
    assert est.soc_pct == pytest.approx(100 * z[-1], abs=1.0)
    assert est.coulomb_pct == pytest.approx(100 * z[-1], abs=1.0)
    assert 0 < est.sigma3_pct < 5
    assert est.current_a == pytest.approx(-5.0, abs=0.1)
    assert est.time_to_empty_s == pytest.approx(est.soc_pct / 100 * 3600, rel=0.02)
    assert est.time_to_full_s is None
    latest = bench.display.latest("soc.spkf")
    assert latest is not None
    assert latest[1] == pytest.approx(est.soc_pct)


def test_channels_from_different_instruments_and_rates() -> None:
    """MPPT current at 1 Hz, LabJack voltage at 10 Hz: charge is integrated between readings."""
    bench, svc = make(current="battery.current.mppt")
    t = np.arange(0.0, 1200.0, 0.1)
    i = np.where(t < 60, 0.0, 2.5)  # charging
    v, z = simulate(svc.model, t, i, 0.3)
    feed(bench, t, i, v, every_i=10, every_v=1)
    est = svc.latest
    assert est is not None
    assert est.coulomb_pct == pytest.approx(100 * z[-1], abs=0.3)
    assert est.soc_pct == pytest.approx(100 * z[-1], abs=1.0)
    assert est.time_to_full_s is not None
    assert est.soc_pct_per_h > 0


def test_no_estimate_without_a_current() -> None:
    bench, svc = make()
    bench.publish([Sample("battery.voltage.labjack", T0, 14.8)])
    assert svc.latest is None
    bench.publish([Sample("battery.current.labjack", T0, 0.0)])
    bench.publish([Sample("battery.voltage.labjack", T0 + int(60e9), 14.8)])  # current 60 s old
    assert svc.latest is None
    bench.publish([Sample("battery.current.labjack", T0 + int(61e9), 0.0)])
    bench.publish([Sample("battery.voltage.labjack", T0 + int(61e9), 14.8)])
    assert svc.latest is not None
    svc.reset(40.0, 5.0)
    assert svc.filter is None
    bench.publish([Sample("battery.current.labjack", T0 + int(62e9), 0.0)])
    bench.publish([Sample("battery.voltage.labjack", T0 + int(62e9), 14.8)])
    assert svc.latest.initial_how == "configured"


def test_configuration_picks_model_capacity_and_can_disable(tmp_path: Path) -> None:
    cfg = Config(battery=BatterySection(model="lifepo4-4s", capacity_ah=100.0))
    m = model_for(cfg)
    assert m.cells_in_series == 4
    assert m.capacity_ah == 100.0
    assert model_for(Config()).chemistry == "lead-acid"
    by_chemistry = model_for(Config(battery=BatterySection(chemistry="lifepo4-4s")))
    assert by_chemistry.chemistry == "lifepo4"
    assert by_chemistry.capacity_ah == Config().simulation.capacity_ah
    bench = Bench(ScaledClock(1.0), [])
    assert attach_soc(bench, replace(cfg, soc=SocSection(enabled=False))) is None
    assert bench.services.soc is None
    with pytest.raises(ConfigError, match="no cell model"):
        attach_soc(bench, Config(battery=BatterySection(model="no-such-model")))


async def test_runs_live_on_the_simulated_bench(tmp_path: Path) -> None:
    asm = await assemble(load_config(), demo=True, speed=20.0, store_path=tmp_path / "s.sqlite3", wire=False)
    bench = asm.bench
    svc = bench.services.soc
    await bench.start()
    try:
        await async_wait_until(
            lambda: bench.display.latest("soc.spkf") is not None, timeout=20, what="soc.spkf"
        )
        await async_wait_until(lambda: len(bench.display.get("soc.spkf")) > 20, timeout=20, what="estimates")
        est = svc.latest
        # the simulated battery starts at 80 % (simulation.initial_soc_pct) and rests
        assert est.soc_pct == pytest.approx(80.0, abs=8.0)
        # from the rested voltage, and after 10 min of rest (or at its end) again from what the
        # rest showed (the sun may end it at once: then with a wide σ)
        assert est.initial_how == "from rested voltage" or "of rest" in est.initial_how
    finally:
        await asm.aclose()


def test_operator_starts_the_estimate_over_at_a_soc_they_know() -> None:
    bench, svc = make()
    events = []
    bench.event_recorded.connect(events.append)
    t = np.arange(0.0, 600.0, 1.0)
    i = np.full(len(t), -2.5)  # discharging: no rest to weigh the operator's SOC with
    v, z = simulate(svc.model, t, i, 0.8)
    feed(bench, t[:300], i[:300], v[:300])
    assert svc.latest is not None
    event = svc.start_over(30.0, 2.0)
    assert svc.latest is None  # the gauge waits for the new start's first estimate
    assert svc.filter is None
    assert (event.kind, event.data) == ("soc.start_over", {"soc_pct": 30.0, "sigma_pct": 2.0})
    assert "at 30 % ± 2 % (1σ)" in event.text
    assert events == [event]  # recorded with the session
    feed(bench, t[300:], i[300:], v[300:])
    est = svc.latest
    assert est is not None
    assert est.initial_how == "set by the operator"
    assert est.coulomb_pct == pytest.approx(30.0 - 100 * (z[300] - z[-1]), abs=0.2)  # counted from 30 %


def test_start_over_from_the_voltage_returns_to_the_auto_start() -> None:
    bench, svc = make(initial="config", initial_soc_pct=20.0)
    t = np.arange(0.0, 400.0, 1.0)
    i = np.full(len(t), -2.5)
    v, z = simulate(svc.model, t, i, 0.8)
    feed(bench, t[:100], i[:100], v[:100])
    assert svc.latest is not None
    assert svc.latest.initial_how == "configured"
    event = svc.start_over(None, 5.0)
    assert event.data == {"soc_pct": None, "sigma_pct": None}
    assert svc.initial_sigma == 0.2  # the configured fallback σ is not the operator's
    assert "from the battery's voltage" in event.text
    feed(bench, t[100:], i[100:], v[100:])
    assert svc.latest is not None
    assert svc.latest.initial_how.startswith("from the voltage under")
    assert svc.latest.soc_pct == pytest.approx(100 * z[-1], abs=3.0)  # not the configured 20 %


@pytest.mark.parametrize(
    ("soc", "sigma"), [(-1.0, 5.0), (101.0, 5.0), (50.0, 0.0), (50.0, 60.0), (None, -1.0)]
)
def test_start_over_refuses_values_out_of_range_and_changes_nothing(soc: float | None, sigma: float) -> None:
    bench, svc = make()
    t = np.arange(0.0, 100.0, 1.0)
    i = np.full(len(t), -2.5)
    v, _ = simulate(svc.model, t, i, 0.8)
    feed(bench, t, i, v)
    before = svc.filter
    with pytest.raises(ValueOutOfRange):
        svc.start_over(soc, sigma)
    assert svc.filter is before
    assert svc.latest is not None
