"""Step 4 of identification (:mod:`benchgui.soc.identify`): the linear part of the joint fit.

For fixed time constants and hysteresis rate the model voltage is linear in the OCV table, R_j,
M, M0 (and ΔR⁺): :class:`JointProblem` keeps its normal equations, weighted per row (robust
reweighting, rests anchoring the OCV), and solves them with the dynamic coefficients within
[0, cap] — caps such as the hysteresis the rests allow (:func:`~benchgui.soc.residuals.hysteresis_bound`).
Kept apart from :mod:`benchgui.soc.identify` so each module stays readable.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, sparse

from benchgui.soc.recursions import hysteresis_for, rc_currents_for


# -- the joint fit ------------------------------------------------------------------------------
def hat_basis(z: np.ndarray, grid: np.ndarray) -> sparse.csr_matrix:
    """Sparse matrix B with OCV(z) = B @ table (linear interpolation; clamped outside)."""
    zc = np.clip(z, grid[0], grid[-1])
    j = np.clip(np.searchsorted(grid, zc, side="right") - 1, 0, len(grid) - 2)
    w = (zc - grid[j]) / (grid[j + 1] - grid[j])
    rows = np.repeat(np.arange(len(z)), 2)
    cols = np.stack([j, j + 1], axis=1).ravel()
    vals = np.stack([1.0 - w, w], axis=1).ravel()
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(z), len(grid)))


def dynamic_columns(
    t: np.ndarray, i: np.ndarray, q: float, eta: float, s: np.ndarray, taus: np.ndarray, gamma: float
) -> np.ndarray:
    """The regressors multiplying R_j, M and M0: RC currents, hysteresis state, held sign."""
    cols = [*rc_currents_for(taus, t, i), hysteresis_for(gamma, q, eta, t, i), s]
    return np.array(cols).T  # (N, n_rc + 2)


class JointProblem:
    """Normal equations of the linear part, rebuilt cheaply for each (τ, γ) trial."""

    def __init__(
        self, y: np.ndarray, z: np.ndarray, grid: np.ndarray, ocv_prior: np.ndarray, prior_weight: float
    ) -> None:
        self.y = y
        self.b = hat_basis(z, grid)
        self.set_weights(np.ones(len(y)))
        ng = len(grid)
        self.ng = ng
        # regularisation: a pull towards the slow-rate OCV, and smoothness (second differences)
        d2 = np.diff(np.eye(ng), 2, axis=0)
        lam = prior_weight * len(y) / ng
        self.reg = lam * np.eye(ng) + 10 * lam * d2.T @ d2
        self.reg_rhs = lam * ocv_prior
        #: upper bounds on dynamic coefficients (index among them → bound), e.g. M from the rests
        self.upper: dict[int, float] = {}

    def pin(self, values: np.ndarray, weight: float = 100.0) -> None:
        """Hold the OCV table at ``values``: a prior on each grid point ``weight`` times the
        data's whole weight (set the weights first), so the dynamic terms fit around it."""
        lam = weight * float(self.w.sum()) / self.ng
        self.reg = self.reg + lam * np.eye(self.ng)
        self.reg_rhs = self.reg_rhs + lam * values

    def set_weights(self, w: np.ndarray) -> None:
        """Row weights (robust reweighting): every normal-equation product uses them."""
        self.w = w
        self.sqrt_w = np.sqrt(w)
        bw = self.b.multiply(w[:, None]).tocsr()
        self.bw_t = bw.T.tocsr()
        self.btb = (self.bw_t @ self.b).toarray()
        self.bty = self.bw_t @ self.y

    def normal(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        btd = np.asarray(self.bw_t @ d)
        dw = d * self.w[:, None]
        g = np.block([[self.btb + self.reg, btd], [btd.T, dw.T @ d]])
        rhs = np.concatenate([self.bty + self.reg_rhs, dw.T @ self.y])
        return g, rhs

    def solve(self, d: np.ndarray) -> np.ndarray:
        g, rhs = self.normal(d)
        nd = d.shape[1]
        cap = self._caps(nd)
        free = np.ones(len(rhs), bool)
        fixed = np.zeros(len(rhs))  # the value of each coefficient taken out of the solve
        beta = np.zeros(len(rhs))
        for _ in range(nd + len(self.upper)):  # small active set: dynamic coefficients in [0, cap]
            beta[:] = fixed
            rhs_f = rhs[free] - g[np.ix_(free, ~free)] @ fixed[~free]
            beta[free] = np.linalg.solve(g[np.ix_(free, free)], rhs_f)
            dyn = beta[self.ng :]
            low = np.nonzero(free[self.ng :] & (dyn < 0))[0]
            high = np.nonzero(free[self.ng :] & (dyn > cap))[0]
            if not len(low) and not len(high):
                break
            if len(low):
                worst = self.ng + low[np.argmin(dyn[low])]
                fixed[worst] = 0.0
            else:
                worst = self.ng + high[np.argmax(dyn[high] - cap[high])]
                fixed[worst] = cap[worst - self.ng]
            free[worst] = False
        beta[~free] = fixed[~free]
        return beta

    def _caps(self, nd: int) -> np.ndarray:
        cap = np.full(nd, np.inf)
        for k, value in self.upper.items():
            cap[k] = value
        return cap

    def residual(self, beta: np.ndarray, d: np.ndarray) -> np.ndarray:
        return self.y - self.b @ beta[: self.ng] - d @ beta[self.ng :]

    def solve_monotonic(self, d: np.ndarray, min_step_v: float = 1e-5) -> np.ndarray:
        """Final solve: OCV = c + cumsum(δ), δ ≥ min_step, dynamic coefficients ≥ 0."""
        g, rhs = self.normal(d)
        n = len(rhs)
        tmat = np.eye(n)
        tmat[: self.ng, : self.ng] = np.tril(np.ones((self.ng, self.ng)))
        g2 = tmat.T @ g @ tmat
        r2 = tmat.T @ rhs
        chol = np.linalg.cholesky(g2 + 1e-12 * np.trace(g2) / n * np.eye(n))
        target = np.linalg.solve(chol, r2)  # ‖Lᵀβ − L⁻¹r‖² has the same minimiser
        lo = np.full(n, 0.0)
        lo[0] = -np.inf
        lo[1 : self.ng] = min_step_v
        hi = np.full(n, np.inf)
        hi[self.ng :] = np.maximum(self._caps(n - self.ng), 1e-12)  # bvls: lo < hi (a cap of 0)
        res = optimize.lsq_linear(chol.T, target, bounds=(lo, hi), method="bvls")
        return tmat @ res.x
