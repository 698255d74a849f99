"""Fit an ESC cell model to a characterisation run (slow discharge/charge with rests + pulses).

What the run must contain: one full charge (to the upper voltage, current tapering) and one
full discharge to the cut-off, at a slow rate, with rests; some current steps (pulses) help the
dynamics. The fit proceeds in the order the physics allows:

1. **Capacity and SOC axis** — coulomb counting (zero-order hold). The highest charge state
   before the deepest discharge is 100 %, the lowest is 0 %; the discharged amount is Q. If
   the run charges back up to full, the charge efficiency is discharged/charged Ah.
2. **R0 from current steps** — ΔV/ΔI across every clear step between two samples ≤ 2 s apart
   (median, so a step caught mid-way cannot pull it).
3. **OCV** — first the classic estimate: the average of the slow discharge and charge curves
   at equal SOC, pinned by rest points where only one direction exists.
4. **Dynamics + OCV together** — for fixed time constants τ_j and hysteresis rate γ the model
   voltage is *linear* in the OCV table values, R_j, M and M0 (R0 fixed from step 2). So the
   fit is a variable projection: ``scipy.optimize.least_squares`` searches log τ and log γ;
   inside, a linear least-squares solve gives the rest, with a light pull towards the step-3
   curve so SOC regions with little data stay sensible. The final solve parameterises the
   OCV as a start value plus non-negative increments (``scipy.optimize.lsq_linear``), so the
   table is monotonic by construction, and keeps R_j, M, M0 ≥ 0.

The residual of the final model gives the fit quality and the filter's default voltage noise.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import optimize

from benchgui.soc.capacity import CapacityEstimate, estimate_capacity, rest_points
from benchgui.soc.efficiency import axis_from_rests, soc_axis
from benchgui.soc.jointfit import JointProblem, dynamic_columns
from benchgui.soc.model import CellModel, OcvTable, RcBranch, simulate
from benchgui.soc.modelfile import ModelFileError, dump_model, parse_model
from benchgui.soc.recursions import sign_held
from benchgui.soc.relaxation import SKIP_S, ocv_through_rests, slow_branch
from benchgui.soc.replay import RunData
from benchgui.soc.residuals import (
    RegimeErrors,
    charge_column,
    hysteresis_bound,
    longest_rest_s,
    regime_uncertainty,
    relaxed_rows,
    rest_weights,
)
from benchgui.soc.uncertainty import uncertainty_from_residual, widen_beyond_data

log = logging.getLogger(__name__)

#: OCV grid (SOC %): dense at the ends, where the curve bends
SOC_GRID_PCT = np.unique(
    np.concatenate(
        [
            np.arange(0, 3, 0.5),
            np.arange(3, 10, 1.0),
            np.arange(10, 90, 2.5),
            np.arange(90, 97, 1.0),
            np.arange(97, 100.1, 0.5),
        ]
    )
)


class IdentificationError(ValueError):
    """The run does not contain what identification needs (the message says what is missing)."""


@dataclass
class FitReport:
    capacity_ah: float
    efficiency: float
    capacity: CapacityEstimate
    r0_ohm: float
    r0_steps: int
    rms_mv_cell: float
    max_mv_cell: float
    rms_mv_pack: float
    rest_points: int
    ocv_vs_slow_average_mv: float
    seconds: float
    notes: list[str] = field(default_factory=list)
    #: the charge resistance ΔR⁺ (Ω per cell; in the model as r0_charge_extra_ohm)
    charge_extra_ohm: float = 0.0
    regimes: RegimeErrors | None = None

    def lines(self, model: CellModel) -> list[str]:
        n = model.cells_in_series
        eff = f"coulombic efficiency {self.efficiency:.4f}"
        out = [
            f"capacity          {self.capacity.line()} ({eff})",
            f"R0                {1000 * model.r0_ohm:.3f} mΩ per cell (median of {self.r0_steps} steps)",
        ]
        for j, b in enumerate(model.rc):
            out.append(f"RC {j + 1}              R = {1000 * b.r_ohm:.3f} mΩ, τ = {b.tau_s:.1f} s")
        hyst = f"M = {1000 * model.hysteresis_m_v:.2f} mV, M0 = {1000 * model.hysteresis_m0_v:.2f} mV"
        ocv = model.ocv.voltage_v
        u = model.uncertainty
        out += [
            f"hysteresis        {hyst}, γ = {model.hysteresis_gamma:.3g}",
            f"OCV               {ocv.min():.4f} … {ocv.max():.4f} V per cell "
            f"({len(model.ocv.soc)} points, {self.rest_points} rest points; "
            f"{self.ocv_vs_slow_average_mv:.1f} mV RMS from the slow-rate average)",
            f"fit quality       RMS {self.rms_mv_cell:.2f} mV per cell "
            f"({self.rms_mv_pack:.1f} mV for {n} cells), max {self.max_mv_cell:.1f} mV per cell",
            f"model error       at rest {1000 * u.rest_v.min():.1f} … {1000 * u.rest_v.max():.1f} mV, "
            f"dynamic {100 * u.dynamic_fraction.min():.0f} … {100 * u.dynamic_fraction.max():.0f} % "
            "(by SOC, for the filter)",
            f"took              {self.seconds:.1f} s",
        ]
        if self.charge_extra_ohm > 0:
            out.append(
                f"charge            R0 + {1000 * self.charge_extra_ohm:.2f} mΩ per cell on charge "
                "(ΔR⁺; the filter's uncertainty has a charge row)"
            )
        if self.regimes is not None:
            out += [f"residual          {line}" for line in self.regimes.lines()]
        return out + [f"note              {n}" for n in self.notes]


# -- step 1: capacity ------------------------------------------------------------------------------
def capacity_and_soc(
    t: np.ndarray,
    i: np.ndarray,
    v_cell: np.ndarray,
    capacity_ah: float | None = None,
    ocv_limits: tuple[float, float] | str | None = "auto",
) -> tuple[CapacityEstimate, np.ndarray, list[str]]:
    """(capacity estimate, SOC per sample, notes): counted Ah corrected by the rests (capacity.py)."""
    est = estimate_capacity(t, i, v_cell, ocv_limits)
    notes = list(est.warnings)
    if not est.determined and not capacity_ah:
        why = next((w for w in est.warnings if "too shallow" in w), "the run does not determine the capacity")
        raise IdentificationError(
            f"{why}; {est.counted_ah:.3g} Ah were counted — give the capacity (--capacity-ah) to fit the rest"
        )
    if capacity_ah:
        est = replace(est, capacity_ah=capacity_ah, interval_ah=0.0, determined=True, given=True)
    q = est.capacity_ah
    if not q or q <= 0:
        raise IdentificationError("the run never discharges or charges: no capacity to measure")
    return est, soc_axis(t, i, est), notes


# -- step 2: R0 ------------------------------------------------------------------------------------
def r0_from_steps(
    t: np.ndarray, i: np.ndarray, v_cell: np.ndarray, capacity_ah: float, without_charge: bool = False
) -> tuple[float, int]:
    """Median ΔV/ΔI over clear current steps (≥ C/10) between samples ≤ 2 s apart.

    ``without_charge``: only steps with no charging current on either side (when a charge
    resistance is fitted apart, a charge overvoltage's instant jump must not set R0; falls back
    to every step when there are none)."""
    di = np.diff(i)
    dv = np.diff(v_cell)
    dt = np.diff(t)
    steady = np.concatenate([[False], np.abs(di[:-1]) < 0.02 * capacity_ah])  # settled before
    ok = (np.abs(di) >= 0.1 * capacity_ah) & (dt > 0) & (dt <= 2.0) & steady & np.isfinite(dv)
    if without_charge:
        no_chg = ok & (i[:-1] <= 0.02 * capacity_ah) & (i[1:] <= 0.02 * capacity_ah)
        if no_chg.any():
            ok = no_chg
    if not ok.any():
        return math.nan, 0
    r = dv[ok] / di[ok]
    r = r[r > 0]
    if len(r) == 0:
        return math.nan, 0
    return float(np.median(r)), len(r)


# -- step 3: slow-rate OCV -------------------------------------------------------------------------
def slow_average_ocv(
    z: np.ndarray, i: np.ndarray, v: np.ndarray, capacity_ah: float, grid: np.ndarray, rests: tuple
) -> np.ndarray:
    """OCV on ``grid`` from the mean of slow (≤ C/5) discharge and charge voltages at equal SOC."""
    slow = (np.abs(i) > capacity_ah / 200) & (np.abs(i) <= capacity_ah / 5) & np.isfinite(v)
    curves: list[np.ndarray | None] = []
    for sign in (-1, 1):
        m = slow & (np.sign(i) == sign)
        if m.sum() < 20:
            curves.append(None)
            continue
        zz, vv = z[m], v[m]
        order = np.argsort(zz)
        zz, vv = zz[order], vv[order]
        cover = (grid >= zz[0]) & (grid <= zz[-1])
        curve = np.full(len(grid), np.nan)
        # mean voltage in each grid cell's neighbourhood (robust to repeated passes)
        curve[cover] = np.interp(grid[cover], zz, vv)
        curves.append(curve)
    rz, rv, _ = rests
    if curves[0] is not None and curves[1] is not None:
        both = np.isfinite(curves[0]) & np.isfinite(curves[1])
        avg = np.where(both, 0.5 * (curves[0] + curves[1]), np.nan)
        if both.any():
            half_gap = np.nanmedian(0.5 * (curves[1] - curves[0])[both])
            only_d = np.isfinite(curves[0]) & ~both
            only_c = np.isfinite(curves[1]) & ~both
            avg[only_d] = curves[0][only_d] + half_gap
            avg[only_c] = curves[1][only_c] - half_gap
    elif curves[0] is not None or curves[1] is not None:
        one = curves[0] if curves[0] is not None else curves[1]
        assert one is not None
        avg = one
    else:
        avg = np.full(len(grid), np.nan)
    pts_z = np.concatenate([grid[np.isfinite(avg)], rz])
    pts_v = np.concatenate([avg[np.isfinite(avg)], rv])
    if len(pts_z) < 2:
        raise IdentificationError("no slow charge/discharge and no rests in the run: cannot find the OCV")
    order = np.argsort(pts_z)
    out = np.interp(grid, pts_z[order], pts_v[order])
    return np.maximum.accumulate(out + 1e-6 * np.arange(len(out)))


def identify(
    run: RunData,
    cells: int,
    *,
    n_rc: int = 2,
    name: str = "identified cell",
    chemistry: str = "",
    capacity_ah: float | None = None,
    prior_weight: float = 1e-3,
    ocv_limits: tuple[float, float] | str | None = "auto",
    charge_term: bool | None = None,
    rest_efficiency: bool = False,
) -> tuple[CellModel, FitReport]:
    """Fit an ESC model of one cell to a pack run of ``cells`` cells in series.

    ``charge_term``: fit a charge-only resistance ΔR⁺ alongside, with R0 from steps without
    charge (ΔR⁺ goes into the model as ``r0_charge_extra_ohm`` and the uncertainty gets a
    charge row; it keeps a charge overvoltage out of R0 and the OCV table —
    :mod:`benchgui.soc.residuals`). None: only where the charge needs it, ΔR⁺ ≥ R0
    (lead-acid blocks: 5–6 × R0; lithium cells here 0.3 ×, where one R0 serves both
    directions better — inference from the matrix, docs/soc-accuracy.md); otherwise the fit
    is redone without it. A fit with the charge term also trusts the rests over the rows under
    current, whose overvoltage it only approximates: the relaxed rests weigh as much as all
    other rows, the hysteresis is no larger than the rests after each direction show, no time
    constant is longer than the longest rest, and the rest column counts every row 10 minutes
    into a rest (:mod:`benchgui.soc.residuals`; lithium fits are unchanged). Where the rests
    show a slow relaxation (:mod:`benchgui.soc.relaxation`) it also takes the slowest branch
    (τ, R) and the OCV table from the rests alone; the other branches stay under 100 s, and the
    charge efficiency the rests show is reported (:mod:`benchgui.soc.efficiency`); it sets the
    SOC axis only with ``rest_efficiency`` (off by default: on the lead matrix it took the cases
    meeting every target 6 → 0 of 12 — the 4–5 % of the block's charge below the deepest rest,
    which no run reaches, had been offset by η = 1)."""
    started = time.perf_counter()
    if len(run) < 50:
        raise IdentificationError(f"only {len(run)} rows: a characterisation run needs thousands")
    if not 0 <= n_rc <= 5:
        raise IdentificationError("between 0 and 5 RC branches")
    t = np.asarray(run.t_s, np.float64)
    i = np.asarray(run.current_a, np.float64)
    v = np.asarray(run.voltage_v, np.float64) / cells
    cap, z, notes = capacity_and_soc(t, i, v, capacity_ah, ocv_limits)
    q, eta = cap.capacity_ah, cap.efficiency
    with_charge = charge_term is not False  # tried (None) or asked for (True)
    r0, n_steps = r0_from_steps(t, i, v, q, without_charge=with_charge)
    if not math.isfinite(r0):
        r0 = 0.0
        notes.append("no clear current steps: R0 is folded into the fastest RC branch")
    rest_a = q / 50
    rests = rest_points(t, i, z, v, rest_a)
    ok = np.isfinite(v)
    n_ok = int(ok.sum())
    # with the charge term the slowest branch is the one the rests show, τ and R, and each long
    # rest's end value is an OCV point (relaxation.py): rows under current cannot tell them
    # from R0, the overvoltage and the OCV table
    found = slow_branch(t, i, v, z, rest_a) if with_charge and n_rc else None
    slow, v_slow = (found.branch, found.v_slow[ok]) if found else (None, np.zeros(n_ok))
    if found:
        notes.append(found.note)
        cap, z, note = axis_from_rests(t, i, cap, found, rest_efficiency)
        notes += [note] if note else []
        q, eta = cap.capacity_ah, cap.efficiency
        rests = (z[found.ends], *found.rests[1:])
    n_free = n_rc - (slow is not None)  # the branches the fit searches
    grid = SOC_GRID_PCT / 100.0
    ocv0 = slow_average_ocv(z, i, v, q, grid, rests)
    # the problem is solved on rows with a voltage; the recursions need every row, so the
    # dynamic columns are computed on all rows and then masked
    prob = JointProblem(v[ok] - r0 * i[ok] - v_slow, z[ok], grid, ocv0, prior_weight)
    # with a charge term the rows under current carry an overvoltage the model approximates:
    # the relaxed rests anchor the OCV (residuals.rest_weights); a one-R0 fit weighs rows alike
    # (measured: anchoring the lithium fits made NMC's worst RMS 0.29 → 0.80 %)
    base_w = rest_weights(t, i, rest_a)[ok] if with_charge else np.ones(n_ok)
    prob.set_weights(base_w)
    if slow is not None:  # the OCV is what the rests show, not what the rows under load pull
        prob.pin(ocv_through_rests(rests[0], rests[1], rests[2], grid))
    m_cap = hysteresis_bound(*rests) if with_charge else None
    if m_cap is not None:  # M and M0 (columns n_free, n_free + 1) no larger than the rests show
        prob.upper = {n_free: m_cap, n_free + 1: m_cap}
    s_held = sign_held(i, rest_a)
    i_chg = charge_column(i)[ok]

    def columns(theta: np.ndarray) -> np.ndarray:
        taus = np.exp(theta[:n_free])
        d = dynamic_columns(t, i, q, eta, s_held, taus, float(np.exp(theta[n_free])))[ok]
        return np.column_stack([d, i_chg]) if with_charge else d

    def resid(theta: np.ndarray) -> np.ndarray:
        d = columns(theta)
        return prob.sqrt_w * prob.residual(prob.solve(d), d)

    span = max(t[-1] - t[0], 10.0)
    starts = []
    for fast in (5.0, 30.0):
        taus0 = np.geomspace(fast, min(3000.0, span / 5), n_rc)[:n_free] if n_rc else np.empty(0)
        starts.append(np.concatenate([np.log(taus0), [np.log(50.0)]]))
    lo = np.concatenate([np.full(n_free, np.log(0.5)), [np.log(1e-2)]])
    tau_max = min(max(span, 100.0), 1e6)
    if with_charge:  # no relaxation slower than the run ever shows finishing
        tau_max = min(tau_max, max(longest_rest_s(t, i, rest_a), 100.0))
        if slow is not None:  # past SKIP_S the rests show the slow branch alone
            tau_max = min(tau_max, SKIP_S / 3)
        for x0 in starts:
            x0[:n_free] = np.minimum(x0[:n_free], np.log(tau_max) - 1e-6)
    hi = np.concatenate([np.full(n_free, np.log(tau_max)), [np.log(1e4)]])
    theta = starts[0]
    for rnd in range(3):  # Huber reweighting: a few wild regions (LFP's knee) must not rule
        best = None
        for x0 in starts if rnd == 0 else [theta]:
            sol = optimize.least_squares(resid, x0, bounds=(lo, hi), diff_step=1e-3, max_nfev=40)
            if best is None or sol.cost < best.cost:
                best = sol
        assert best is not None
        theta = best.x
        d = columns(theta)
        r = prob.residual(prob.solve(d), d)
        scale = 1.4826 * float(np.median(np.abs(r))) or 1e-3
        huber = np.minimum(1.0, 1.5 * scale / np.maximum(np.abs(r), 1e-12))
        prob.set_weights(base_w * huber)
    d = columns(theta)
    beta = prob.solve_monotonic(d)
    ng = len(grid)
    ocv_table = beta[:ng]
    coef = np.maximum(beta[ng:], 0.0)  # ≥ 0 by the fit; round-off can leave -1e-18
    taus = np.exp(theta[:n_free])
    rc = tuple(RcBranch(float(coef[j]), float(taus[j])) for j in np.argsort(taus))
    rc += (slow,) if slow is not None else ()
    dr_chg = float(coef[n_free + 2]) if with_charge else 0.0
    if charge_term is None and (dr_chg <= 0.0 or dr_chg < r0):
        model, report = identify(
            run, cells, n_rc=n_rc, name=name, chemistry=chemistry, capacity_ah=capacity_ah,
            prior_weight=prior_weight, ocv_limits=ocv_limits, charge_term=False,
        )  # fmt: skip
        report.notes.append(
            f"charge resistance R0 + {1000 * dr_chg:.2f} mΩ is below R0: one R0 for both directions"
        )
        report.seconds = time.perf_counter() - started  # both fits
        return model, report
    # the residual of the model the filter runs: with ΔR⁺ (0 without the charge term)
    res = prob.residual(beta, d)
    model = CellModel(
        name=name,
        chemistry=chemistry,
        cells_in_series=cells,
        capacity_ah=q,
        coulombic_efficiency=eta,
        r0_ohm=float(r0),
        rc=rc,
        hysteresis_gamma=float(np.exp(theta[n_free])),
        hysteresis_m_v=float(coef[n_free]),
        hysteresis_m0_v=float(coef[n_free + 1]),
        ocv=OcvTable(grid, np.array([25.0]), ocv_table[None, :]),
        r0_charge_extra_ohm=dr_chg,
    )
    # the filter's dynamic voltage: |R0·i| + ΔR⁺·max(i, 0) + Σ R_j·|i_Rj|
    dyn = np.abs(r0 * i[ok]) + dr_chg * i_chg + np.abs(d[:, :n_free]) @ np.abs(coef[:n_free]) + np.abs(v_slow)
    resting = (np.abs(i[ok]) <= rest_a) & (dyn < 0.002)
    if with_charge:
        # and every rest row 10 minutes on: with a slow branch (τ up to the longest rest) the
        # model "relaxes" in few rows, and the column was one SOC bin's, held across all SOC
        # (lead-acid C/20+CV: 30 mV per cell everywhere, from its rests near full)
        resting |= relaxed_rows(t, i, rest_a)[ok]
    table, by_regime = regime_uncertainty(
        z[ok], res, dyn, i[ok], rest_a, resting,
        by_direction=with_charge, charge_term_v=dr_chg * i_chg,
    )  # fmt: skip
    if charge_term is False:  # one R0 serves both directions: the SOC-only table, as before
        table = uncertainty_from_residual(z[ok], res, dyn, resting)
    # beyond the SOC the run reached the OCV is extrapolated: the rest σ grows with the distance
    table = widen_beyond_data(table, grid, ocv_table, float(z[ok].min()), float(z[ok].max()))
    model = replace(model, uncertainty=table)
    # check by simulation from the identified start (the same arithmetic the filter uses)
    v_sim, _ = simulate(model, t, i, float(z[0]))
    err = (v_sim / cells - v)[ok]
    report = FitReport(
        capacity_ah=q,
        efficiency=eta,
        capacity=cap,
        r0_ohm=float(r0),
        r0_steps=n_steps,
        rms_mv_cell=1000 * float(np.sqrt(np.mean(err**2))),
        max_mv_cell=1000 * float(np.max(np.abs(err))),
        rms_mv_pack=1000 * cells * float(np.sqrt(np.mean(err**2))),
        rest_points=len(rests[0]),
        ocv_vs_slow_average_mv=1000 * float(np.sqrt(np.mean((ocv_table - ocv0) ** 2))),
        seconds=time.perf_counter() - started,
        notes=notes,
        charge_extra_ohm=dr_chg,
        regimes=by_regime,
    )
    model = replace(model, info={"rms_mv_cell": round(report.rms_mv_cell, 3), "source": name})
    try:  # never hand out a model that its own loader refuses
        parse_model(dump_model(model))
    except ModelFileError as exc:
        raise IdentificationError(f"the fit is out of the model file's range: {exc}") from None
    return model, report
