"""Where the SOC filter starts: from a rested voltage, or when the battery is not resting
(issue 19, item 6).

Under current there is no rested voltage to read the OCV table with: the terminal voltage is
the OCV plus the drop over the model's resistances (R0 at once, the RC branches as they charge)
and the hysteresis. So the start takes the voltage corrected by the model for the present
current — R0·I and the instantaneous hysteresis by the current's sign — with the RC branches
uncharged, which is the state the filter itself starts in (``Spkf``: RC currents 0 with a σ
of the present current), and widens σ by what that leaves open (the RC drop, up to ΣR·I when
the current has flowed for long, the dynamic hysteresis, the model's dynamic error, the
sensor). Without a usable voltage, another instrument's own SOC (the MPPT's) serves as a prior
with a wide σ.

Evidence: the terminal-voltage equation is the model's own (``soc.model.simulate``, the same
arithmetic the filter applies); the RC state and its spread as the filter's start are an
inference (the filter corrects the RC state within its first time constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchgui.soc.model import CellModel
from benchgui.soc.rest_start import RestStart

# a prior from an instrument's own SOC (the MPPT's coulomb counter with its own resets): wide
PRIOR_SIGMA = 0.15


def soc_of_rested_voltage(
    model: CellModel, v_cell: float, sigma_v_cell: float, temperature_c: float = 25.0
) -> tuple[float, float]:
    """(SOC, σ) of a cell voltage taken as the OCV, its own σ ``sigma_v_cell``: σ is how much SOC
    that voltage's uncertainty spans with the model's rest error there and an unknown hysteresis
    state (±2σ of voltage → ±2σ of SOC) — small on a steep curve, large on LiFePO4's plateau."""
    curve = model.curve(temperature_c)
    z = float(curve.soc_from_ocv(v_cell))
    delta = math.sqrt(
        sigma_v_cell**2
        + model.uncertainty.rest_at(z) ** 2
        + model.hysteresis_m_v**2
        + model.hysteresis_m0_v**2
    )
    z_lo = float(curve.soc_from_ocv(v_cell - 2 * delta))
    z_hi = float(curve.soc_from_ocv(v_cell + 2 * delta))
    return z, min(max((z_hi - z_lo) / 4.0, 0.01), 0.4)


def soc_under_current(
    model: CellModel,
    voltage_v: float,
    current_a: float,
    *,
    temperature_c: float = 25.0,
    sensor_sigma_v: float = 0.005,
) -> tuple[float, float, str] | None:
    """(SOC, σ, how) from a pack voltage read while ``current_a`` flows (+ = charging); None
    when the voltage is unusable (not finite, or outside what the model's OCV could explain)."""
    if not math.isfinite(voltage_v) or not math.isfinite(current_a):
        return None
    n = model.cells_in_series
    i = current_a
    sign = 1.0 if i > 0 else -1.0 if i < 0 else 0.0
    r_rc = sum(b.r_ohm for b in model.rc)
    v_cell = voltage_v / n
    r0 = model.r0_ohm + (model.r0_charge_extra_ohm if i > 0 else 0.0)  # R0 + ΔR⁺ on charge
    ocv = v_cell - r0 * i - model.hysteresis_m0_v * sign
    lo, hi = model.pack_voltage_range()
    if not lo / n - 0.5 <= ocv <= hi / n + 0.5:
        return None  # no OCV of this model is anywhere near: a wrong channel or a fault
    curve = model.curve(temperature_c)
    z = float(curve.soc_from_ocv(ocv))
    delta = math.sqrt(
        (sensor_sigma_v / n) ** 2
        + model.uncertainty.rest_at(z) ** 2
        + (0.5 * r_rc * i) ** 2  # the RC drop, 0 (just switched on) … ΣR·I (settled), as 2σ
        + model.hysteresis_m_v**2  # the dynamic hysteresis state, unknown within ±M
        + (float(model.uncertainty.dynamic_fraction.mean()) * r0 * i) ** 2
    )
    z_lo = float(curve.soc_from_ocv(ocv - 2 * delta))
    z_hi = float(curve.soc_from_ocv(ocv + 2 * delta))
    sigma = min(max((z_hi - z_lo) / 4.0, 0.02), 0.4)
    how = f"from the voltage under {i:+.2f} A, corrected by the model's resistance"
    return min(max(z, 0.0), 1.0), sigma, how


def soc_from_prior(soc_pct: float, source: str) -> tuple[float, float, str] | None:
    """(SOC, σ, how) from another estimator's SOC in %, with a wide σ; None when unusable."""
    if not math.isfinite(soc_pct) or not 0.0 <= soc_pct <= 100.0:
        return None
    return soc_pct / 100.0, PRIOR_SIGMA, f"from the {source}'s SOC as a prior (±{300 * PRIOR_SIGMA:.0f} % 3σ)"


def initial_soc(
    model: CellModel,
    voltage_v: float | None,
    current_a: float,
    *,
    fallback_soc: float,
    fallback_sigma: float,
    temperature_c: float = 25.0,
    rested: bool | None = None,
    sensor_sigma_v: float = 0.005,
) -> tuple[float, float, str]:
    """Where to start: (SOC, σ, how it was chosen).

    A rested battery's voltage is its OCV, so SOC comes from the OCV table and σ from how much
    SOC the voltage uncertainty (sensor, model error at rest, an unknown hysteresis state)
    spans there — small on a steep curve, large on LiFePO4's plateau. Otherwise the configured
    guess with its σ. ``rested`` None means: rested when the current is below the model's rest
    current (the caller may know better, e.g. from the current's recent history).
    """
    if rested is None:
        rested = abs(current_a) <= model.rest_current_a()
    if not rested or voltage_v is None or not math.isfinite(voltage_v):
        return fallback_soc, fallback_sigma, "configured"
    n = model.cells_in_series
    z, sigma = soc_of_rested_voltage(model, voltage_v / n, sensor_sigma_v / n, temperature_c)
    return z, sigma, "from rested voltage"


def soc_from_rest_start(
    model: CellModel,
    rest: RestStart,
    *,
    temperature_c: float = 25.0,
    short_sigma: float = 0.3,
) -> tuple[float, float, str]:
    """(SOC, σ, how) from the OCV a rest's relaxation fit extrapolates to
    (:func:`benchgui.soc.rest_start.fit_rest_start`): σ from the fit's own σ of V∞, the model's
    rest error there and an unknown hysteresis state, as for a rested voltage. A rest shorter
    than :data:`~benchgui.soc.rest_start.MIN_SPAN_S` gives its SOC a σ of at least
    ``short_sigma`` (the configured start's)."""
    n = model.cells_in_series
    z, sigma = soc_of_rested_voltage(model, rest.v_inf_v / n, rest.v_inf_sigma_v / n, temperature_c)
    if not rest.tells_soc:
        sigma = max(sigma, short_sigma)
        return z, sigma, f"from {rest.span_s:.0f} s of rest, too short to be sure (σ widened)"
    how = f"from the first {rest.span_s / 60:.0f} min of rest, its relaxation fitted"
    return z, sigma, how


@dataclass(frozen=True)
class RestStartPoint:
    """Where the filter starts after a rest at the start was fitted (:func:`start_from_rest`)."""

    soc: float
    sigma: float
    how: str
    #: the rest's readings are in the start already: the filter runs through them without the
    #: voltage (reading them again would count the same relaxation twice)
    readings_used: bool


def start_from_rest(
    model: CellModel,
    rest: RestStart,
    given: tuple[float, float] | None = None,
    *,
    temperature_c: float = 25.0,
    short_sigma: float = 0.3,
    given_as: str = "given",
    disagree_sigmas: float = 3.0,
) -> RestStartPoint:
    """The start from a rest at the start: from its fitted V∞ alone (``given`` None), or a
    given start (SOC, σ: the operator's) weighed with it.

    Why weigh a given start: ten minutes of a rested block say where it is to within the
    model's rest error, and the filter reading the same rest one sample at a time gets far less
    out of it (each reading is discounted for the error's correlation and for the RC branches'
    uncertain start). On the lead-acid matrix a start 20 points low stayed 6 points off after
    30 minutes of a drive that starts full; weighed with its rest it starts 2 points off
    (docs/soc-accuracy.md). A rest too short to tell SOC (:attr:`RestStart.tells_soc` False)
    leaves a given start as it is, and the filter reads that rest as any other. ``given_as``
    names the given start in ``how`` ("given" in a replay, "configured" live). A given start
    and the rest's SOC further apart than ``disagree_sigmas`` σ (both together) disagree: the
    callers pass the filter's own ``SpkfTuning.bump_sigmas``, so one setting decides both."""
    z_r, s_r, how_r = soc_from_rest_start(model, rest, temperature_c=temperature_c, short_sigma=short_sigma)
    if given is None:
        return RestStartPoint(z_r, s_r, how_r, readings_used=rest.tells_soc)
    z_g, s_g = given
    if not rest.tells_soc or not s_g > 0.0:
        return RestStartPoint(z_g, s_g, given_as, readings_used=False)
    given_how = f"{100 * z_g:.0f} % ± {300 * s_g:.0f} % {given_as}"
    gap = abs(z_g - z_r)
    if gap > disagree_sigmas * math.hypot(s_g, s_r):
        # the given start and the rest disagree beyond chance: the given σ was too small (an
        # operator's confident guess); widened to where they just agree, as the filter's bump
        # widens its SOC variance on a reading that disagrees beyond its σ
        s_g = math.sqrt((gap / disagree_sigmas) ** 2 - s_r**2)
        given_how += f" (disagrees with the rest: widened to ± {300 * s_g:.0f} %)"
    w_g, w_r = 1.0 / s_g**2, 1.0 / s_r**2
    z = (w_g * z_g + w_r * z_r) / (w_g + w_r)
    sigma = 1.0 / math.sqrt(w_g + w_r)
    how = (
        f"{given_how}, weighed with the first {rest.span_s / 60:.0f} min of rest "
        f"({100 * z_r:.0f} % ± {300 * s_r:.0f} %)"
    )
    return RestStartPoint(z, sigma, how, readings_used=True)
