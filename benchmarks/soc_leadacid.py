"""An independent lead-acid truth model for the SOC benchmarks: KiBaM with a voltage law.

Why not PyBaMM: its lead-acid models (Sulzer2019) solve a discharge from the default full
state in PyBaMM 26.10 here, but ``initial_soc`` needs "Positive electrode OCP [V]", which the set
does not supply, and a charge step is refused as infeasible at its start — a characterisation
(charge, steps, rests) cannot be run. So the lead-acid truth is a different model family from
benchgui's ESC model (no OCV table, no RC branches, no hysteresis state):

* **Charge**: the kinetic battery model (KiBaM) of Manwell & McGowan, "Lead acid battery storage
  model for hybrid energy systems", Solar Energy 50 (1993) 399–405 — an *available* well
  (fraction ``c`` of the capacity) feeding the terminals and a *bound* well that refills it at a
  rate ``k`` times the difference of their levels. Rate-dependent capacity and the recovery in
  rests come from that, not from an RC network. True SOC = total charge / capacity.
* **Voltage** (per cell, inference shaped after the textbook lead-acid behaviour): open-circuit
  ``E(x) = 1.95 + 0.18·x + 0.025·ln(x + 0.0001)`` of the available level x (about linear with
  acid concentration, 2.13 V full, the drop near empty of acid depletion at the plates),
  ohmic resistance, and a charge overvoltage that rises steeply towards full (gassing).
  Charge efficiency 0.97; what arrives above full is gassed.
* **Parameters**: a 12 V (6-cell) block of 7.2 Ah at the 20 h rate (the bench's own battery).
  ``c`` and ``k`` give rate capacities close to an NP-series VRLA datasheet (Yuasa NP12-5:
  20 h 100 %, 10 h 95 %, 5 h 85 %, 1 h 60 % of the 20 h capacity; internal resistance 27 mΩ
  for 5 Ah, scaled to 7.2 Ah); ``python benchmarks/soc_leadacid.py`` prints what the model
  gives: 100 / 95 / 87 / 61 % (c = 0.45, k = 1.2 /h, picked on a small grid for that). The 20 h
  capacity is 6.83 Ah of the 7.2 Ah total charge; true SOC counts the total.

The run definitions are the PyBaMM experiment strings of ``soc_truth`` (a small parser here),
so every profile and characterisation of the benchmarks runs on this model too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

_UNITS = {"second": 1.0, "seconds": 1.0, "minute": 60.0, "minutes": 60.0, "hour": 3600.0, "hours": 3600.0}
_RATE = r"(?:(?P<num>[0-9.]+)C|C/(?P<den>[0-9.]+))"
_STEP = re.compile(
    rf"^(?P<kind>Discharge|Charge) at {_RATE}(?: for (?P<n>[0-9.]+) (?P<unit>\w+))?"
    r"(?: or)?(?: until (?P<v>[0-9.]+) V)? \((?P<p>[0-9.]+) second period\)$"
)
_REST = re.compile(r"^Rest for (?P<n>[0-9.]+) (?P<unit>\w+) \((?P<p>[0-9.]+) second period\)$")
_HOLD = re.compile(r"^Hold at (?P<v>[0-9.]+) V until C/(?P<den>[0-9.]+) \((?P<p>[0-9.]+) second period\)$")


class StepError(ValueError):
    """An experiment string this model does not understand."""


@dataclass(frozen=True)
class LeadAcid:
    """One 2 V cell of the block (all per cell; capacity in Ah at the 20 h rate)."""

    capacity_ah: float = 7.2
    c: float = 0.45  # available fraction (KiBaM)
    k_per_h: float = 1.2  # bound → available rate constant (KiBaM)
    r_ohm: float = 0.027 * 5.0 / 7.2 / 6  # datasheet block resistance, per cell, scaled to 7.2 Ah
    eta_charge: float = 0.97

    def ocv(self, x: np.ndarray | float) -> np.ndarray | float:
        return 1.95 + 0.18 * x + 0.025 * np.log(np.clip(x, 0.0, 1.2) + 1e-4)

    def voltage(self, x: float, i: float) -> float:
        """Terminal voltage per cell at available level ``x`` and current ``i`` (+ = charge)."""
        if x <= 1e-9 and i < 0:
            return 1.0  # the available well is empty: the voltage collapses
        v = float(self.ocv(x)) + self.r_ohm * i
        rel = abs(i) / (0.1 * self.capacity_ah)
        if i > 0:  # charge overvoltage, steep towards full (gassing)
            v += 0.2 * rel**0.3 * (0.6 + 1.6 * min(max(x, 0.0), 1.0) ** 8)
        elif i < 0:  # discharge polarisation (grows with rate)
            v -= 0.03 * rel**0.5
        return v

    def step(self, q1: float, q2: float, i: float, dt_s: float) -> tuple[float, float]:
        """Advance the two wells by ``dt_s`` (explicit, sub-stepped by the caller)."""
        qmax = self.capacity_ah
        h1, h2 = q1 / self.c, q2 / (1 - self.c)
        flow = self.k_per_h * (h2 - h1) * self.c * (1 - self.c)  # A
        di = self.eta_charge * i if i > 0 else i
        q1 += (di + flow) * dt_s / 3600
        q2 -= flow * dt_s / 3600
        q1 = min(q1, self.c * qmax)  # above full: gassed
        q2 = min(q2, (1 - self.c) * qmax)
        return max(q1, 0.0), max(q2, 0.0)

    def level(self, q1: float) -> float:
        return q1 / (self.c * self.capacity_ah)

    def hold_current(self, x: float, v_hold: float) -> float:
        """The current that holds the terminal voltage at ``v_hold`` (bisection; V rises with i)."""
        lo, hi = -10 * self.capacity_ah, 10 * self.capacity_ah
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            if self.voltage(x, mid) > v_hold:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)


def _parse(step: str, q: float) -> tuple[str, float, float, float | None, float]:
    """(kind, current A (+ = charge), duration s, voltage limit, record period s)."""
    m = _REST.match(step)
    if m:
        return "rest", 0.0, float(m["n"]) * _UNITS[m["unit"]], None, float(m["p"])
    m = _HOLD.match(step)
    if m:
        return "hold", q / float(m["den"]), math.inf, float(m["v"]), float(m["p"])
    m = _STEP.match(step)
    if not m or (m["n"] is None and m["v"] is None):
        raise StepError(f"lead-acid model: cannot run {step!r}")
    rate = float(m["num"]) if m["num"] else 1.0 / float(m["den"])
    sign = 1.0 if m["kind"] == "Charge" else -1.0
    duration = float(m["n"]) * _UNITS[m["unit"]] if m["n"] else 72000.0
    return "cc", sign * rate * q, duration, float(m["v"]) if m["v"] else None, float(m["p"])


def run_steps(
    cell: LeadAcid, steps: list[str], soc0: float, max_dt_s: float = 5.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(t s, current A + = charge, cell voltage V, true SOC) sampled at each step's period."""
    q = cell.capacity_ah
    q1, q2 = cell.c * q * soc0, (1 - cell.c) * q * soc0
    t = 0.0
    out_t, out_i, out_v, out_z = [], [], [], []

    def record(i: float) -> None:
        out_t.append(t)
        out_i.append(i)
        out_v.append(cell.voltage(cell.level(q1), i))
        out_z.append((q1 + q2) / q)

    for text in steps:
        kind, i_set, duration, v_lim, period = _parse(text, q)
        if kind == "cc" and v_lim is not None:
            v_now = cell.voltage(cell.level(q1), i_set)
            if (i_set < 0 and v_now <= v_lim) or (i_set > 0 and v_now >= v_lim):
                continue  # infeasible at its start: skipped, as PyBaMM does
        elapsed = 0.0
        next_rec = 0.0
        dt = min(max_dt_s, period)
        while elapsed < duration:
            x = cell.level(q1)
            i = cell.hold_current(x, v_lim) if kind == "hold" and v_lim is not None else i_set
            if kind == "hold" and abs(i) < i_set:
                break
            if elapsed >= next_rec:
                record(i)
                next_rec += period
            h = min(dt, duration - elapsed)
            q1, q2 = cell.step(q1, q2, i, h)
            t += h
            elapsed += h
            if kind == "cc" and v_lim is not None:
                v = cell.voltage(cell.level(q1), i)
                if (i < 0 and v <= v_lim) or (i > 0 and v >= v_lim):
                    break
        record(out_i[-1] if kind != "rest" else 0.0)
    t_a = np.array(out_t)
    keep = np.ones(len(t_a), bool)
    keep[:-1] = np.diff(t_a) > 1e-9  # a step's last sample and the next step's first coincide
    return t_a[keep], np.array(out_i)[keep], np.array(out_v)[keep], np.array(out_z)[keep]


def rate_capacities(cell: LeadAcid | None = None) -> dict[str, float]:
    """Ah to 1.75 V/cell from full at the datasheet's currents (NP12-5: 0.25, 0.475, 0.85 A;
    1 h: 3 A to 1.6 V/cell — as fractions of the 20 h capacity)."""
    cell = cell or LeadAcid()
    out = {}
    for hours, rate, cut in ((20, 0.05, 1.75), (10, 0.095, 1.75), (5, 0.17, 1.75), (1, 0.6, 1.6)):
        steps = [f"Discharge at {rate}C until {cut} V (60 second period)"]
        t, i, _v, _z = run_steps(cell, steps, 1.0, max_dt_s=10.0)
        out[f"{hours} h"] = float(-np.sum(i[:-1] * np.diff(t)) / 3600)
    return out


if __name__ == "__main__":
    caps = rate_capacities()
    print("  ".join(f"{k}: {v:.2f} Ah ({100 * v / caps['20 h']:.0f} %)" for k, v in caps.items()))
