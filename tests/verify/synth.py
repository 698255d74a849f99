"""Synthetic bench sessions with known sensor errors, for the verification tests.

A true battery (current profile: rest, discharge at 1 A and 3 A, rest, charge at 5 A tapering
off, rest; voltage = OCV(charge) + R·I) is read by a reference (fast, nearly perfect) and by a
device (slow, with an injected offset, gain and noise, sampling at its own instants).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

T0_NS = 1_700_000_000 * 10**9

# (duration s, current A): charge positive
PROFILE = (
    (600, 0.0),
    (900, -1.0),
    (1200, -3.0),
    (900, 0.0),
    (1500, 5.0),
    (600, 0.0),
)


def true_current(t_s: np.ndarray) -> np.ndarray:
    edges = np.cumsum([0] + [d for d, _ in PROFILE])
    out = np.zeros_like(t_s)
    for (d, amps), t0 in zip(PROFILE, edges[:-1], strict=True):
        m = (t_s >= t0) & (t_s < t0 + d)
        if amps > 0:  # constant-voltage taper in the second half of the charge
            half = t0 + d / 2
            out[m] = np.where(t_s[m] < half, amps, amps * np.exp(-(t_s[m] - half) / 400))
        else:
            out[m] = amps
    return out


def duration_s() -> float:
    return float(sum(d for d, _ in PROFILE))


def true_voltage(t_s: np.ndarray, r_ohm: float = 0.05) -> np.ndarray:
    i = true_current(t_s)
    charge = np.cumsum(i) * (t_s[1] - t_s[0]) if len(t_s) > 1 else np.zeros_like(t_s)
    return 12.8 + charge / 3600 * 0.08 + r_ohm * i


@dataclass
class Sensor:
    gain: float = 1.0
    offset: float = 0.0
    noise: float = 0.0
    period_s: float = 1.0
    phase_s: float = 0.0
    jitter_s: float = 0.0
    average_s: float = 0.0  # the reading is the mean of the truth over this long before its instant


def read(
    sensor: Sensor,
    truth,  # type: ignore[no-untyped-def]  # callable t_s -> values
    rng: np.random.Generator,
    t_end: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(t_ns, values) of one sensor reading ``truth`` at its own instants."""
    end = duration_s() if t_end is None else t_end
    t = np.arange(sensor.phase_s, end, sensor.period_s)
    if sensor.jitter_s:
        t = t + rng.uniform(0, sensor.jitter_s, len(t))
    if sensor.average_s > 0:
        sub = np.linspace(-sensor.average_s, 0, 11)
        seen = np.mean([truth(t + d) for d in sub], axis=0)
    else:
        seen = truth(t)
    v = sensor.gain * seen + sensor.offset + rng.normal(0, sensor.noise, len(t)) * (sensor.noise > 0)
    return (T0_NS + np.round(t * 1e9).astype(np.int64)), v


def fine_truth(fn, step_s: float = 0.01):  # type: ignore[no-untyped-def]
    """Turn a function of a regular grid (like true_voltage) into one of arbitrary instants."""
    grid = np.arange(0, duration_s() + 1, step_s)
    values = fn(grid)
    return lambda t: np.interp(t, grid, values)


def session(
    *,
    seed: int = 1,
    i_dev: Sensor | None = None,
    v_dev: Sensor | None = None,
    i_ref: Sensor | None = None,
    v_ref: Sensor | None = None,
    v_load: Sensor | None = None,
    ref_period_s: float = 0.1,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Channels of a synthetic session, named as on the bench (``ref_period_s``: the reference's
    sampling interval; tests that write the session to a store use a slower one)."""
    rng = np.random.default_rng(seed)
    i_ref = i_ref or Sensor(noise=0.002, period_s=ref_period_s)
    v_ref = v_ref or Sensor(noise=0.0005, period_s=ref_period_s)
    i_dev = i_dev or Sensor(gain=1.03, offset=0.02, noise=0.01, period_s=1.0, phase_s=0.37)
    v_dev = v_dev or Sensor(offset=-0.03, noise=0.005, period_s=1.0, phase_s=0.37)
    v_truth = fine_truth(true_voltage)
    out = {
        "battery.current.labjack": read(i_ref, true_current, rng),
        "battery.voltage.labjack": read(v_ref, v_truth, rng),
        "battery.current.mppt": read(i_dev, true_current, rng),
        "battery.voltage.mppt": read(v_dev, v_truth, rng),
    }
    if v_load is not None:
        out["battery.voltage.load"] = read(v_load, v_truth, rng)
    return out


INSTRUMENTS = {
    "labjack": {"model": "T7", "serial": "470000001", "firmware": "1.0299"},
    "mppt": {"model": "MPPT 1210 HUS", "serial": "ABC123", "firmware": "v0.10"},
    "load": {"model": "EL 3160-60", "serial": "2000123", "firmware": "V2.04"},
}


def store_session(store_path, channels, *, kind: str = "demo", info=None) -> str:  # type: ignore[no-untyped-def]
    """Write synthetic channels into a session of the store at ``store_path``; returns its id."""
    from benchgui.model import Channel, SessionMeta
    from benchgui.recording.store import Store

    t_first = min(int(t[0]) for t, _ in channels.values())
    t_last = max(int(t[-1]) for t, _ in channels.values())
    with Store(store_path) as store:
        sid = store.create_session(
            t_first,
            SessionMeta(operator="tester", battery_id="BAT-7", notes="synthetic", kind=kind),
            info if info is not None else {"bench": "synthetic bench", "instruments": INSTRUMENTS},
        )
        with store.transaction():  # one commit for every channel
            for name, (t, v) in channels.items():
                quantity, _, source = name.rpartition(".")
                unit = "V" if quantity.endswith("voltage") else "A"
                key = store.channel_key(Channel(name, unit, source, quantity, name))
                store.insert_samples(sid, [(key, int(ti), float(vi), 0) for ti, vi in zip(t, v, strict=True)])
        store.end_session(sid, t_last)
    return sid
