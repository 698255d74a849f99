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

import numpy as np

try:  # the compiled routine behind np.interp, without its argument checks (a few µs per step)
    from numpy._core.multiarray import interp as _interp
except ImportError:  # pragma: no cover - other numpy layouts
    _interp = np.interp

from benchgui.soc.linalg import robust_cholesky
from benchgui.soc.spkf_state import SpkfState
from benchgui.soc.start import initial_soc
from benchgui.soc.tuning import SpkfTuning, VoltageNoise, sigma_weights

__all__ = ["Spkf", "SpkfTuning", "VoltageNoise", "initial_soc", "sigma_weights"]

log = logging.getLogger(__name__)


class Spkf(SpkfState):
    """SOC estimator for one pack. Feed it :meth:`step` once per voltage measurement."""

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
            elif i_now >= -self._deadband:  # at rest: the rest row (the same lists without one)
                var_dyn, var_dyn_i = self._var_dyn_r, self._var_dyn_ri
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
