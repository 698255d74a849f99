"""The model's state equations run over a whole time series at once (for identification).

The RC currents and the dynamic hysteresis are first-order *time-varying* linear recurrences
``x[k+1] = a[k]·x[k] + b[k]`` — time-varying because real logs have irregular Δt, and because
the hysteresis rate depends on the current. A Python loop over 10⁵ samples inside an optimiser
is too slow, and ``scipy.signal.lfilter`` needs constant coefficients, so
:func:`linear_recurrence` composes the affine maps with a parallel prefix scan (log₂ N numpy
passes). All ``a`` lie in [0, 1], so the scan is numerically tame.

Zero-order hold: the current of sample k holds from t[k] to t[k+1]; the state at sample 0 is the
initial state.
"""

from __future__ import annotations

import numpy as np

from benchgui.soc.model import SECONDS_PER_HOUR, CellModel


def linear_recurrence(a: np.ndarray, b: np.ndarray, x0: float = 0.0) -> np.ndarray:
    """Solve x[0] = x0, x[k+1] = a[k]·x[k] + b[k] for k < N−1; returns x (length N).

    ``a`` and ``b`` have length N−1.
    """
    n = len(a)
    out = np.empty(n + 1)
    out[0] = x0
    if n == 0:
        return out
    A = np.array(a, dtype=np.float64)
    B = np.array(b, dtype=np.float64)
    d = 1
    while d < n:
        # compose map k with the composite ending at k−d (right-hand sides use the old values)
        B[d:] = A[d:] * B[:-d] + B[d:]
        A[d:] = A[d:] * A[:-d]
        d *= 2
    out[1:] = A * x0 + B
    return out


def intervals(t_s: np.ndarray) -> np.ndarray:
    """Δt between consecutive samples (length N−1), never negative."""
    return np.maximum(np.diff(np.asarray(t_s, dtype=np.float64)), 0.0)


def effective_current(model: CellModel, current_a: np.ndarray) -> np.ndarray:
    """η·i: charging current reduced by the coulombic efficiency."""
    i = np.asarray(current_a, dtype=np.float64)
    return np.where(i > 0, model.coulombic_efficiency * i, i)


def soc_trajectory(model: CellModel, t_s: np.ndarray, current_a: np.ndarray, soc0: float) -> np.ndarray:
    """Coulomb-counted SOC (fraction) at every sample."""
    dt = intervals(t_s)
    dz = effective_current(model, current_a)[:-1] * dt / (SECONDS_PER_HOUR * model.capacity_ah)
    z = np.empty(len(dt) + 1)
    z[0] = soc0
    np.cumsum(dz, out=z[1:])
    z[1:] += soc0
    return z


def rc_currents_for(taus_s: np.ndarray, t_s: np.ndarray, current_a: np.ndarray) -> np.ndarray:
    """Resistor currents of RC branches with time constants ``taus_s`` (shape (n_rc, N)).

    Each branch starts at rest (zero current in its resistor).
    """
    dt = intervals(t_s)
    i = np.asarray(current_a, dtype=np.float64)[:-1]
    out = np.empty((len(taus_s), len(dt) + 1))
    for j, tau in enumerate(taus_s):
        a = np.exp(-dt / tau)
        out[j] = linear_recurrence(a, (1.0 - a) * i)
    return out


def rc_currents(model: CellModel, t_s: np.ndarray, current_a: np.ndarray) -> np.ndarray:
    return rc_currents_for(np.array([b.tau_s for b in model.rc]), t_s, current_a)


def sign_held(current_a: np.ndarray, deadband_a: float) -> np.ndarray:
    """s[k]: the sign of the last current above the dead band (0 before any)."""
    i = np.asarray(current_a, dtype=np.float64)
    moving = np.abs(i) > deadband_a
    idx = np.where(moving, np.arange(len(i)), -1)
    np.maximum.accumulate(idx, out=idx)
    s = np.where(idx >= 0, np.sign(i[np.maximum(idx, 0)]), 0.0)
    return s


def hysteresis_for(
    gamma: float,
    capacity_ah: float,
    efficiency: float,
    t_s: np.ndarray,
    current_a: np.ndarray,
    h0: float = 0.0,
) -> np.ndarray:
    """Dynamic hysteresis state h (−1…1) at every sample for rate ``gamma``."""
    dt = intervals(t_s)
    i = np.asarray(current_a, dtype=np.float64)[:-1]
    ie = np.where(i > 0, efficiency * i, i)
    a = np.exp(-np.abs(ie * gamma * dt / (SECONDS_PER_HOUR * capacity_ah)))
    return linear_recurrence(a, (1.0 - a) * np.sign(i), h0)


def hysteresis_states(
    model: CellModel, t_s: np.ndarray, current_a: np.ndarray, h0: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(h, s): dynamic hysteresis state and held sign of current at every sample."""
    h = hysteresis_for(
        model.hysteresis_gamma, model.capacity_ah, model.coulombic_efficiency, t_s, current_a, h0
    )
    return h, sign_held(current_a, model.rest_current_a())
