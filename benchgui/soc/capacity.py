"""Capacity from a characterisation run: counted Ah, corrected with the relaxed voltages.

Counting Ah between the voltage limits under-reads the capacity: at the turn the loaded
voltage hits the limit while the cell is not yet empty (or full) — the overpotential hides
the rest, more at higher rates and without CV tails (1–15 % on PyBaMM runs at C/10…C/2). The
rests show where the cell really was: after a rest at an end the relaxed voltage sits short
of the limit, and the rests near that end (closely spaced when the operator retries after the
cut-off) give the local OCV slope. Missing charge = voltage gap / slope, per end.

SOC 0 % and 100 % are where the open-circuit voltage equals the limits. That is the lithium-ion
convention (and PyBaMM's: its SOC window ends where the OCV equals the cut-offs). The limits
default to the loaded voltages the run reached where it turned (the cut-offs it was charged and
discharged to: the extreme of the steps' last samples near each end, :func:`_reached`; a run
that turns by time, not at a limit, should name its limits or ``None``). A
lead-acid-like run (per-cell maximum below 2.7 V) is corrected at the full end only, against
the published 2.13 V/cell of a full, rested block: its relaxed voltage never comes near the
1.75 V cut-off, so that is no SOC end (inference), and the empty end stays counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from benchgui.soc.model import SECONDS_PER_HOUR
from benchgui.soc.recursions import intervals

#: a rest must last this long before its voltage counts as relaxed
MIN_REST_S = 600.0
#: per-cell maximum voltage below which a run looks like lead-acid (no automatic end limits)
LEAD_ACID_MAX_V = 2.7
#: lead-acid's rested voltage when full, per cell (12.8 V per 12 V block: the widely published
#: state-of-charge tables, e.g. Battery University BU-903)
LEAD_ACID_FULL_OCV_V = 2.13
#: a lead-acid run that turns above this (per cell, loaded) never reached a discharge cut-off
#: (datasheets: 1.6…1.75 V per cell by rate; inference: a margin above that)
LEAD_ACID_EMPTY_TURN_V = 1.85
#: relaxed voltages (per cell) of two full turns further apart than this are not the same state
TOPS_DIFFER_V = 0.005
#: successive rests used for an end's curvature must differ by at least this (per cell): four
#: times the per-cell noise of a 4S pack read to 2 mV (inference); closer rests (retries at C/2,
#: lead-acid's nearly straight end) show noise, and the straight line is used
CURVE_MIN_STEP_V = 0.002
#: the loaded samples within this share of the capacity from an end show the limit it turned at
REACHED_FRACTION = 0.05
#: at most this share of the capacity is added per end by extrapolation
MAX_END_FRACTION = 0.25


@dataclass
class CapacityEstimate:
    """Capacity with its 95 % interval and the pieces it is made of (Ah unless named)."""

    capacity_ah: float
    interval_ah: float  # ± half-width, 95 %
    counted_ah: float  # between the turns, without correction
    efficiency: float
    missing_empty_ah: float = 0.0
    missing_full_ah: float = 0.0
    k_empty: int = 0  # sample index of the empty turn
    warnings: list[str] = field(default_factory=list)
    determined: bool = True  # False: the run does not reach an end; capacity_ah is a lower bound
    given: bool = False  # the caller named the capacity
    #: the count is a charge pass (Ah in, at efficiency 1): a measured efficiency scales it
    from_charge: bool = False

    def line(self) -> str:
        if self.given:
            return f"{self.capacity_ah:.4f} Ah (given; the run counted {self.counted_ah:.4f} Ah)"
        if not self.determined:
            return f"≥ {self.counted_ah:.4f} Ah counted; the run does not determine the capacity"
        pct = 100 * self.interval_ah / self.capacity_ah if self.capacity_ah else math.nan
        return (
            f"{self.capacity_ah:.4f} Ah ± {self.interval_ah:.4f} Ah ({pct:.1f} %, 95 %): "
            f"{self.counted_ah:.4f} counted + {self.missing_empty_ah:.4f} at empty + "
            f"{self.missing_full_ah:.4f} at full (from the rests)"
        )


def coulomb(t: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Cumulative Ah (zero-order hold, charge positive) at every sample."""
    return np.concatenate([[0.0], np.cumsum(i[:-1] * intervals(t) / SECONDS_PER_HOUR)])


def _turn(c: np.ndarray, i: np.ndarray, k: int, rest_a: float) -> int:
    """The last moving sample of the segment that reaches the extreme ``k`` (noise in a rest
    drifts the count a little; the turn is where the current stopped)."""
    while k > 0 and abs(i[k - 1]) <= rest_a:
        k -= 1
    return k


def _rest_after(t: np.ndarray, i: np.ndarray, v: np.ndarray, k: int, rest_a: float) -> float | None:
    """The relaxed voltage at the end of the rest starting at ``k`` (None: no rest ≥ MIN_REST_S)."""
    j = k
    while j + 1 < len(i) and abs(i[j + 1]) <= rest_a:
        j += 1
    if t[j] - t[k] < MIN_REST_S or not np.isfinite(v[j]):
        return None
    return float(v[j])


def rest_points(
    t: np.ndarray, i: np.ndarray, z: np.ndarray, v: np.ndarray, rest_a: float, min_s: float = 600.0
):
    """(z, v, direction) at the end of every rest of at least ``min_s``; direction is the sign
    of the current before the rest (−1 after discharge, +1 after charge)."""
    resting = np.abs(i) <= rest_a
    out = []
    k = 0
    n = len(i)
    while k < n:
        if not resting[k]:
            k += 1
            continue
        j = k
        while j + 1 < n and resting[j + 1]:
            j += 1
        if t[j] - t[k] >= min_s and np.isfinite(v[j]):
            before = i[k - 1] if k > 0 else 0.0
            out.append((z[j], v[j], float(np.sign(before))))
        k = j + 1
    if not out:
        return np.empty(0), np.empty(0), np.empty(0)
    a = np.array(out)
    return a[:, 0], a[:, 1], a[:, 2]


def _reached(
    c: np.ndarray, i: np.ndarray, v: np.ndarray, c_end: float, rest_a: float, q: float, top: bool
) -> float:
    """The cut-off the run turned at: of the charging steps (top) or discharging steps (bottom)
    that end within ``REACHED_FRACTION`` of the capacity from that end, the last loaded sample
    nearest the limit. The one step that turned last can sit well short of it — a last retry
    at C/2 logged every 20 s reached 4.2 V between two samples and its last one read 4.189 V
    (NCA_Kim2011): a limit 11 mV low left 0.9 % of the capacity uncorrected and its interval
    did not cover the truth. Only the steps' last samples, not every sample: the highest of the
    hundreds a CV hold logs is the limit plus three times the noise (inference; it added
    0.1 % to a CV-held capacity). NaN when no step ends there."""
    loaded = (i > rest_a) if top else (i < -rest_a)
    ends = np.zeros(len(i), bool)
    ends[:-1] = loaded[:-1] & ~loaded[1:]
    sel = ends & (np.abs(c - c_end) <= REACHED_FRACTION * q) & np.isfinite(v)
    if not sel.any():
        return math.nan
    return float(v[sel].max() if top else v[sel].min())


def _held(t: np.ndarray, i: np.ndarray, v: np.ndarray, k: int, rest_a: float) -> bool:
    """Whether the run reached the turn at ``k`` by a voltage hold: going back from the turn,
    the voltage stays within 5 mV of the turn's for at least a minute while the current there
    was at least twice the final one."""
    j = k - 1
    if j < 1 or abs(i[j]) <= 0.1 * rest_a:
        return False
    m = j
    while m > 0 and abs(v[m - 1] - v[j]) <= 0.005 and np.sign(i[m - 1]) == np.sign(i[j]):
        m -= 1
    return j - m >= 3 and t[j] - t[m] >= 60.0 and abs(i[m]) >= 2 * abs(i[j])


def _curved_end(d: np.ndarray, v: np.ndarray, gap: float) -> float | None:
    """Charge (Ah) beyond the end rest to where the OCV has moved by ``gap``, on an exponential
    V = a + b·exp(−k·d) through the end rest (d = 0) and the next two rests inward (d > 0).

    Why: near a lithium cell's ends the OCV steepens monotonically into the end (an electrode
    running out of sites — the logarithmic term of its OCP; inference from the Nernst form),
    so a straight line through two rests under-states the slope beyond the last one and
    over-states the missing charge (LiFePO4 at C/10 without CV: 0.085 Ah where the cell held
    0.037). The exponential is the simplest curve that steepens with one scale, fixed by the
    three rests. None when the three rests do not steepen towards the end (no curvature to use).
    """
    d0, d1, d2 = (float(x) for x in d)
    v0, v1, v2 = (float(x) for x in v)
    s01 = abs(v1 - v0) / (d1 - d0)
    s12 = abs(v2 - v1) / (d2 - d1)
    if not (s01 > s12 > 0) or (v1 - v0) * (v2 - v1) <= 0:
        return None
    if min(abs(v1 - v0), abs(v2 - v1)) < CURVE_MIN_STEP_V:
        return None  # rests this close in voltage show noise, not curvature
    ratio = s01 / s12  # = (1 − e^{−k·d1})/d1 ÷ (e^{−k·d1} − e^{−k·d2})/(d2 − d1): rises with k

    def f(k: float) -> float:
        e1, e2 = math.exp(-k * d1), math.exp(-k * d2)
        return (-math.expm1(-k * d1) / d1) / ((e1 - e2) / (d2 - d1)) - ratio

    lo, hi = 1e-6 / d2, 50.0 / d1
    if f(lo) > 0 or f(hi) < 0:
        return None
    from scipy.optimize import brentq

    k = float(brentq(f, lo, hi))
    b = s01 * d1 / -math.expm1(-k * d1)  # slope magnitude at d = 0 is b·k
    # beyond the end (d < 0): |V − V0| = b·(e^{k·|d|} − 1) = gap
    return math.log1p(gap / b) / k


def _end_correction(
    rests: tuple[np.ndarray, np.ndarray, np.ndarray],
    c_end: float,
    v_rel: float,
    limit: float,
    q: float,
    top: bool,
) -> tuple[float, float]:
    """(missing Ah, its uncertainty) between the relaxed voltage at an end and the limit.

    Secant slopes from the rest points at that end: the local one (rests within 5 % of the
    capacity: the retries) and a wide one (within 25 %); the steeper one (the smaller
    correction) is an upper bound where the OCV steepens into the end. Where three rests of
    the pass that reached the end (same direction) steepen towards it, the curvature they show
    (:func:`_curved_end`) gives the estimate inside that bound; the interval reaches the bound.
    """
    gap = (limit - v_rel) if top else (v_rel - limit)
    if gap <= 0:
        return 0.0, 0.0
    rc, rv, rd = rests
    dist = np.abs(rc - c_end)
    slopes = []
    for reach in (0.05, 0.25):
        m = dist <= reach * q
        if m.sum() >= 2 and np.ptp(rc[m]) > 0.002 * q:
            s = abs(float(np.polyfit(rc[m], rv[m], 1)[0]))
            if s > 0:
                slopes.append(s)
    if not slopes:
        return 0.0, min(gap, MAX_END_FRACTION * q)  # cannot say: all of it is uncertain
    cands = sorted(min(gap / s, MAX_END_FRACTION * q) for s in slopes)
    secant = cands[0]
    spread = cands[-1] - cands[0] if len(cands) > 1 else secant
    # the pass that reached this end: rests after charging (top) or discharging (bottom), inward
    inward = (rc <= c_end + 0.002 * q) if top else (rc >= c_end - 0.002 * q)
    same = inward & (rd == (1.0 if top else -1.0)) & (dist <= MAX_END_FRACTION * q)
    order = np.argsort(dist[same])
    pd, pv = dist[same][order], rv[same][order]
    if len(pd) >= 3 and pd[0] <= 0.002 * q:
        keep = [0]  # the end rest, then the next rests at least 0.5 % of the capacity apart
        for j in range(1, len(pd)):
            if pd[j] - pd[keep[-1]] >= 0.005 * q:
                keep.append(j)
            if len(keep) == 3:
                break
        if len(keep) == 3:
            curved = _curved_end(pd[keep] - pd[0], pv[keep], gap)
            if curved is not None and 0.0 <= curved < secant:
                return curved, 0.5 * (secant - curved) + 0.25 * curved
    return secant, 0.5 * spread + 0.25 * secant


def estimate_capacity(
    t: np.ndarray,
    i: np.ndarray,
    v_cell: np.ndarray,
    ocv_limits: tuple[float, float] | str | None = "auto",
) -> CapacityEstimate:
    """Capacity from a run that goes from full to empty (and optionally back), see module doc.

    ``ocv_limits``: per-cell open-circuit voltages at 0 % and 100 %; ``"auto"`` takes the loaded
    voltages where the run turned (not for lead-acid-like runs); ``None`` counts only.
    """
    c = coulomb(t, i)
    warnings: list[str] = []
    k_e = int(np.argmin(c))
    k_f1 = int(np.argmax(c[: k_e + 1]))
    q_dis = c[k_f1] - c[k_e]
    k_f2 = k_e + int(np.argmax(c[k_e:]))
    q_chg = c[k_f2] - c[k_e]
    eta = 1.0
    from_charge = False
    vmax = float(np.nanmax(v_cell))
    recharged = q_chg > 0 and np.nanmax(v_cell[k_e:]) > vmax - 0.02 * abs(vmax)
    # the discharge starts from full only if the run was at its top voltage there (a run that
    # starts part-charged and steps down first must not count that part as the capacity)
    from_full = q_dis > 0 and np.nanmax(v_cell[: k_e + 1]) > vmax - 0.02 * abs(vmax)
    # the top the counted pass starts from: the recharge's, unless the count is the discharge
    # from a higher first top (a charge without CV that stops short of where the run began)
    top_first = from_full and not (recharged and q_chg >= q_dis)
    if from_full and recharged and q_chg >= q_dis:
        eta = min(1.0, max(0.5, q_dis / q_chg))
    elif recharged and q_chg > 0 and not (from_full and q_dis >= q_chg):
        q_dis, from_charge = q_chg, True
        warnings.append(
            "no discharge from full before the deepest point: capacity from the charge, efficiency 1"
        )
    if from_full and recharged and eta < 1.0:
        # η from the counts assumes both tops are the same state; their relaxed voltages say
        # whether they are (a lead-acid charge without absorption stops at 80–90 %, lower the
        # first time from a part-charged start)
        # (only tops both reached by charging: after a discharge hysteresis alone moves the rest)
        ra = max(q_dis, q_chg) / 50
        t1, t2 = _turn(c, i, k_f1, ra), _turn(c, i, k_f2, ra)
        # the run's first rest counts too when the run starts at its top (an operator starts
        # from a full, rested pack): the start, if higher, is the fuller state
        v1 = _rest_after(t, i, v_cell, t1, ra) if t1 == 0 or i[t1 - 1] > ra else None
        v2 = _rest_after(t, i, v_cell, t2, ra) if t2 > 0 and i[t2 - 1] > ra else None
        if t1 == 0 and v1 is not None and v2 is not None and v1 <= v2:
            v1 = None  # a start lower than a charged rest may be hysteresis (its history is unknown)
        if v1 is not None and v2 is not None and abs(v2 - v1) > TOPS_DIFFER_V:
            warnings.append(
                f"the two full turns rest at {v1:.3f} and {v2:.3f} V per cell, not the same state: "
                "capacity from the higher one's pass, efficiency not measured (1)"
            )
            eta = 1.0
            if v1 < v2:
                q_dis, from_charge = q_chg, True
            else:
                k_f2 = k_f1
    counted = float(q_dis)
    if counted <= 0:
        return CapacityEstimate(0.0, 0.0, 0.0, eta, warnings=warnings)
    rest_a = counted / 50  # relative: a 5 mAh cell rests below 0.1 mA
    k_e = _turn(c, i, k_e, rest_a)
    k_cut = _turn(c, i, k_f2 if recharged else k_f1, rest_a)  # where the charge met its limit
    k_full = k_cut
    if top_first and recharged and _rest_after(t, i, v_cell, _turn(c, i, k_f1, rest_a), rest_a) is not None:
        # the count runs from the first top: the end correction belongs there (correcting at the
        # lower recharge top added what the count already held — LiFePO4 C/10 steps: +0.5 %)
        k_full = _turn(c, i, k_f1, rest_a)
    limits: tuple[float, float] | None
    determined = True
    auto_turns = False
    if isinstance(ocv_limits, str):  # the voltages where the run turned: its cut-offs
        turns = (float(v_cell[max(k_e - 1, 0)]), float(v_cell[max(k_cut - 1, 0)]))
        if vmax < LEAD_ACID_MAX_V:  # lead-acid: full is a known rest voltage, empty is not
            limits = (math.nan, LEAD_ACID_FULL_OCV_V)
            if turns[0] > LEAD_ACID_EMPTY_TURN_V:
                determined = False
                warnings.append(
                    f"the discharge turns at {turns[0]:.3f} V per cell, above any lead-acid cut-off: "
                    "the run never empties the block, too shallow to determine the capacity"
                )
        else:
            reached = (
                _reached(c, i, v_cell, float(c[k_e]), rest_a, counted, top=False),
                _reached(c, i, v_cell, float(c[k_cut]), rest_a, counted, top=True),
            )
            turns = (min(turns[0], reached[0]), max(turns[1], reached[1]))
            limits = turns if all(map(math.isfinite, turns)) else None
            auto_turns = limits is not None
    else:
        limits = ocv_limits
    z_like = c / counted
    rz, rv, rd = rest_points(t, i, z_like, v_cell, rest_a, MIN_REST_S)
    rests = (rz * counted, rv, rd)
    missing = {"empty": 0.0, "full": 0.0}
    unc = {"empty": 0.0, "full": 0.0}
    for end, k, top in (("empty", k_e, False), ("full", k_full, True)):
        v_rel = _rest_after(t, i, v_cell, k, rest_a)
        if v_rel is None:
            warnings.append(
                f"no rest of {MIN_REST_S / 60:.0f} min at the {end} end: its position is not corrected"
            )
            continue
        if limits is None:
            continue
        limit = limits[1 if top else 0]
        if not math.isfinite(limit):
            continue
        if auto_turns and _held(t, i, v_cell, k, rest_a):
            # a CV hold to its taper is the usual definition of that end: not extrapolated
            # beyond (PyBaMM's window lies 0.1–0.6 % further), the allowance goes to the interval
            unc[end] = 0.005 * counted
            continue
        missing[end], unc[end] = _end_correction(rests, float(c[k]), v_rel, limit, counted, top)
        if missing[end] >= MAX_END_FRACTION * counted * 0.999:
            determined = False
            warnings.append(
                f"the run stops {1000 * abs(limit - v_rel):.0f} mV (relaxed) short of the {end} limit "
                f"{limit:.3f} V: too shallow to determine the capacity"
            )
    q = counted + missing["empty"] + missing["full"]
    noise = 0.003 * q  # counting: current-sensor offset/gain of a bench (inference: ~0.3 %)
    interval = 2 * math.sqrt(noise**2 + unc["empty"] ** 2 + unc["full"] ** 2)
    span = (c.max() - c.min()) / q
    if span < 0.8:
        warnings.append(f"the run spans only {100 * span:.0f} % of the capacity: too shallow to determine it")
    for end in ("empty", "full"):
        if missing[end] > 0.05 * q:
            warnings.append(
                f"{100 * missing[end] / q:.0f} % of the capacity lies beyond the {end} turn and is "
                "extrapolated from the rests: a CV tail or a slower last step makes it measured"
            )
    if interval > 0.02 * q:
        warnings.append(f"capacity uncertain by ±{100 * interval / q:.1f} %")
    return CapacityEstimate(
        q, interval, counted, eta, missing["empty"], missing["full"], k_e, warnings, determined,
        from_charge=from_charge,
    )  # fmt: skip
