"""The SPKF's settings: noise levels, robustness thresholds, and the arithmetic they set up.

Kept apart from the filter (:mod:`benchgui.soc.spkf`) so the step stays readable: what the
voltage noise is at a given SOC and overpotential (:class:`VoltageNoise`) and the sigma-point
weights (:func:`sigma_weights`) are worked out once, here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from benchgui.soc.model import CellModel


@dataclass(frozen=True)
class SpkfTuning:
    """Noise levels and robustness thresholds (defaults suit identified models at ~1 Hz)."""

    method: Literal["cdkf", "ukf"] = "cdkf"
    sensor_sigma_v: float = 0.005  # white noise of one pack voltage reading, V
    #: multiplies the model's own uncertainty table (:class:`~benchgui.soc.model.ModelUncertainty`)
    model_error_scale: float = 1.0
    #: how long a model error persists: a rested-voltage (OCV) error for as long as SOC stays
    #: put, a dynamic error for about a time constant. The filter counts a second of data as
    #: 1/correlation of an independent reading (variance ∝ correlation/Δt), so thousands of
    #: samples of the same biased voltage cannot talk it into a wrong SOC.
    rest_error_correlation_s: float = 600.0
    dynamic_error_correlation_s: float = 1800.0
    current_sigma_a: float = 0.02  # noise of the measured current (process noise w), A
    soc_drift_pct_per_sqrt_h: float = 0.5  # random walk on SOC, % per √h
    #: prior σ of the current sensor's offset (a state, Plett's bias-augmented SPKF); 0: no
    #: bias state (:meth:`without_offset_state`). Bench shunt amplifiers read tens of mA off.
    current_bias_sigma_a: float = 0.05
    current_bias_drift_a_per_sqrt_h: float = 0.005  # the offset wanders (temperature), A per √h
    #: with the load off the current sensor reads its own offset: while the measured current
    #: is within the rest band (the model's rest current, C/50) of the estimated offset, each
    #: reading observes b directly (noise: current_sigma_a). What may still flow then — a
    #: switched-off load's or a BMS's own draw — is this σ, persistent (counted per
    #: ``rest_leak_correlation_s`` of data). Inference: relays and switched-off electronic
    #: loads pass well under a mA, a BMS a few mA.
    offset_from_rests: bool = True
    rest_leak_sigma_a: float = 0.002
    rest_leak_correlation_s: float = 600.0
    #: whether the voltage teaches b as well (Plett's bias-augmented SPKF); off: b is learned
    #: at rests only, where the reading *is* the offset
    offset_from_voltage: bool = True
    #: relative σ of a current-gain or capacity error: SOC variance grows by σ_g²·|ΔSOC| for every
    #: ΔSOC of charge moved (a persistent error g costs g·|ΔSOC|; equal after one full cycle)
    current_gain_sigma: float = 0.01
    #: carry the charge-scale error g (sensor gain and capacity together) as a state instead:
    #: the SOC moves by (1 + g)·η·(i − b)·Δt/Q, prior σ ``gain_state_sigma``. A persistent scale
    #: error grows the SOC error in proportion to the net charge moved, and so does the band
    #: (σ_g·|ΔSOC|, not √|ΔSOC|); where the voltage observes SOC at both ends of a swing, g is
    #: learned (not on a flat OCV, like b)
    gain_state: bool = False
    #: σ of g: the identified capacity's own 95 % intervals on bench-style runs are ±1.3…5.7 %
    #: (docs/soc-accuracy.md, "Capacity from bench-style characterisation runs") and a bench
    #: current sensor's gain ±0.5 %; 2 % covers the middle of that (inference)
    gain_state_sigma: float = 0.02
    gain_drift_per_sqrt_h: float = 0.001  # capacity fades, the sensor's gain drifts: slowly
    gain_from_voltage: bool = True
    #: the voltage "observes" SOC when a rested reading pins it to within this σ (fraction) at
    #: the present SOC (model rest error + sensor noise over dOCV/dSOC); otherwise the estimate
    #: rests on coulomb counting alone (LiFePO4's plateau) and says so. 5 %, not 3 %: a lead-acid
    #: block reads to about 3 % (the shipped model: 6 × 5 mV over 10 mV per point, 3.1 %), and
    #: at 3 % its gauge said "coulomb counting only" over most of the range while the voltage was
    #: steering the estimate; LiFePO4's plateau stays flagged (matrix: no figure worse)
    observable_sigma_soc: float = 0.05
    #: how far the model's SOC axis may be off: each OCV point sits at the SOC the
    #: identification counted to it, as right as its capacity (±2 % at 95 % is issue 18's
    #: target: σ 1 % of the span, about half of it at mid-SOC; inference). Where the OCV is
    #: steep that shift is a voltage error of slope × σ, which the residual of the fit cannot
    #: show (the fit shares the axis); counted like the rest error, as a function of SOC
    ocv_soc_sigma: float = 0.005
    #: on a flat OCV the band may not shrink below this share of what one rested reading
    #: resolves (the rest-error table is one σ over all rests; rests far apart along the
    #: plateau err partly independently, so not the whole of it)
    flat_band_floor: float = 0.5
    #: the same anywhere on the curve: a rest at one SOC reads the same OCV error however long it
    #: lasts, so waiting cannot make the band narrower than this share of one reading's worth
    band_floor: float = 0.0
    bump_sigmas: float = 3.0
    bump_factor: float = 2.0
    fault_sigmas: float = 6.0
    fault_min_v_per_cell: float = 0.25
    #: after this many rejected readings in a row the "fault" is the estimate, not the sensor:
    #: the next reading is used, with the SOC variance widened
    fault_limit: int = 10
    soc_min: float = -0.05
    soc_max: float = 1.05
    ukf_alpha: float = 1.0
    ukf_beta: float = 2.0
    ukf_kappa: float | None = None  # None: 3 − L

    @classmethod
    def without_offset_state(cls, **overrides: float | str | bool) -> SpkfTuning:
        """The filter as it was before issue 18: no offset state, no gain noise, no band floor
        on a flat OCV, no SOC-axis error of the OCV. For a calibrated current sensor and short
        runs it is a little more accurate (it leans less on the model's voltage), but on
        LiFePO4 its band can be far too narrow (docs/soc-accuracy.md)."""
        base: dict[str, float | str | bool] = {
            "current_bias_sigma_a": 0.0,
            "current_gain_sigma": 0.0,
            "flat_band_floor": 0.0,
            "ocv_soc_sigma": 0.0,
        }
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]


class VoltageNoise:
    """Variance of a pack-voltage reading as the filter sees it: sensor noise + model error.

    The model error comes from the model's uncertainty table at the present SOC: a rest part
    and a part proportional to the dynamic voltage |R0·i| + ΔR⁺·max(i, 0) + Σ R_j·|i_Rj|, each
    counted per second of data (× correlation time / Δt); while charging (i above the model's
    rest current) the dynamic part is the table's charge row where it has one. The filter
    inlines the same arithmetic.
    """

    def __init__(self, model: CellModel, tuning: SpkfTuning, temperature_c: float = 25.0) -> None:
        n = model.cells_in_series
        rest, dyn = model.uncertainty.tables()
        k = n * tuning.model_error_scale
        # the OCV's slope on the 1 % grid (pack): a SOC axis off by σ is a voltage error slope·σ
        grid = np.linspace(0.0, 1.0, len(rest))
        ocv = np.interp(grid, *model.curve(temperature_c).extended(float(n)))
        slope = np.abs(np.gradient(ocv, grid))
        axis = (slope * tuning.ocv_soc_sigma) ** 2
        self.axis: list[float] = axis.tolist()
        # one reading's worth (no correlation)
        self.rest_inst = [(k * x) ** 2 + a for x, a in zip(rest, axis.tolist(), strict=True)]
        self.dyn_inst = [(k * x) ** 2 for x in dyn]
        self.rest = [tuning.rest_error_correlation_s * x for x in self.rest_inst]
        self.dyn = [tuning.dynamic_error_correlation_s * x for x in self.dyn_inst]
        chg = model.uncertainty.charge_table()
        # on charge: the charge row, or the same lists when one fraction serves both directions
        self.dyn_inst_chg = self.dyn_inst if chg is None else [(k * x) ** 2 for x in chg]
        self.dyn_chg = (
            self.dyn if chg is None else [tuning.dynamic_error_correlation_s * x for x in self.dyn_inst_chg]
        )
        rst = model.uncertainty.rest_fraction_table()
        # at rest: the rest row, or the same lists when dynamic_fraction serves there too
        self.dyn_inst_rest = self.dyn_inst if rst is None else [(k * x) ** 2 for x in rst]
        self.dyn_rest = (
            self.dyn if rst is None else [tuning.dynamic_error_correlation_s * x for x in self.dyn_inst_rest]
        )
        self.r0_chg = model.r0_ohm + model.r0_charge_extra_ohm
        self.deadband = model.rest_current_a()
        self.sensor = tuning.sensor_sigma_v**2
        self.r0 = model.r0_ohm
        self.r_abs = [abs(b.r_ohm) for b in model.rc]
        #: how precisely one rested reading pins SOC (fraction): σ_v / |dOCV/dSOC|
        sig_v = np.sqrt(np.array(self.rest_inst) + self.sensor)
        self.soc_resolution: list[float] = (sig_v / np.maximum(slope, 1e-9)).tolist()

    def variance(self, z: float, i_now: float, i_rc: Sequence[float], dt: float) -> float:
        idx = 0 if z <= 0.0 else (100 if z >= 1.0 else int(z * 100.0 + 0.5))
        dyn = abs((self.r0_chg if i_now > 0.0 else self.r0) * i_now)
        for r, x in zip(self.r_abs, i_rc, strict=False):
            dyn += r * abs(x)
        if i_now > self.deadband:
            table = self.dyn_chg
        else:
            table = self.dyn_rest if i_now >= -self.deadband else self.dyn
        var = self.rest[idx] + table[idx] * dyn * dyn
        return var / (1.0 if dt <= 0.0 else min(max(dt, 0.1), 60.0)) + self.sensor


def sigma_weights(method: str, n_aug: int, tuning: SpkfTuning) -> tuple[float, np.ndarray, np.ndarray]:
    """(γ, mean weights, covariance weights) for ``n_aug`` augmented dimensions."""
    n_sig = 2 * n_aug + 1
    if method == "cdkf":
        h2 = 3.0  # h = √3: optimal for Gaussian priors
        wm = np.full(n_sig, 1.0 / (2.0 * h2))
        wm[0] = (h2 - n_aug) / h2
        return math.sqrt(h2), wm, wm.copy()
    if method == "ukf":
        a, b = tuning.ukf_alpha, tuning.ukf_beta
        kappa = 3.0 - n_aug if tuning.ukf_kappa is None else tuning.ukf_kappa
        lam = a * a * (n_aug + kappa) - n_aug
        wm = np.full(n_sig, 1.0 / (2.0 * (n_aug + lam)))
        wm[0] = lam / (n_aug + lam)
        wc = wm.copy()
        wc[0] += 1.0 - a * a + b
        return math.sqrt(n_aug + lam), wm, wc
    raise ValueError(f"unknown sigma-point method {method!r} (cdkf or ukf)")
