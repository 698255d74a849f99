"""The ESC ("enhanced self-correcting") equivalent-circuit cell model, after Plett (BMS Vol. 2).

One cell is an open-circuit voltage OCV(SOC, T) in series with a resistance R0, one or more
RC branches and a hysteresis voltage; a pack is ``cells_in_series`` identical cells, so the pack
voltage is ``n`` times the cell voltage and the current is the same in every cell.

Sign convention (as everywhere in benchgui): **current positive = charging**. Plett writes his
equations with discharge positive; written for charge-positive current they read, for one step of
length Δt during which the current ``i`` is held::

    z      ← z + η(i)·i·Δt / (3600·Q)                     SOC, η = charge efficiency when i > 0
    i_Rj   ← a_j·i_Rj + (1 − a_j)·i,   a_j = exp(−Δt/τ_j)   current in branch j's resistor
    h      ← a_h·h + (1 − a_h)·sgn(i), a_h = exp(−|η·i·γ·Δt / (3600·Q)|)   dynamic hysteresis
    v      = OCV(z, T) + M0·s + M·h + Σ R_j·i_Rj + R0·i + ΔR⁺·max(i, 0)
             s = sgn(i) of the last non-zero current

ΔR⁺ is a charge-only resistance (R0 on charge = R0 + ΔR⁺): separate charge and discharge
resistances as in Plett's simple models (G. L. Plett, J. Power Sources 134 (2004) 262–276, the
R⁺/R⁻ of its "simple" cell models — cited from memory, not checked against the text here). A
lead-acid block's charge overvoltage needs it (5–6 × R0; docs/soc-accuracy.md); lithium models
keep 0, and with 0 every equation is the one-R0 model's.

Charging drives ``h`` towards +1 and raises the rested voltage by up to ``M``, discharging
lowers it — the same physics as Plett's form with the opposite sign of current.

Every function here takes numpy arrays and works on many states at once (the sigma points of the
filter, or the whole time series in identification). No I/O: model files are read by
:mod:`benchgui.soc.modelfile`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class RcBranch:
    """One parallel RC branch of the cell: resistance and time constant."""

    r_ohm: float
    tau_s: float


@dataclass(frozen=True)
class OcvTable:
    """Cell open-circuit voltage on a grid of SOC (0…1) × temperature (°C).

    ``voltage_v[k, j]`` is the OCV at ``temperature_c[k]`` and ``soc[j]``; each row strictly
    increases with SOC, so SOC can be read back from a rested voltage. Between temperatures the
    table interpolates linearly; outside the temperature range it holds the nearest row; outside
    the SOC range it extrapolates with the end slopes (sigma points may stray past 0 or 1).
    """

    soc: np.ndarray  # (n_soc,), strictly increasing, covers 0…1
    temperature_c: np.ndarray  # (n_t,), strictly increasing
    voltage_v: np.ndarray  # (n_t, n_soc)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OcvTable) and all(
            np.array_equal(a, b)
            for a, b in zip(
                (self.soc, self.temperature_c, self.voltage_v),
                (other.soc, other.temperature_c, other.voltage_v),
                strict=True,
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def curve(self, temperature_c: float) -> np.ndarray:
        """The OCV row at one temperature (linear between rows, clamped outside)."""
        temps = self.temperature_c
        if len(temps) == 1 or temperature_c <= temps[0]:
            return np.asarray(self.voltage_v[0])
        if temperature_c >= temps[-1]:
            return np.asarray(self.voltage_v[-1])
        k = int(np.searchsorted(temps, temperature_c)) - 1
        w = float((temperature_c - temps[k]) / (temps[k + 1] - temps[k]))
        row: np.ndarray = (1.0 - w) * self.voltage_v[k] + w * self.voltage_v[k + 1]
        return row


class OcvCurve:
    """OCV against SOC at one temperature, both ways, with linear extrapolation past the ends.

    Built once per temperature and reused: the filter evaluates it for every sigma point at
    every step. Extrapolation is folded into the table (one extra point a whole SOC unit beyond
    each end, on the mean slope of the last 5 %), so one ``np.interp`` call does everything.
    """

    __slots__ = ("_soc_x", "_v_x", "soc", "voltage")

    def __init__(self, soc: np.ndarray, voltage: np.ndarray, end_span: float = 0.05) -> None:
        self.soc = np.ascontiguousarray(soc, dtype=np.float64)
        self.voltage = np.ascontiguousarray(voltage, dtype=np.float64)
        # beyond the ends: the mean slope of the last 5 % of SOC, not of the last segment —
        # a knee's last millivolts per 0.1 % would send wide sigma points to absurd voltages
        z0, z1 = float(self.soc[0]), float(self.soc[-1])
        lo_slope = (np.interp(z0 + end_span, self.soc, self.voltage) - self.voltage[0]) / end_span
        hi_slope = (self.voltage[-1] - np.interp(z1 - end_span, self.soc, self.voltage)) / end_span
        self._soc_x = np.concatenate([[z0 - 1.0], self.soc, [z1 + 1.0]])
        self._v_x = np.concatenate(
            [[self.voltage[0] - lo_slope], self.voltage, [self.voltage[-1] + hi_slope]]
        )

    def ocv(self, z: np.ndarray) -> np.ndarray:
        """OCV (V) at SOC ``z`` (fraction), extrapolated linearly up to one unit outside."""
        return np.interp(z, self._soc_x, self._v_x)

    def extended(self, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """The padded (SOC, OCV × scale) table behind :meth:`ocv`, for callers that interpolate
        themselves (the filter, at pack level)."""
        return self._soc_x, self._v_x * scale

    def ocv1(self, z: float) -> float:
        return float(np.interp(z, self._soc_x, self._v_x))

    def soc_from_ocv(self, v: np.ndarray | float) -> np.ndarray:
        """SOC (fraction) whose OCV is ``v``, clamped to the table's SOC range."""
        return np.asarray(np.interp(v, self.voltage, self.soc))

    def slope(self, z: float, dz: float = 0.01) -> float:
        """dOCV/dSOC (V per unit SOC) around ``z``: how much a rested voltage says about SOC."""
        a, b = max(float(self.soc[0]), z - dz), min(float(self.soc[-1]), z + dz)
        va, vb = np.interp([a, b], self.soc, self.voltage)
        return float((vb - va) / (b - a))


@dataclass(frozen=True)
class ModelUncertainty:
    """How far the model's cell voltage may be off, by SOC — learned from the identification
    residual, so the filter trusts the voltage where the model fits and leans on coulomb
    counting where it does not (e.g. LiFePO4's knee at low SOC under load).

    ``rest_v[k]`` is the σ of the error at rest, ``dynamic_fraction[k]`` the σ of the error of
    the dynamic voltage ``R0·i + Σ R_j·i_Rj`` as a fraction of it, both at SOC ``soc[k]``
    (linear in between, held beyond the ends). ``charge_fraction`` (optional): the same while
    charging, when the model's error differs by direction (a lead-acid block's charge); then
    ``dynamic_fraction`` holds for rest and discharge. None: one fraction for both directions.
    ``rest_fraction`` (optional): the same at rest, for the voltage the RC branches still hold
    there (a block's slow relaxation, which the rests show far better than the rows under load
    show their polarisation); None: ``dynamic_fraction`` at rest too.
    """

    soc: np.ndarray
    rest_v: np.ndarray
    dynamic_fraction: np.ndarray
    charge_fraction: np.ndarray | None = None
    rest_fraction: np.ndarray | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelUncertainty):
            return False
        mine = [self.soc, self.rest_v, self.dynamic_fraction, self.charge_fraction, self.rest_fraction]
        theirs = [other.soc, other.rest_v, other.dynamic_fraction, other.charge_fraction, other.rest_fraction]
        return all(
            (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
            for a, b in zip(mine, theirs, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def constant(cls, rest_v: float = 0.005, dynamic_fraction: float = 0.25) -> ModelUncertainty:
        return cls(np.array([0.5]), np.array([rest_v]), np.array([dynamic_fraction]))

    def tables(self, points: int = 101) -> tuple[list[float], list[float]]:
        """Both on a 1 % SOC grid (0…100 %), as plain lists for cheap per-step lookups."""
        z = np.linspace(0.0, 1.0, points)
        rest = np.interp(z, self.soc, self.rest_v)
        dyn = np.interp(z, self.soc, self.dynamic_fraction)
        return rest.tolist(), dyn.tolist()

    def charge_table(self, points: int = 101) -> list[float] | None:
        """The charge fraction on the same 1 % grid, or None when one fraction serves both."""
        if self.charge_fraction is None:
            return None
        z = np.linspace(0.0, 1.0, points)
        return np.interp(z, self.soc, self.charge_fraction).tolist()

    def rest_fraction_table(self, points: int = 101) -> list[float] | None:
        """The rest fraction on the same 1 % grid, or None when ``dynamic_fraction`` serves."""
        if self.rest_fraction is None:
            return None
        z = np.linspace(0.0, 1.0, points)
        return np.interp(z, self.soc, self.rest_fraction).tolist()

    def rest_at(self, z: float) -> float:
        return float(np.interp(z, self.soc, self.rest_v))


@dataclass(frozen=True)
class CellModel:
    """ESC model of one cell plus the number of cells in series (a pack)."""

    name: str
    chemistry: str
    cells_in_series: int
    capacity_ah: float
    coulombic_efficiency: float  # charge efficiency η (0…1], applied to charging current
    r0_ohm: float
    rc: tuple[RcBranch, ...]
    hysteresis_gamma: float  # dimensionless rate of the dynamic hysteresis
    hysteresis_m_v: float  # maximum dynamic hysteresis voltage (per cell)
    hysteresis_m0_v: float  # instantaneous hysteresis voltage (per cell)
    ocv: OcvTable
    uncertainty: ModelUncertainty = field(default_factory=ModelUncertainty.constant)
    #: ΔR⁺: the extra resistance on charge (per cell; R0 + ΔR⁺ while charging), 0: none
    r0_charge_extra_ohm: float = 0.0
    info: dict[str, float | str] = field(default_factory=dict, compare=False)

    @property
    def n_rc(self) -> int:
        return len(self.rc)

    @property
    def n_states(self) -> int:
        """State vector: RC resistor currents, hysteresis, SOC (in this order)."""
        return self.n_rc + 2

    def with_capacity(self, capacity_ah: float) -> CellModel:
        """The same model for a battery of a different capacity (operator override).

        Resistances scale inversely with capacity (a bigger battery of the same build has more
        plates in parallel); the OCV curve, time constants and hysteresis stay.
        """
        if capacity_ah <= 0:
            raise ValueError("capacity must be positive")
        k = self.capacity_ah / capacity_ah
        return replace(
            self,
            capacity_ah=capacity_ah,
            r0_ohm=self.r0_ohm * k,
            r0_charge_extra_ohm=self.r0_charge_extra_ohm * k,
            rc=tuple(RcBranch(b.r_ohm * k, b.tau_s) for b in self.rc),
        )

    def curve(self, temperature_c: float = 25.0) -> OcvCurve:
        return OcvCurve(self.ocv.soc, self.ocv.curve(temperature_c))

    # -- pack-level helpers --------------------------------------------------------------------
    def pack_voltage_range(self) -> tuple[float, float]:
        """Lowest and highest tabulated pack OCV (used to spot absurd readings)."""
        n = self.cells_in_series
        return n * float(self.ocv.voltage_v.min()), n * float(self.ocv.voltage_v.max())

    def rest_current_a(self) -> float:
        """A current small enough to call the battery resting: C/50 (at least 10 mA), above the
        noise of a shunt or hall sensor, below any deliberate charge or discharge."""
        return max(0.01, self.capacity_ah / 50.0)


def rc_factors(model: CellModel, dt_s: float) -> np.ndarray:
    """exp(−Δt/τ_j) for every RC branch."""
    return np.array([math.exp(-dt_s / b.tau_s) for b in model.rc])


def simulate(
    model: CellModel,
    t_s: np.ndarray,
    current_a: np.ndarray,
    soc0: float,
    temperature_c: float = 25.0,
    h0: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pack voltage and SOC of the model driven by a current series (zero-order hold).

    The current of sample k holds from t_k to t_{k+1}. Used by tests and by identification's
    fit report; it is the same arithmetic the filter applies to one state.
    """
    from benchgui.soc.recursions import hysteresis_states, rc_currents, soc_trajectory

    t = np.asarray(t_s, dtype=np.float64)
    i = np.asarray(current_a, dtype=np.float64)
    z = soc_trajectory(model, t, i, soc0)
    i_r = rc_currents(model, t, i)
    h, s = hysteresis_states(model, t, i, h0)
    curve = model.curve(temperature_c)
    v = curve.ocv(z) + model.hysteresis_m0_v * s + model.hysteresis_m_v * h + model.r0_ohm * i
    if model.r0_charge_extra_ohm:
        v = v + model.r0_charge_extra_ohm * np.maximum(i, 0.0)
    for j, b in enumerate(model.rc):
        v = v + b.r_ohm * i_r[j]
    return model.cells_in_series * v, z
