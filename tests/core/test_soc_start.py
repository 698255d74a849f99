"""Issue 19, item 6: the SOC estimate starts near the truth while the battery is charging.

On the demo the simulated battery is at 80 % and the sun charges it from the first second: no
rested voltage. Before the fix the SPKF and the coulomb count started at the configured 50 %
and needed minutes to climb; now the start is the voltage corrected by the model for the
present current, and the gauge says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchgui.assembly import assemble
from benchgui.clock import ScaledClock
from benchgui.config import load_config
from benchgui.core.bench import Bench
from benchgui.core.soc_service import SocService
from benchgui.model import Sample
from benchgui.soc.model import simulate
from benchgui.soc.spkf import SpkfTuning
from benchgui.soc.start import soc_from_prior, soc_under_current
from tests.helpers import async_wait_until
from tests.soc.synthetic import nmc_like

T0 = 1_700_000_000_000_000_000


async def test_demo_start_under_charge_is_near_the_simulated_battery(tmp_path: Path) -> None:
    # the demo as the GUI runs it: wire-level simulators (the charger is charging at the first reading)
    asm = await assemble(load_config(), demo=True, speed=1.0, store_path=tmp_path / "s.sqlite3")
    bench, world = asm.bench, asm.world
    assert world is not None
    svc = bench.services.soc
    assert svc is not None
    await bench.start()
    try:
        await async_wait_until(lambda: svc.latest is not None, timeout=30, what="the first SOC estimate")
        est = svc.latest
        assert est is not None
        truth = 100 * world.battery.soc
        assert est.current_a > svc.model.rest_current_a()  # charging: no rested voltage to start from
        assert est.initial_how.startswith("from the voltage under +")
        # before: 50 % ("configured") with the battery at 80 %
        assert est.soc_pct == pytest.approx(truth, abs=3.0)
        assert est.coulomb_pct == pytest.approx(truth, abs=3.0)
    finally:
        await asm.aclose()


@pytest.mark.parametrize("current_a", [2.5, -5.0])
@pytest.mark.parametrize("flowing_s", [2.0, 600.0])
def test_start_under_current_recovers_the_true_soc(current_a: float, flowing_s: float) -> None:
    """The model's own battery, a current just switched on or flowing for 10 min, either sign."""
    m = nmc_like()
    t = np.arange(0.0, flowing_s + 1.0, 1.0)
    v, z = simulate(m, t, np.full(len(t), current_a), 0.6)
    start = soc_under_current(m, float(v[-1]), current_a)
    assert start is not None
    soc, sigma, how = start
    assert abs(soc - z[-1]) < 2 * sigma  # the σ covers what the start does not know (the RC state)
    if flowing_s < 10:
        assert soc == pytest.approx(z[-1], abs=0.01)  # the filter's own start state: exact
    assert sigma < 0.2
    assert f"{current_a:+.2f} A" in how


def test_unusable_voltage_falls_back_to_the_mppt_prior() -> None:
    bench = Bench(ScaledClock(1.0), [])
    svc = SocService(
        bench,
        nmc_like(),
        SpkfTuning(),
        voltage_channel="battery.voltage.labjack",
        current_channel="battery.current.labjack",
    )
    assert soc_under_current(svc.model, 400.0, 3.0) is None  # no OCV of the model is near 400 V
    bench.publish([Sample("soc.mppt", T0, 77.0), Sample("battery.current.labjack", T0, 3.0)])
    bench.publish([Sample("battery.voltage.labjack", T0, 400.0)])
    assert svc.latest is not None
    assert svc.latest.soc_pct == pytest.approx(77.0)
    assert svc.latest.initial_how.startswith("from the MPPT's SOC as a prior")
    assert soc_from_prior(float("nan"), "MPPT") is None
