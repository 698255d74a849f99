"""The live SOC filter drops readings flagged over range (a clipped reference) and counts them."""

from __future__ import annotations

import numpy as np

from benchgui.model import Sample, SampleFlag
from benchgui.soc.model import simulate
from tests.core.test_soc_service import T0, feed, make

OVER = int(SampleFlag.OVER_RANGE)


def run(clipped: bool) -> tuple[float, float, dict[str, int]]:
    """A rest then a 1C discharge; ``clipped`` adds, between the regular readings, a clipped
    5.000 V voltage and a clipped current every second for 10 minutes."""
    bench, svc = make()
    t = np.arange(0.0, 1800.0, 1.0)
    i = np.where(t < 120, 0.0, -5.0)
    v, _ = simulate(svc.model, t, i, 0.8)
    feed(bench, t[:600], i[:600], v[:600])
    if clipped:
        for k in range(600):
            one = slice(600 + k, 601 + k)
            feed(bench, t[one], i[one], v[one])
            tn = T0 + int((600 + k + 0.5) * 1e9)  # between the regular readings
            bench.publish(
                [
                    Sample("battery.voltage.labjack", tn, 5.0, OVER),
                    Sample("battery.current.labjack", tn, -50.0, OVER),
                ]
            )
    else:
        feed(bench, t[600:1200], i[600:1200], v[600:1200])
    feed(bench, t[1200:], i[1200:], v[1200:])
    est = svc.latest
    assert est is not None
    return est.soc_pct, est.sigma3_pct, svc.flagged


def test_clipped_readings_change_nothing_and_are_counted() -> None:
    soc, band, flagged = run(clipped=False)
    soc_c, band_c, flagged_c = run(clipped=True)
    assert flagged == {}
    assert flagged_c == {"battery.voltage.labjack": 600, "battery.current.labjack": 600}
    assert soc_c == soc  # exactly the estimate without them
    assert band_c == band
