"""The SPKF's state and set-up: the state layout, the constants one step needs, the results.

Kept apart from the step (:mod:`benchgui.soc.spkf`, whose docstring explains the filter) so each
module stays readable: here everything worked out once when the filter is made — the sigma-point
layout over [i_R1 … i_Rn, h, b, g, z] plus the two noise dimensions, the noise levels from
:class:`~benchgui.soc.tuning.VoltageNoise`, the linear output row — and the properties the
estimator service and replay read.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from benchgui.soc.model import SECONDS_PER_HOUR, CellModel, OcvCurve
from benchgui.soc.tuning import SpkfTuning, VoltageNoise, sigma_weights


def _lapack_cholesky() -> Callable[..., tuple[np.ndarray, int]]:
    """LAPACK's ``dpotrf`` (~2 µs a step; ``np.linalg.cholesky`` takes ~10 µs with its checks),
    imported by the first filter, not with this module: ``scipy.linalg`` pulls in
    ``numpy.testing`` and ``numpy.f2py``, ~0.2 s of CPU the GUI would spend before its first
    frame (issue 19)."""
    from scipy.linalg.lapack import dpotrf

    return dpotrf


class SpkfState:
    """The filter's layout, constants and state: everything :class:`~benchgui.soc.spkf.Spkf`
    sets up once, and what it reports. The step itself is in :mod:`benchgui.soc.spkf`."""

    def __init__(
        self,
        model: CellModel,
        soc0: float,
        soc0_sigma: float,
        tuning: SpkfTuning | None = None,
        *,
        temperature_c: float = 25.0,
        current0_a: float = 0.0,
        hysteresis0: float = 0.0,
        hysteresis0_sigma: float = 0.5,
        rc0_a: np.ndarray | None = None,
        rc0_sigma_a: np.ndarray | None = None,
    ) -> None:
        self.model = model
        self._potrf = _lapack_cholesky()
        self.tuning = t = tuning or SpkfTuning()
        self.n_rc = model.n_rc
        self.has_bias = t.current_bias_sigma_a > 0.0
        self.has_gain = t.gain_state and t.gain_state_sigma > 0.0
        self.nx = nx = model.n_states + (1 if self.has_bias else 0) + (1 if self.has_gain else 0)
        self._hi = self.n_rc  # index of h; b and g (when present) follow, SOC is always last
        self._bi = self.n_rc + 1 if self.has_bias else -1
        self._gi = nx - 2 if self.has_gain else -1
        self.n_aug = n_aug = nx + 2
        self.n_sig = n_sig = 2 * n_aug + 1
        self.gamma, self.wm, self.wc = sigma_weights(t.method, n_aug, t)
        n = model.cells_in_series
        self._n = float(n)
        self._q_as = SECONDS_PER_HOUR * model.capacity_ah
        self._eta = model.coulombic_efficiency
        self._taus = np.array([b.tau_s for b in model.rc])
        self._r = np.array([b.r_ohm for b in model.rc])
        self._hg = model.hysteresis_gamma
        self._m, self._m0, self._r0 = model.hysteresis_m_v, model.hysteresis_m0_v, model.r0_ohm
        # R0 + ΔR⁺ while charging (Plett's separate charge resistance; == R0 when ΔR⁺ = 0)
        self._r0_chg = model.r0_ohm + model.r0_charge_extra_ohm
        self._deadband = model.rest_current_a()
        noise = VoltageNoise(model, t, temperature_c)
        self._var_sensor, self._var_rest, self._var_dyn = noise.sensor, noise.rest, noise.dyn
        self._var_rest_i, self._var_dyn_i = noise.rest_inst, noise.dyn_inst
        self._var_dyn_c, self._var_dyn_ci = noise.dyn_chg, noise.dyn_inst_chg  # charge row
        self._var_dyn_r, self._var_dyn_ri = noise.dyn_rest, noise.dyn_inst_rest  # rest row
        self._r_abs = noise.r_abs
        # how precisely a rested voltage pins SOC, on the 1 % grid: σ_v / |dOCV/dSOC| (pack)
        self._soc_resolution = noise.soc_resolution
        self._var_axis, self._corr_rest = noise.axis, t.rest_error_correlation_s
        self._q_soc_per_s = (t.soc_drift_pct_per_sqrt_h / 100.0) ** 2 / SECONDS_PER_HOUR
        self._q_bias_per_s = t.current_bias_drift_a_per_sqrt_h**2 / SECONDS_PER_HOUR
        # × |i|·Δt (a random walk on SOC for the scale error; replaced by g when it is a state)
        self._q_gain_per_as = 0.0 if self.has_gain else t.current_gain_sigma**2 / self._q_as
        self._q_g_per_s = t.gain_drift_per_sqrt_h**2 / SECONDS_PER_HOUR
        self._g_from_v = t.gain_from_voltage
        # rest observation of the offset: reading noise + a persistent leak, per second of data
        self._rest_obs = self.has_bias and t.offset_from_rests
        self._var_i = t.current_sigma_a**2
        self._var_leak_s = t.rest_leak_sigma_a**2 * t.rest_leak_correlation_s
        self._b_from_v = t.offset_from_voltage
        self._observable_sigma = t.observable_sigma_soc
        # augmented sigma points: columns 1…L perturb dimension j by +γ·√P, L+1…2L by −γ·√P;
        # dimension nx is the current noise w, nx+1 the voltage noise v
        self._neg = 1 + n_aug
        self._w_pattern = np.zeros(n_sig)
        self._w_pattern[1 + nx] = self.gamma * t.current_sigma_a
        self._w_pattern[self._neg + nx] = -self.gamma * t.current_sigma_a
        self._v_col, self._v_col_neg = 2 + nx, self._neg + nx + 1
        self._fault_min = t.fault_min_v_per_cell * n
        self._fault_k2 = t.fault_sigmas**2
        self._bump_k2 = t.bump_sigmas**2
        self._soc_min, self._soc_max = t.soc_min, t.soc_max
        v_lo, v_hi = model.pack_voltage_range()
        self._plausible = (0.5 * v_lo, 1.5 * v_hi)
        self._x = np.zeros(nx)
        self._x[self._hi] = hysteresis0
        self._x[nx - 1] = soc0
        p0 = np.full(nx, max(abs(current0_a), 0.05 * model.capacity_ah) ** 2)
        p0[self._hi] = hysteresis0_sigma**2
        if self.has_bias:
            p0[self._bi] = t.current_bias_sigma_a**2
        if self.has_gain:
            p0[self._gi] = t.gain_state_sigma**2
            self._x[self._gi] = 0.0
        p0[nx - 1] = soc0_sigma**2
        self._x[: self.n_rc] = 0.0
        if rc0_a is not None and rc0_sigma_a is not None and self.n_rc:
            # what a rest's first minutes showed (benchgui.soc.rest_start), never narrower than
            # the current's own noise
            self._x[: self.n_rc] = rc0_a
            p0[: self.n_rc] = np.maximum(np.asarray(rc0_sigma_a, np.float64), t.current_sigma_a) ** 2
        self._p = np.diag(p0)
        self._s = 0.0  # sign of the last non-zero current (instantaneous hysteresis)
        self._temp = temperature_c
        self._curve: OcvCurve = model.curve(temperature_c)
        self._ocv_soc, self._ocv_pack = self._curve.extended(float(n))
        # output row for the linear terms: R_j on the RC currents, M on h, −R0 on the offset
        # (the current through R0 is the measured one minus b) (per pack)
        self._c_lin = np.zeros(nx)
        self._c_lin[: self.n_rc] = [n * b.r_ohm for b in model.rc]
        self._c_lin[self._hi] = n * model.hysteresis_m_v
        self._c_lin_chg = self._c_lin  # on charge the offset column has R0 + ΔR⁺
        if self.has_bias:
            self._c_lin[self._bi] = -n * model.r0_ohm
            if self._r0_chg != self._r0:
                self._c_lin_chg = self._c_lin.copy()
                self._c_lin_chg[self._bi] = -n * self._r0_chg
        self._dt_cache = self._eta_cache = -1.0
        self._factors: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}
        self._a_col = self._b_col = np.ones((nx, 1))
        # sigma-point spread: column 1+j gets +γ·(column j of √P), column L+1+j gets −γ·(…)
        self._spread = np.zeros((nx, n_sig))
        for j in range(nx):
            self._spread[j, 1 + j] = self.gamma
            self._spread[j, 1 + n_aug + j] = -self.gamma
        self._mx = np.empty((nx + 1, n_sig))  # sigma points: states, then the output row
        self._xs = self._mx[:nx]
        # diagnostics
        self.steps = 0
        self.rejected = 0
        self.skipped = 0
        self._faults_in_row = 0
        self.bumps = 0
        self.repairs = 0
        self.rest_observations = 0
        self.voltage_pred_v = math.nan
        self.innovation_v = math.nan
        self.last_rejected = False
        self.coulomb_only = True  # until a reading has been used where the OCV is steep enough
        self.soc_resolution = math.inf

    # -- results ------------------------------------------------------------------------------
    @property
    def soc(self) -> float:
        """SOC estimate (fraction)."""
        return float(self._x[-1])

    @property
    def soc_sigma(self) -> float:
        """Standard deviation of the SOC estimate (fraction)."""
        return math.sqrt(max(float(self._p[-1, -1]), 0.0))

    @property
    def soc_variance(self) -> float:
        return float(self._p[-1, -1])

    @property
    def current_bias_a(self) -> float:
        """Estimated offset of the current sensor (A, measured − true); 0 without a bias state."""
        return float(self._x[self._bi]) if self.has_bias else 0.0

    @property
    def current_bias_sigma_a(self) -> float:
        return math.sqrt(max(float(self._p[self._bi, self._bi]), 0.0)) if self.has_bias else 0.0

    @property
    def charge_scale_error(self) -> float:
        """Estimated relative error of the counted charge g (0 without a scale state)."""
        return float(self._x[self._gi]) if self.has_gain else 0.0

    @property
    def state(self) -> np.ndarray:
        return self._x.copy()

    @property
    def covariance(self) -> np.ndarray:
        return 0.5 * (self._p + self._p.T)

    def add_soc_variance(self, variance: float) -> None:
        """Widen the SOC uncertainty, e.g. across a logging gap whose current is a guess."""
        if variance > 0 and math.isfinite(variance):
            self._p[-1, -1] += variance

    def set_temperature(self, temperature_c: float) -> None:
        if abs(temperature_c - self._temp) >= 0.5:
            self._temp = temperature_c
            self._curve = self.model.curve(temperature_c)
            self._ocv_soc, self._ocv_pack = self._curve.extended(self._n)
