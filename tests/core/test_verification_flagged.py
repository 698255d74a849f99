"""Verification drops readings flagged over range (a clipped reference) and counts them (issue 23:
the clipped LabJack voltage made the gain error −99.9 %, FAIL)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from benchgui.clock import WallClock
from benchgui.config.schema import VerifySection
from benchgui.core.bench import Bench
from benchgui.core.verification import VerificationService, verify_session
from benchgui.model import Channel, Sample, SampleFlag, SessionMeta
from benchgui.recording.store import Store
from benchgui.verify.analysis import PASS
from benchgui.verify.report_json import to_json
from tests.verify import synth

OVER = int(SampleFlag.OVER_RANGE)
REF_V = "battery.voltage.labjack"


def clipped_session(
    seed: int, ref_period_s: float
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """A synthetic session whose reference voltage reads a clipped 5.000 V for its middle third
    (the range set to ±1 V behind a /5 divider, then set back); returns the channels and the mask."""
    channels = synth.session(seed=seed, ref_period_s=ref_period_s)
    t, v = channels[REF_V]
    n = len(v)
    mask = np.zeros(n, dtype=bool)
    mask[n // 3 : 2 * n // 3] = True
    v = v.copy()
    v[mask] = 5.0
    channels[REF_V] = (t, v)
    return channels, mask


def store_with_flags(path: Path, channels: dict[str, tuple[np.ndarray, np.ndarray]], mask: np.ndarray) -> str:
    t_first = min(int(t[0]) for t, _ in channels.values())
    t_last = max(int(t[-1]) for t, _ in channels.values())
    with Store(path) as store:
        sid = store.create_session(t_first, SessionMeta(operator="tester", kind="demo"), {})
        with store.transaction():
            for name, (t, v) in channels.items():
                quantity, _, source = name.rpartition(".")
                unit = "V" if quantity.endswith("voltage") else "A"
                key = store.channel_key(Channel(name, unit, source, quantity, name))
                flags = mask if name == REF_V else np.zeros(len(v), dtype=bool)
                rows = [
                    (key, int(ti), float(vi), OVER if f else 0) for ti, vi, f in zip(t, v, flags, strict=True)
                ]
                store.insert_samples(sid, rows)
        store.end_session(sid, t_last)
    return sid


def test_a_stored_session_with_a_clipped_reference_is_judged_on_its_valid_readings(tmp_path: Path) -> None:
    clean = synth.session(seed=31, ref_period_s=0.5)
    synth.store_session(tmp_path / "clean.sqlite3", clean)
    expected = verify_session(tmp_path / "clean.sqlite3", "latest", VerifySection()).result
    channels, mask = clipped_session(31, 0.5)
    store_with_flags(tmp_path / "s.sqlite3", channels, mask)

    result = verify_session(tmp_path / "s.sqlite3", "latest", VerifySection()).result
    c = result.get("battery.voltage", "mppt")
    assert c is not None
    ref = expected.get("battery.voltage", "mppt")
    assert ref is not None
    assert c.excluded_flagged == int(mask.sum())
    assert c.verdict == ref.verdict
    assert abs(c.summary.gain.value - ref.summary.gain.value) < 0.01  # not −99.9 % gain error
    assert abs(c.summary.offset.value - ref.summary.offset.value) < 0.01
    current = result.get("battery.current", "mppt")
    assert current is not None
    assert current.excluded_flagged == 0
    stats = to_json(result, verify_session(tmp_path / "s.sqlite3", "latest", VerifySection()).meta)
    assert f'"excluded_flagged": {int(mask.sum())}' in str(stats).replace("'", '"')


def test_live_verification_drops_and_counts_flagged_readings() -> None:
    bench = Bench(WallClock(), [], None)
    settings = dataclasses.replace(VerifySection(), live_interval_s=3600)  # only when asked
    svc = VerificationService(bench, settings)
    try:
        bench.start_session(SessionMeta(operator="op"))
        channels, mask = clipped_session(32, 0.1)
        rows = sorted(
            (int(t), name, float(v), OVER if name == REF_V and f else 0)
            for name, (ts, vs) in channels.items()
            for t, v, f in zip(ts, vs, mask if name == REF_V else np.zeros(len(vs), dtype=bool), strict=True)
        )
        for start in range(0, len(rows), 5000):
            bench.publish([Sample(name, t, v, flags) for t, name, v, flags in rows[start : start + 5000]])
        v = svc.refresh_live().result(timeout=30)
        assert v is not None
        assert svc.flagged == {REF_V: int(mask.sum())}
        c = v.result.get("battery.voltage", "mppt")
        assert c is not None
        assert c.excluded_flagged == int(mask.sum())
        assert abs(c.summary.gain.value - 1.0) < 0.01
        assert c.verdict == PASS
    finally:
        svc.close()
