"""Covariance square roots that survive round-off.

The sigma-point filter needs a Cholesky factor of its state covariance at every step. With
central-difference weights the centre weight is negative for more than three augmented states,
and a long run accumulates round-off, so the covariance can lose positive definiteness. Then
it is replaced by the nearest symmetric positive semi-definite matrix in the Frobenius norm
(Higham, "Computing a nearest symmetric positive semidefinite matrix", Linear Algebra Appl.
103, 1988): with B = (P + Pᵀ)/2 = U·Σ·Vᵀ, H = V·Σ·Vᵀ, the answer is (B + H)/2. A small
diagonal jitter, grown until the factorisation succeeds, turns semi-definite into definite.
"""

from __future__ import annotations

import numpy as np


def nearest_spd(p: np.ndarray) -> np.ndarray:
    """Higham's nearest symmetric positive semi-definite matrix to ``p``."""
    b = 0.5 * (p + p.T)
    _, s, vt = np.linalg.svd(b)
    h = vt.T @ (s[:, None] * vt)
    a = 0.5 * (b + h)
    return 0.5 * (a + a.T)


def robust_cholesky(p: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Lower Cholesky factor of ``p``; repairs ``p`` first when it is not positive definite.

    Returns ``(L, repaired)`` where ``repaired`` is the covariance actually factored, or None
    when ``p`` was fine (so the caller can keep the repaired matrix).
    """
    if not np.isfinite(p).all():
        raise np.linalg.LinAlgError("covariance contains NaN or inf")
    try:
        return np.linalg.cholesky(p), None
    except np.linalg.LinAlgError:
        pass
    a = nearest_spd(p)
    scale = float(np.max(np.abs(np.diag(a)))) or 1.0
    jitter = 1e-12 * scale
    eye = np.eye(len(a))
    for _ in range(40):
        try:
            return np.linalg.cholesky(a), a
        except np.linalg.LinAlgError:
            a = a + jitter * eye
            jitter *= 10.0
    raise np.linalg.LinAlgError("covariance cannot be repaired (contains NaN or inf)")
