"""Sigma-point Kalman filter (SPKF) for SOC on the ESC model, after Plett (BMS Vol. 2, ch. 3–4).

State x = [i_R1 … i_Rn, h, b, z] (RC resistor currents, dynamic hysteresis, current-sensor
offset, SOC). b is the current-sensor bias as an augmented state, as in Plett's bias-augmented
SPKF (Battery Management Systems Vol. II, Artech House 2016, ch. 3; an inference that it suits
a bench: its shunt amplifiers read tens of mA off): the true current is the measured one minus b,
so a constant offset shows up as a SOC drift the voltage contradicts and the filter learns b
instead of drifting for hours. With the load off the sensor reads its offset: at rests (the
measured current within the rest band of b̂) each reading observes b directly, a scalar linear
update that also takes back, through the SOC–b correlation, the charge a wrong b had counted
(:meth:`Spkf._observe_rest`). A gain error (sensor gain, capacity) adds SOC variance in
proportion to the charge moved (:attr:`SpkfTuning.current_gain_sigma`), or is a state g
(:attr:`SpkfTuning.gain_state`). The state is
augmented with the process noise w (noise on the measured current, which drives every state)
and the sensor noise v (on the measured pack voltage), so the filter sees exactly the model's
nonlinearities in both. One step:

1. Square root of the augmented covariance: chol(P) for the state block (repaired after Higham
   when round-off has cost it definiteness; see :mod:`benchgui.soc.linalg`), σ_w and σ_v on the
   noise diagonal.
2. 2L+1 sigma points with central-difference (h = √3) or unscented (α, β, κ) weights.
3. Time update: every sigma point goes through the state equations for the *real* Δt of this
   step with its own noisy current (RC currents and SOC are linear in the state, and so is
   the hysteresis once its rate is taken at the measured current: one pass); a random walk on SOC
   (variance ∝ Δt) stands for drift white current noise cannot represent, a gain term for a
   current/capacity scale error, and a slow random walk on b.
4. Measurement update: the voltage of every sigma point goes into the row below the states, so
   one pass gives the means, P_x, P_xy and P_y. The voltage noise is what the model's
   uncertainty table says at this SOC and overpotential, plus the OCV's slope × how far its SOC
   axis may be off (:attr:`SpkfTuning.ocv_soc_sigma`), counted per second of data (model
   errors persist for minutes; see :class:`VoltageNoise`). Then the robustness rules:
   * an absurd innovation (≥ ``fault_sigmas`` σ of what one reading may deviate by, and
     ≥ ``fault_min_v_per_cell`` per cell) or an implausible voltage is a sensor fault: the
     measurement is skipped and counted (a run of ``fault_limit`` in a row is believed);
   * a large innovation (≥ ``bump_sigmas`` σ, the SOC axis's error as one reading's worth)
     means the model and the measurement disagree:
     the SOC variance is multiplied by ``bump_factor`` so the filter listens more;
   * where the OCV is too flat for a rested reading to pin SOC within ``observable_sigma_soc``
     (LiFePO4's plateau) the estimate is flagged :attr:`Spkf.coulomb_only`: readings there may
     pull a far-off estimate in, but they do not narrow the band below ``flat_band_floor`` of
     what one reading resolves, and they do not teach b (a flat curve's OCV error, changing with
     SOC, would look like drift) — so the band grows with coulomb counting's own uncertainty;
   * SOC is clamped to [soc_min, soc_max] and h to [−1, 1].

Everything is vectorised over the sigma points (one numpy pass per equation), which is why a
step costs tens of microseconds. Current sign: positive = charging (see :mod:`.model`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

try:  # the compiled routine behind np.interp, without its argument checks (a few µs per step)
    from numpy._core.multiarray import interp as _interp
except ImportError:  # pragma: no cover - other numpy layouts
    _interp = np.interp

from benchgui.soc.linalg import robust_cholesky
from benchgui.soc.model import SECONDS_PER_HOUR, CellModel, OcvCurve
from benchgui.soc.start import initial_soc
from benchgui.soc.tuning import SpkfTuning, VoltageNoise, sigma_weights

__all__ = ["Spkf", "SpkfTuning", "VoltageNoise", "initial_soc", "sigma_weights"]

log = logging.getLogger(__name__)


def _lapack_cholesky() -> Callable[..., tuple[np.ndarray, int]]:
    """LAPACK's ``dpotrf`` (~2 µs a step; ``np.linalg.cholesky`` takes ~10 µs with its checks),
    imported by the first filter, not with this module: ``scipy.linalg`` pulls in
    ``numpy.testing`` and ``numpy.f2py``, ~0.2 s of CPU the GUI would spend before its first
    frame (issue 19)."""
    from scipy.linalg.lapack import dpotrf

    return dpotrf


class Spkf:
    """SOC estimator for one pack. Feed it :meth:`step` once per voltage measurement."""

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
        self._p = np.diag(p0)
        self._x[: self.n_rc] = 0.0
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

    # -- one step -----------------------------------------------------------------------------
    def step(
        self,
        dt_s: float,
        current_a: float,
        voltage_v: float | None,
        current_now_a: float | None = None,
        temperature_c: float | None = None,
    ) -> float:
        """Advance by ``dt_s`` with ``current_a`` held, then correct with the measured pack
        voltage (skipped when None/NaN). ``current_now_a`` is the current at the instant of the
        voltage reading (default: ``current_a``). Returns the SOC estimate (fraction)."""
        if temperature_c is not None and temperature_c == temperature_c:
            self.set_temperature(temperature_c)
        i_now = current_a if current_now_a is None else current_now_a
        if not (math.isfinite(current_a) and math.isfinite(i_now) and math.isfinite(dt_s)):
            self.skipped += 1  # a broken input must not poison the state
            return float(self._x[-1])
        # the cell sees the measured current minus the sensor's offset: the hysteresis (its sign,
        # rate and the charge efficiency) follows that, not a phantom current a resting cell
        # never carried (with an identified γ of 10⁴ a 20 mA offset alone would drive h to ±1
        # within a minute of every rest, an M-sized voltage error that moves SOC by several %
        # on a flat OCV)
        b_hat = float(self._x[self._bi]) if self.has_bias else 0.0
        i_cell = current_a - b_hat
        i_now_cell = i_now - b_hat
        if i_now_cell > self._deadband:
            self._s = 1.0
        elif i_now_cell < -self._deadband:
            self._s = -1.0
        nx, n_rc, zi = self.nx, self.n_rc, self.nx - 1
        self.steps += 1

        # -- sigma points: x̂ ± γ·columns of chol(P); noise dimensions on their own columns ---
        c, info = self._potrf(self._p, lower=1, clean=1)
        if info != 0:
            c, repaired = robust_cholesky(self._p)
            if repaired is not None:
                self.repairs += 1
                self._p = repaired
        xs = self._xs  # a view of the first nx rows of self._mx
        np.dot(c, self._spread, out=xs)  # ±γ·√P in the state dimensions' own columns
        xs += self._x[:, None]

        # -- time update over the real Δt ---------------------------------------------------
        dt = dt_s if dt_s > 0.0 else 0.0
        if dt > 0.0:
            ik = self._w_pattern + current_a  # the current seen by each sigma point
            eta = self._eta if i_cell > 0.0 else 1.0
            if dt != self._dt_cache or eta != self._eta_cache:
                self._linear_factors(dt, eta)
            if self._hg > 0.0:
                # h ← a_h·h + (1 − a_h)·sgn(i) is linear too once the rate a_h and the sign are
                # taken at the measured current (the ±γσ_w current noise of two sigma points
                # would change them by a few % of a small step: neglected)
                sg = 1.0 if i_cell > 0.0 else (-1.0 if i_cell < 0.0 else 0.0)
                ah = math.exp(-abs(i_cell) * self._hg * eta * dt / self._q_as)
                self._a_col[n_rc, 0] = ah
                xs *= self._a_col
                self._advance(xs, ik)
                xs[n_rc] += (1.0 - ah) * sg
                self._a_col[n_rc, 0] = 1.0
            else:
                # RC currents and SOC are linear in the state: x ← a·x + b·i, one pass for both
                xs *= self._a_col
                self._advance(xs, ik)
        # process noise beyond the sigma points: SOC drift, gain error ∝ charge moved, the
        # offset's slow wander
        q_z = (self._q_soc_per_s + self._q_gain_per_as * abs(current_a)) * dt
        self.last_rejected = False
        if voltage_v is None or voltage_v != voltage_v:  # no reading (or NaN): predict only
            x_pred = xs @ self.wm
            dx = xs - x_pred[:, None]
            p_pred = (dx * self.wc) @ dx.T
            p_pred[zi, zi] += q_z
            if self.has_bias:
                p_pred[self._bi, self._bi] += self._q_bias_per_s * dt
            if self.has_gain:
                p_pred[self._gi, self._gi] += self._q_g_per_s * dt
            self.coulomb_only = True
        else:
            # sensor noise + model error at this SOC (looked up at the propagated estimate,
            # the centre sigma point), the dynamic part growing with the overpotential the
            # model must explain
            x0 = xs[:, 0]
            zk = x0[zi]
            idx = 0 if zk <= 0.0 else (100 if zk >= 1.0 else int(zk * 100.0 + 0.5))
            # charging: R0 + ΔR⁺ in the output and the model error's charge row
            r0 = self._r0_chg if i_now > 0.0 else self._r0
            if i_now > self._deadband:
                var_dyn, var_dyn_i = self._var_dyn_c, self._var_dyn_ci
            else:
                var_dyn, var_dyn_i = self._var_dyn, self._var_dyn_i
            dyn = abs(r0 * i_now)
            for j in range(n_rc):
                dyn += self._r_abs[j] * abs(x0[j])
            dyn2 = dyn * dyn
            var_v = self._var_rest[idx] + var_dyn[idx] * dyn2
            # model error is correlated over minutes: what the readings tell is per second of
            # data, not per sample (variance ∝ correlation time / Δt)
            per_s = 1.0 if dt <= 0.0 else (0.1 if dt < 0.1 else (60.0 if dt > 60.0 else dt))
            var_v = var_v / per_s
            var_v += self._var_sensor
            # what one reading may deviate by: for telling a glitch from a model error
            var_inst = self._var_rest_i[idx] + var_dyn_i[idx] * dyn2 + self._var_sensor
            # pack voltage of every sigma point: OCV + the linear terms (M·h, R_j·i_Rj) + R0·i,
            # into the row below the states, so one pass gives means and all covariances
            m = self._mx
            m[nx] = _interp(xs[zi], self._ocv_soc, self._ocv_pack)
            ys = m[nx]
            ys += (self._c_lin_chg if i_now > 0.0 else self._c_lin) @ xs
            ys += self._n * (self._m0 * self._s + r0 * i_now)
            gsv = self.gamma * math.sqrt(var_v)
            ys[self._v_col] += gsv  # the sensor-noise sigma points (v enters additively)
            ys[self._v_col_neg] -= gsv
            mean = m @ self.wm
            dm = m - mean[:, None]
            cov = (dm * self.wc) @ dm.T
            x_pred = mean[:nx]
            p_pred = cov[:nx, :nx]
            p_pred[zi, zi] += q_z
            if self.has_bias:
                p_pred[self._bi, self._bi] += self._q_bias_per_s * dt
            if self.has_gain:
                p_pred[self._gi, self._gi] += self._q_g_per_s * dt
            self.soc_resolution = res = self._soc_resolution[idx]
            y_pred = float(mean[nx])
            p_y = float(cov[nx, nx])
            r = voltage_v - y_pred
            self.voltage_pred_v = y_pred
            self.innovation_v = r
            lo, hi = self._plausible
            implausible = not lo <= voltage_v <= hi  # a dead or disconnected sensor: always
            fault = abs(r) > self._fault_min and r * r > self._fault_k2 * (p_y - var_v + var_inst)
            if fault and not implausible and self._faults_in_row >= self.tuning.fault_limit:
                # a sensor that agrees with itself this long is right; the estimate is lost
                log.warning("SOC filter: %d readings disagreed in a row; re-converging", self._faults_in_row)
                p_pred[zi, zi] += 0.01 + p_pred[zi, zi] * r * r / p_y
                fault = False
            if fault or implausible or p_y <= 0.0:
                self._faults_in_row += 1
                self._reject(voltage_v, y_pred)
                self.coulomb_only = True
            else:
                self._faults_in_row = 0
                self.coulomb_only = res > self._observable_sigma
                p_xy = cov[:nx, nx]
                p_zz = p_pred[zi, zi]
                no_b = self.has_bias and (self.coulomb_only or not self._b_from_v)
                no_g = self.has_gain and (self.coulomb_only or not self._g_from_v)
                if no_b or no_g:
                    # on a flat OCV what looks like drift is the model's OCV error changing with
                    # SOC: the offset and scale are not learned there (Schmidt: their gain rows
                    # are zero, the covariance updated in Joseph form for that gain)
                    k = p_xy / p_y
                    if no_b:
                        k[self._bi] = 0.0
                    if no_g:
                        k[self._gi] = 0.0
                    x_pred += k * r
                    p_pred -= np.multiply.outer(k, p_xy) + np.multiply.outer(p_xy, k)
                    p_pred += np.multiply.outer(k, k * p_y)
                else:
                    x_pred += p_xy * (r / p_y)  # gain K = P_xy / P_y
                    p_pred -= np.multiply.outer(p_xy, p_xy / p_y)  # P − K·P_y·Kᵀ
                fl = self.tuning.flat_band_floor if self.coulomb_only else self.tuning.band_floor
                if fl > 0.0:
                    # a flat OCV's model error is a function of SOC, not of time: readings
                    # repeated along the plateau are the same error again, so they may pull a
                    # far-off estimate in but cannot make the band narrower than what one
                    # rested reading resolves (flat_band_floor; adding to a diagonal keeps P
                    # positive definite)
                    floor = min(p_zz, (fl * res) ** 2)
                    if p_pred[zi, zi] < floor:
                        p_pred[zi, zi] = floor
                # a disagreement is judged with the SOC axis's error as one reading's worth: its
                # weight per second of data is for weighting (on a steep curve it would
                # otherwise hide a far-off estimate from the bump)
                var_ax = self._var_axis[idx]
                if r * r > self._bump_k2 * (p_y - var_ax * self._corr_rest / per_s + var_ax):
                    p_pred[zi, zi] *= self.tuning.bump_factor
                    self.bumps += 1
        if self._rest_obs:
            self._observe_rest(x_pred, p_pred, current_a, i_now, dt)
        z = x_pred[zi]
        if z < self._soc_min:
            x_pred[zi] = self._soc_min
        elif z > self._soc_max:
            x_pred[zi] = self._soc_max
        h = x_pred[n_rc]  # hysteresis state within ±1
        if h > 1.0:
            x_pred[n_rc] = 1.0
        elif h < -1.0:
            x_pred[n_rc] = -1.0
        # no symmetrisation needed: LAPACK's Cholesky reads only the lower triangle, and the
        # Higham repair symmetrises when it steps in
        self._x = x_pred
        self._p = p_pred
        return float(x_pred[zi])

    def _advance(self, xs: np.ndarray, ik: np.ndarray) -> None:
        """x += b·u with u the true current of every sigma point (measured − b), SOC × (1 + g)."""
        u = ik - xs[self._bi] if self.has_bias else ik
        if self.has_gain:
            zi = self.nx - 1
            dz = self._b_col[zi, 0] * u
            xs += self._b_col * u
            xs[zi] += dz * xs[self._gi]
        else:
            xs += self._b_col * u

    def _observe_rest(self, x: np.ndarray, p: np.ndarray, i_held: float, i_now: float, dt: float) -> None:
        """With the load off the sensor reads its offset: y = i_now = b + noise (linear, so a
        scalar Kalman update in place). The SOC is corrected too, through its correlation with
        b (the charge a wrong b has counted so far)."""
        bi = self._bi
        bh = x[bi]
        if abs(i_now - bh) > self._deadband or abs(i_held - bh) > self._deadband:
            return
        self.rest_observations += 1
        r_var = self._var_i + self._var_leak_s / (0.1 if dt < 0.1 else (60.0 if dt > 60.0 else dt))
        pb = p[:, bi].copy()
        k = pb / (pb[bi] + r_var)
        x += k * (i_now - bh)
        p -= np.multiply.outer(k, pb)

    def _linear_factors(self, dt: float, eta: float) -> None:
        """a and b of x ← a·x + b·i for this Δt (the h row is left alone: a = 1, b = 0).

        Kept per (Δt, η): η flips with the sign of the current, Δt is usually constant."""
        key = (dt, eta)
        ab = self._factors.get(key)
        if ab is None:
            nx, n_rc = self.nx, self.n_rc
            a = np.ones((nx, 1))
            b = np.zeros((nx, 1))
            if n_rc:
                a[:n_rc, 0] = np.exp(-dt / self._taus)
                b[:n_rc, 0] = 1.0 - a[:n_rc, 0]
            b[nx - 1, 0] = eta * dt / self._q_as
            if len(self._factors) > 64:  # irregular Δt: do not grow without bound
                self._factors.clear()
            ab = self._factors[key] = (a, b)
        self._a_col, self._b_col = ab
        self._dt_cache, self._eta_cache = dt, eta

    def _reject(self, voltage_v: float, y_pred: float) -> None:
        self.rejected += 1
        self.last_rejected = True
        if self.rejected in (1, 10, 100) or self.rejected % 1000 == 0:
            log.warning(
                "SOC filter: voltage %.3f V rejected as a sensor fault (predicted %.3f V); %d so far",
                voltage_v,
                y_pred,
                self.rejected,
            )
