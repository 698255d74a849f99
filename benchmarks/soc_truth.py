"""Ground truth for judging the SOC estimator: PyBaMM runs of 4S packs, cached on disk.

PyBaMM (a test/benchmark extra, never imported by benchgui) simulates one cell with the DFN
model of a published parameter set — Prada2013 (LiFePO4/graphite, 2.3 Ah) or Chen2020
(NMC811/graphite-SiOx LG M50, 5 Ah). A pack of four identical cells in series has four times
the voltage and the same current. True SOC comes from PyBaMM's own electrode state window:
SOC(t) = SOC(0) − discharged Ah / Q, with Q the capacity between the stoichiometries at
0 % and 100 % (``get_min_max_stoichiometries``), the same SOC that ``initial_soc`` uses.

The "measured" signals get seeded sensor noise (voltage 2 mV, current 0.5 % of 1C) so the
filter is not handed perfect data; the truth stays clean. PyBaMM's sign (discharge positive)
is converted here, once, to benchgui's (charging positive).

Runs are cached as ``.npz`` files keyed by a hash of everything that defines them (parameter
set, model, step list, start SOC, noise, PyBaMM version), so reruns take milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CELLS = 4  # the lithium packs; each Chemistry says its own (the lead-acid block has six)


@dataclass(frozen=True)
class Chemistry:
    key: str
    label: str
    parameter_set: str
    v_min: float
    v_max: float
    cells: int = CELLS  # in series (the lead-acid block has six)
    #: the truth models this chemistry is judged on (soc_accuracy's "model" column)
    fidelities: tuple[str, ...] = ("DFN", "SPMe")
    #: the highest charge rate the cell is rated for (None: the profiles' own rates stand)
    max_charge_c: float | None = None
    #: not part of the documented matrix: parameter sets the estimator was never developed on,
    #: run only to check that it holds on cells nobody looked at (``soc_accuracy.py --chem``)
    held_out: bool = False


#: Lead-acid charge limit: Yuasa NP12-5 (the datasheet the KiBaM block follows) allows 1.5 A
#: maximum charging current for a 5 Ah block in cycle use, 0.3C. Its discharge ratings leave the
#: profiles' discharge pulses as they are (max. 75 A for 5 s = 15C; the 1 h rate is 0.6C).
LEAD_MAX_CHARGE_C = 0.3

CHEMISTRIES = {
    "lfp": Chemistry("lfp", "LFP (PyBaMM Prada2013)", "Prada2013", 2.0, 3.6),
    "nmc": Chemistry("nmc", "NMC (PyBaMM Chen2020)", "Chen2020", 2.5, 4.2),
    # not PyBaMM: a KiBaM lead-acid block (soc_leadacid.py says why and where from)
    "lead": Chemistry(
        "lead",
        "lead-acid 6S (KiBaM, Manwell & McGowan 1993)",
        "kibam",
        1.75,
        2.40,
        cells=6,
        fidelities=("KiBaM",),
        max_charge_c=LEAD_MAX_CHARGE_C,
    ),
    # Held out (added 2026-12-05, after the estimator's settings were fixed; never tuned on):
    # PyBaMM's other full-cell sets, each with its own "Lower/Upper voltage cut-off [V]".
    "nmc532": Chemistry("nmc532", "NMC532 (PyBaMM Mohtat2020, 5 Ah)", "Mohtat2020", 2.8, 4.2, held_out=True),
    "lco": Chemistry("lco", "LCO (PyBaMM Ai2020, 2.28 Ah)", "Ai2020", 3.0, 4.2, held_out=True),
    "nca": Chemistry("nca", "NCA (PyBaMM NCA_Kim2011, 0.43 Ah)", "NCA_Kim2011", 2.7, 4.2, held_out=True),
    "kokam": Chemistry("kokam", "NMC (PyBaMM Ecker2015, 0.16 Ah)", "Ecker2015", 2.5, 4.2, held_out=True),
}


@dataclass
class Run:
    """A pack run: measured (noisy) current/voltage and the true SOC."""

    t_s: np.ndarray
    current_a: np.ndarray  # + = charging, with sensor noise
    voltage_v: np.ndarray  # pack, with sensor noise
    soc_true: np.ndarray  # fraction, PyBaMM's own
    capacity_ah: float  # PyBaMM's 0…100 % capacity (for reference only)

    def to_csv(self, path: Path) -> None:
        """The replay/identify input format: time_s,current_a,voltage_v,temperature_c."""
        data = np.column_stack([self.t_s, self.current_a, self.voltage_v, np.full(len(self.t_s), 25.0)])
        np.savetxt(
            path,
            data,
            delimiter=",",
            header="time_s,current_a,voltage_v,temperature_c",
            comments="",
            fmt=["%.3f", "%.5f", "%.5f", "%.1f"],
        )


# -- experiment definitions -------------------------------------------------------------------
RATES = {"C/10": 0.1, "C/5": 0.2, "C/2": 0.5}
_UNIT_S = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}
_CHARGE = re.compile(
    r"^Charge at (?:(?P<num>[0-9.]+)C|C/(?P<den>[0-9.]+)) for (?P<n>[0-9.]+) (?P<unit>seconds|minutes|hours)(?P<rest>.*)$"
)


def limit_charge(chem: Chemistry, steps: list[str]) -> list[str]:
    """The steps with every timed charge above ``chem.max_charge_c`` run at that rate instead,
    for longer by the same factor, so each step puts in the same Ah and the profiles' SOC plans
    hold (a 10-second 1C pulse becomes 33 seconds at 0.3C). Unchanged without a limit."""
    limit = chem.max_charge_c
    if limit is None:
        return steps
    out = []
    for text in steps:
        m = _CHARGE.match(text)
        rate = (float(m["num"]) if m["num"] else 1.0 / float(m["den"])) if m else 0.0
        if m is None or rate <= limit + 1e-12:
            out.append(text)
            continue
        seconds = float(m["n"]) * _UNIT_S[m["unit"]] * rate / limit
        out.append(f"Charge at {limit:g}C for {round(seconds)} seconds{m['rest']}")
    return out


def bench_characterisation_steps(
    chem: Chemistry, rate: str, cv: bool, precharge: bool = True
) -> tuple[list[str], float]:
    """A characterisation the way a bench operator runs it: from wherever the pack is (50 %;
    70 % without ``precharge``), charge to the upper limit (unless not ``precharge``), then 10 % steps down at ``rate`` with a rest after each (and
    pulses in the first steps), until the cut-off stops the steps — three more steps after a
    rest take what the rest gives back — then the same upwards. ``cv``: hold the voltage at
    each end until C/50 (otherwise the run turns at the limit, where the cell is not quite
    full or empty)."""
    c = RATES[rate]
    step_min = round(6 / c)  # 10 % of the capacity
    rest = "Rest for 1 hour (60 second period)"
    vmin, vmax = chem.v_min, chem.v_max
    pulses = [
        f"Discharge at 1C for 10 seconds or until {vmin} V (1 second period)",
        "Rest for 40 seconds (1 second period)",
        f"Charge at 1C for 10 seconds or until {vmax} V (1 second period)",
        "Rest for 5 minutes (10 second period)",
    ]
    hold_top = [f"Hold at {vmax} V until C/50 (20 second period)"] if cv else []
    hold_bottom = [f"Hold at {vmin} V until C/50 (20 second period)"] if cv else []
    steps = ["Rest for 30 minutes (60 second period)"]
    if precharge:
        steps += [f"Charge at {rate} until {vmax} V (60 second period)", *hold_top, rest]
    for k in range(13):  # the hold follows the last step directly (after a rest it would surge)
        steps += [f"Discharge at {rate} for {step_min} minutes or until {vmin} V (20 second period)"]
        steps += [*hold_bottom, rest] if k == 12 else [rest]
        if k < 8:
            steps += pulses
    for k in range(13):
        steps += [f"Charge at {rate} for {step_min} minutes or until {vmax} V (20 second period)"]
        steps += [*hold_top, rest] if k == 12 else [rest]
    return steps, 0.5 if precharge else 0.7


def characterisation_steps(chem: Chemistry, quick: bool) -> tuple[list[str], float]:
    """Slow discharge and charge with CV tails and rests, then 10 %/20 % SOC steps down and up
    with rests and short charge/discharge pulses. Starts full and rested."""
    rate = "C/10" if quick else "C/20"
    rest_long = "1 hour" if quick else "2 hours"
    rest_step = "30 minutes" if quick else "1 hour"
    steps = [
        "Rest for 30 minutes (60 second period)",
        f"Discharge at {rate} until {chem.v_min} V (20 second period)",
        f"Hold at {chem.v_min} V until C/50 (20 second period)",
        f"Rest for {rest_long} (60 second period)",
        f"Charge at {rate} until {chem.v_max} V (20 second period)",
        f"Hold at {chem.v_max} V until C/50 (20 second period)",
        f"Rest for {rest_long} (60 second period)",
    ]
    pulses = [  # HPPC-like: short discharge and charge pulses at two rates
        f"Discharge at 1C for 10 seconds or until {chem.v_min} V (1 second period)",
        "Rest for 40 seconds (1 second period)",
        f"Charge at 1C for 10 seconds or until {chem.v_max} V (1 second period)",
        "Rest for 40 seconds (1 second period)",
        f"Discharge at 2C for 10 seconds or until {chem.v_min} V (1 second period)",
        "Rest for 40 seconds (1 second period)",
        f"Charge at C/2 for 20 seconds or until {chem.v_max} V (1 second period)",
        "Rest for 5 minutes (5 second period)",
    ]
    down = 4 if quick else 9
    down_min = 24 if quick else 12  # minutes at C/2 per step: 20 % or 10 %
    for _ in range(down):
        steps += [
            f"Discharge at C/2 for {down_min} minutes or until {chem.v_min} V (10 second period)",
            f"Rest for {rest_step} (30 second period)",
            *pulses,
        ]
    for _ in range(2 if quick else 4):
        steps += [
            f"Charge at C/2 for 24 minutes or until {chem.v_max} V (10 second period)",
            f"Rest for {rest_step} (30 second period)",
            *pulses,
        ]
    return limit_charge(chem, steps), 1.0


def drive_steps(chem: Chemistry, profile: str, quick: bool) -> tuple[list[str], float]:
    """Drive profiles the model never saw: (steps, start SOC)."""
    vmin, vmax = chem.v_min, chem.v_max
    dis = f"or until {vmin} V (1 second period)"
    chg = f"or until {vmax} V (1 second period)"
    if profile == "pulsed":
        # pulsed discharge from full: 1C pulses, 2C bursts, 30-minute rests every ~15 %
        block = [
            f"Discharge at 1C for 60 seconds {dis}",
            "Rest for 30 seconds (1 second period)",
            f"Discharge at 2C for 10 seconds {dis}",
            "Rest for 50 seconds (1 second period)",
            f"Discharge at 1C for 90 seconds {dis}",
            "Rest for 30 seconds (1 second period)",
        ]  # ≈ 5 % per block
        steps = ["Rest for 10 minutes (10 second period)"]
        for k in range(6 if quick else 17):
            steps += block
            if k % 3 == 2:
                steps.append("Rest for 30 minutes (10 second period)")
        return limit_charge(chem, steps), 1.0
    if profile == "partial":
        # partial cycles around the middle at several rates, with rests
        cycle = [
            f"Discharge at C/2 for 30 minutes {dis}",
            "Rest for 20 minutes (10 second period)",
            f"Charge at C/3 for 45 minutes {chg}",
            "Rest for 10 minutes (10 second period)",
            f"Discharge at 1C for 18 minutes {dis}",
            f"Charge at C/2 for 24 minutes {chg}",
            "Rest for 30 minutes (10 second period)",
            f"Discharge at 1C for 12 minutes {dis}",
            f"Charge at C/4 for 48 minutes {chg}",
            "Rest for 15 minutes (10 second period)",
        ]  # net −10 % per cycle
        return limit_charge(
            chem, ["Rest for 10 minutes (10 second period)"] + cycle * (1 if quick else 3)
        ), 0.8
    if profile == "dynamic":
        # random current steps (seeded), mostly discharging, with rests; planned to stay
        # within 15…95 % SOC by counting charge
        rng = np.random.default_rng(7)
        soc, steps = 0.9, ["Rest for 10 minutes (10 second period)"]
        total = 0.0
        limit = (1.5 if quick else 4.0) * 3600
        while total < limit:
            if rng.random() < 0.08:
                steps.append("Rest for 15 minutes (10 second period)")
                total += 900
                continue
            dur = int(rng.integers(10, 120))
            c = float(rng.choice([-1.0, -0.5, 0.25, 0.5, 1.0, 1.5, 2.0]))  # C-rate, + = discharge
            if soc - c * dur / 3600 < 0.15 or soc - c * dur / 3600 > 0.95:
                c = -c
            soc -= c * dur / 3600
            total += dur
            if c > 0:
                steps.append(f"Discharge at {c}C for {dur} seconds {dis}")
            else:
                steps.append(f"Charge at {-c}C for {dur} seconds {chg}")
        return limit_charge(chem, steps), 0.9
    raise ValueError(f"unknown profile {profile!r}")


PROFILES = ("pulsed", "partial", "dynamic")


# -- simulation and cache ---------------------------------------------------------------------
def cache_dir(default: str = "benchmarks/.cache/pybamm") -> Path:
    d = Path(os.environ.get("BENCHGUI_SOC_CACHE", ROOT / default))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _key(parts: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def simulate(
    chem: Chemistry,
    steps: list[str],
    soc0: float,
    *,
    name: str,
    seed: int = 1,
    cache: Path | None = None,
    model: str = "DFN",
) -> Run:
    """Run PyBaMM (or load the cached result) and return the pack run."""
    import pybamm

    cache = cache or cache_dir()
    key = _key(
        {
            "pybamm": pybamm.__version__,
            "set": chem.parameter_set,
            "model": model,
            "steps": steps,
            "soc0": soc0,
            "seed": seed,
            "cells": chem.cells,
            "noise": [0.002, 0.005],
            **({"truth": _kibam_repr()} if chem.parameter_set == "kibam" else {}),
        }
    )
    path = cache / f"{chem.key}-{name}-{key}.npz"
    if path.exists():
        d = np.load(path)
        return Run(d["t"], d["i"], d["v"], d["z"], float(d["q"]))
    if chem.parameter_set == "kibam":
        from benchmarks.soc_leadacid import LeadAcid, run_steps

        cell = LeadAcid()
        t, i_cell, v_cell, z = run_steps(cell, steps, soc0)
        q = c1 = cell.capacity_ah
    else:
        t, i_cell, v_cell, z, q, c1 = _pybamm_run(chem, steps, soc0, model)
    rng = np.random.default_rng(seed)
    i_meas = i_cell + rng.normal(0.0, 0.005 * c1, len(t))
    v_meas = chem.cells * v_cell + rng.normal(0.0, 0.002, len(t))
    # Written aside and renamed: several benchmark processes may share one cache directory.
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, t=t, i=i_meas, v=v_meas, z=z, q=q)
    os.replace(tmp, path)
    log.info("%s %s %s: %d samples, %.1f h, cached in %s", model, chem.key, name, len(t), t[-1] / 3600, path)
    return Run(t, i_meas, v_meas, z, q)


def _kibam_repr() -> str:
    from benchmarks.soc_leadacid import LeadAcid

    return repr(LeadAcid())


def _pybamm_run(
    chem: Chemistry, steps: list[str], soc0: float, model: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(t, cell current + = charge, cell voltage, true SOC, capacity, nominal capacity) by PyBaMM."""
    import pybamm

    pv = pybamm.ParameterValues(chem.parameter_set)
    x0, x100, _, _ = pybamm.lithium_ion.get_min_max_stoichiometries(pv)
    pbm = getattr(pybamm.lithium_ion, model)()
    sim = pybamm.Simulation(pbm, parameter_values=pv, experiment=pybamm.Experiment(steps))
    sol = sim.solve(initial_soc=soc0)
    t = sol["Time [s]"].entries
    i_cell = -sol["Current [A]"].entries  # PyBaMM: discharge positive → benchgui: charge positive
    v_cell = sol["Voltage [V]"].entries
    x = sol["Average negative particle stoichiometry"].entries
    # step boundaries appear twice (end of one step, start of the next at the same time):
    # keep the start of the next step, whose current holds over the following interval
    keep = np.ones(len(t), bool)
    keep[:-1] = np.diff(t) > 1e-9
    t, i_cell, v_cell, x = t[keep], i_cell[keep], v_cell[keep], x[keep]
    z = (x - x0) / (x100 - x0)
    q = float(pv.evaluate(pybamm.LithiumIonParameters().n.Q_init)) * (x100 - x0)
    return t, i_cell, v_cell, z, q, float(pv["Nominal cell capacity [A.h]"])


def characterisation(chem: Chemistry, quick: bool = False, cache: Path | None = None) -> Run:
    steps, soc0 = characterisation_steps(chem, quick)
    return simulate(chem, steps, soc0, name="char-quick" if quick else "char", cache=cache)


def drive(chem: Chemistry, profile: str, quick: bool = False, cache: Path | None = None) -> Run:
    steps, soc0 = drive_steps(chem, profile, quick)
    return simulate(chem, steps, soc0, name=f"{profile}-quick" if quick else profile, cache=cache, seed=2)


def bench_characterisation(
    chem: Chemistry,
    rate: str = "C/10",
    cv: bool = False,
    model: str = "SPMe",
    cache: Path | None = None,
    precharge: bool = True,
) -> Run:
    """The bench-style characterisation (see :func:`bench_characterisation_steps`), seed 3."""
    steps, soc0 = bench_characterisation_steps(chem, rate, cv, precharge)
    pre = "" if precharge else "-midstart"
    name = f"bench-{rate.replace('/', '')}-{'cv' if cv else 'nocv'}-{model}{pre}"
    return simulate(chem, steps, soc0, name=name, cache=cache, model=model, seed=3)
