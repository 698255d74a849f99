"""Baseline: filterpy's UnscentedKalmanFilter on the same ESC model and the same noise levels.

filterpy propagates one sigma point at a time through Python callables and treats noise as
additive (Q, R) instead of augmenting the state; it has no covariance repair, no bump, no fault
rejection. The model equations below are the same as benchgui.soc.model's; the tuning comes
from the same :class:`~benchgui.soc.spkf.SpkfTuning` defaults.
"""

from __future__ import annotations

import math

import numpy as np
from filterpy.kalman import MerweScaledSigmaPoints, UnscentedKalmanFilter

from benchgui.soc.model import SECONDS_PER_HOUR, CellModel
from benchgui.soc.spkf import SpkfTuning, VoltageNoise


class FilterpySoc:
    """filterpy UKF over x = [i_R…, h, z] with the ESC model."""

    def __init__(
        self,
        model: CellModel,
        soc0: float,
        soc0_sigma: float,
        tuning: SpkfTuning | None = None,
        kappa: float = 0.0,
    ) -> None:
        t = tuning or SpkfTuning()
        self.model = model
        self.nx = nx = model.n_states
        self.curve = model.curve(25.0)
        self.taus = np.array([b.tau_s for b in model.rc])
        self.r = np.array([b.r_ohm for b in model.rc])
        self.q_as = SECONDS_PER_HOUR * model.capacity_ah
        self.n = model.cells_in_series
        self.noise = VoltageNoise(model, t)
        self.dt = 0.0
        self.sigma_i = t.current_sigma_a
        self.q_soc = (t.soc_drift_pct_per_sqrt_h / 100.0) ** 2 / SECONDS_PER_HOUR
        self.s = 0.0
        # κ = 0 keeps every weight positive; with the textbook κ = 3 − n the centre weight is
        # negative and filterpy's Cholesky fails within minutes on LiFePO4 (it has no repair)
        points = MerweScaledSigmaPoints(nx, alpha=1.0, beta=2.0, kappa=kappa)
        self.ukf = UnscentedKalmanFilter(nx, 1, 1.0, self.hx, self.fx, points)
        x = np.zeros(nx)
        x[-1] = soc0
        self.ukf.x = x
        p0 = np.full(nx, (0.05 * model.capacity_ah) ** 2)
        p0[-2] = 0.25
        p0[-1] = soc0_sigma**2
        self.ukf.P = np.diag(p0)

    def fx(self, x: np.ndarray, dt: float, current: float = 0.0) -> np.ndarray:
        m = self.model
        out = x.copy()
        nrc = m.n_rc
        ie = m.coulombic_efficiency * current if current > 0 else current
        if nrc:
            a = np.exp(-dt / self.taus)
            out[:nrc] = a * x[:nrc] + (1 - a) * current
        ah = math.exp(-abs(ie * m.hysteresis_gamma * dt / self.q_as))
        out[nrc] = ah * x[nrc] + (1 - ah) * np.sign(current)
        out[nrc + 1] = x[nrc + 1] + ie * dt / self.q_as
        return out

    def hx(self, x: np.ndarray, current: float = 0.0) -> np.ndarray:
        m = self.model
        nrc = m.n_rc
        v = self.curve.ocv(np.array([x[nrc + 1]]))[0] + m.hysteresis_m_v * x[nrc] + m.hysteresis_m0_v * self.s
        v += m.r0_ohm * current + float(self.r @ x[:nrc]) if nrc else m.r0_ohm * current
        return np.array([self.n * v])

    def step(self, dt: float, current: float, voltage: float, current_now: float) -> float:
        if abs(current_now) > self.model.rest_current_a():
            self.s = 1.0 if current_now > 0 else -1.0
        if dt > 0:
            nrc = self.model.n_rc
            q = np.zeros((self.nx, self.nx))
            if nrc:
                a = np.exp(-dt / self.taus)
                q[np.arange(nrc), np.arange(nrc)] = ((1 - a) * self.sigma_i) ** 2
            q[-2, -2] = 1e-6  # a little on h, or its variance collapses to round-off
            q[-1, -1] = self.q_soc * dt + (self.sigma_i * dt / self.q_as) ** 2
            self.ukf.Q = q
            self.ukf.predict(dt=dt, current=current)
        if math.isfinite(voltage):
            x = self.ukf.x
            r = self.noise.variance(float(x[-1]), current_now, x[: self.model.n_rc].tolist(), dt)
            self.ukf.update(np.array([voltage]), R=np.array([[r]]), current=current_now)
        return float(self.ukf.x[-1])


def filterpy_replay(
    model: CellModel, t: np.ndarray, i: np.ndarray, v: np.ndarray, soc0: float, soc0_sigma: float
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """(SOC, σ, time it failed or None) at every row, same zero-order hold as benchgui's replay.

    filterpy has no covariance repair: when its Cholesky fails, the run ends there and the
    remaining rows are NaN.
    """
    f = FilterpySoc(model, soc0, soc0_sigma)
    soc = np.full(len(t), np.nan)
    sig = np.full(len(t), np.nan)
    for k in range(len(t)):
        dt = t[k] - t[k - 1] if k else 0.0
        try:
            soc[k] = f.step(dt, i[k - 1] if k else i[0], v[k], i[k])
        except np.linalg.LinAlgError:
            return soc, sig, float(t[k] - t[0])
        sig[k] = math.sqrt(max(f.ukf.P[-1, -1], 0.0))
    return soc, sig, None
