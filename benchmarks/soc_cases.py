"""The cases of the SOC accuracy matrix (benchmarks/soc_accuracy.py): fidelities,
characterisation styles, sensor errors.

* **fidelity**: PyBaMM's DFN and SPMe models of the same parameter set — the truth the filter
  never saw the equations of, at two levels of physics (lead-acid: the KiBaM block only,
  ``Chemistry.fidelities``);
* **characterisation**: how the identification run was made. ``C/20+CV`` is the project's
  own long run (soc_truth.characterisation_steps: C/20 with CV tails, then steps with rests and
  pulses, ~64 h); ``C/10 steps`` is what an operator does on a bench: C/10 steps of 10 % with
  1-hour rests and HPPC-like pulses after each, down to the lower limit and back up, no CV
  tail anywhere (the run that put LiFePO4's capacity 13 % low in issue 18);
* **sensors**: on top of the noise every run carries (2 mV, 0.5 % of 1C) the pack voltage is
  quantised to 1 mV, and the drive's current sensor is off by ±20 mA and ±0.5 % gain (the
  bench's LabJack shunt amplifier and MPPT disagree by about that much). Identification runs get
  noise and quantisation only: a bench calibrates for the characterisation, the drive is a
  day like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from benchmarks import soc_truth
from benchmarks.soc_truth import Chemistry, Run

#: every truth model of the matrix; each chemistry runs its own (``Chemistry.fidelities``)
FIDELITIES = tuple(dict.fromkeys(f for c in soc_truth.CHEMISTRIES.values() for f in c.fidelities))
CHAR_STYLES = ("C/20+CV", "C/10 steps")
QUANTUM_V = 0.001


@dataclass(frozen=True)
class SensorError:
    label: str
    offset_a: float
    gain: float

    def apply(self, run: Run) -> Run:
        """The run as this sensor pair would have logged it (truth untouched)."""
        v = np.round(run.voltage_v / QUANTUM_V) * QUANTUM_V
        return replace(run, current_a=self.gain * run.current_a + self.offset_a, voltage_v=v)


SENSORS = (
    SensorError("noise, 1 mV steps", 0.0, 1.0),
    SensorError("+20 mA, +0.5 %", 0.020, 1.005),
    SensorError("−20 mA, −0.5 %", -0.020, 0.995),
)


def step_characterisation_steps(chem: Chemistry, quick: bool) -> tuple[list[str], float]:
    """C/10 steps with rests and pulses, no CV tails; starts full and rested."""
    vmin, vmax = chem.v_min, chem.v_max
    rest = "30 minutes" if quick else "1 hour"
    minutes = 120 if quick else 60  # 20 % or 10 % per step at C/10
    n = 4 if quick else 9
    pulses = [
        f"Discharge at 1C for 10 seconds or until {vmin} V (1 second period)",
        "Rest for 40 seconds (1 second period)",
        f"Charge at 1C for 10 seconds or until {vmax} V (1 second period)",
        "Rest for 40 seconds (1 second period)",
        f"Discharge at 2C for 10 seconds or until {vmin} V (1 second period)",
        "Rest for 5 minutes (5 second period)",
    ]
    steps = ["Rest for 30 minutes (60 second period)"]
    for _ in range(n):
        steps += [
            f"Discharge at C/10 for {minutes} minutes or until {vmin} V (30 second period)",
            f"Rest for {rest} (60 second period)",
            *pulses,
        ]
    steps += [f"Discharge at C/10 until {vmin} V (30 second period)", f"Rest for {rest} (60 second period)"]
    for _ in range(n):
        steps += [
            f"Charge at C/10 for {minutes} minutes or until {vmax} V (30 second period)",
            f"Rest for {rest} (60 second period)",
            *pulses,
        ]
    steps += [f"Charge at C/10 until {vmax} V (30 second period)", f"Rest for {rest} (60 second period)"]
    return soc_truth.limit_charge(chem, steps), 1.0


def characterisation(chem: Chemistry, fidelity: str, style: str, quick: bool) -> Run:
    """The identification run of this style, simulated by ``fidelity`` (cached)."""
    if style == "C/20+CV":
        steps, soc0 = soc_truth.characterisation_steps(chem, quick)
        name = "char-quick" if quick else "char"
    elif style == "C/10 steps":
        steps, soc0 = step_characterisation_steps(chem, quick)
        name = "char-steps-quick" if quick else "char-steps"
    else:
        raise ValueError(f"unknown characterisation style {style!r}")
    if fidelity != "DFN":
        name += f"-{fidelity}"
    run = soc_truth.simulate(chem, steps, soc0, name=name, model=fidelity)
    return SENSORS[0].apply(run)


def drive(chem: Chemistry, fidelity: str, profile: str, quick: bool) -> Run:
    """A drive profile simulated by ``fidelity`` (clean sensors; see :data:`SENSORS`)."""
    steps, soc0 = soc_truth.drive_steps(chem, profile, quick)
    name = f"{profile}-quick" if quick else profile
    if fidelity != "DFN":
        name += f"-{fidelity}"
    return soc_truth.simulate(chem, steps, soc0, name=name, seed=2, model=fidelity)
