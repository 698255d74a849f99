"""Capacity from bench-style characterisation runs: counted Ah against the rest-corrected estimate.

For each chemistry (LFP and NMC by PyBaMM, lead-acid by the KiBaM block of soc_leadacid.py), rate
(C/10, C/5, C/2) and style (with and without CV tails; and a run that starts part-charged and steps
down first), one characterisation run is simulated (``soc_truth.bench_characterisation``) and
``benchgui.soc.identify.identify`` measures the capacity from it — once counting only
(``ocv_limits=None``, as before issue 18) and once corrected by the rests (the default). Errors
against the truth's capacity, the reported 95 % interval and whether it covers the truth; and
the charge efficiency the rests show (``benchgui.soc.efficiency``; the KiBaM block's is 0.97,
PyBaMM's cells run without side reactions here, so 1 — an inference from the model options).

Usage::

    python benchmarks/soc_capacity.py [--model SPMe|DFN] [--chem lfp nmc lead] [--markdown]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchgui.soc.capacity import estimate_capacity  # noqa: E402
from benchgui.soc.efficiency import efficiency_from_rests  # noqa: E402
from benchgui.soc.relaxation import rest_time_constant  # noqa: E402
from benchmarks import soc_truth  # noqa: E402

STYLES = (("CV tails", True, True), ("no CV", False, True), ("no CV, part-charged start", False, False))


def rest_efficiency(t, i, v, rest_a: float) -> str:  # type: ignore[no-untyped-def]
    """η where the rests after a charge lie on the OCV (benchgui/soc/efficiency.py), or why not."""
    relax = rest_time_constant(t, i, v, rest_a)
    if relax is None:
        return "– (no slow relaxation in the rests)"
    fit = efficiency_from_rests(t, i, np.array(relax.ends), np.array(relax.v_end), np.array(relax.direction))
    if fit is None:
        return "– (no rests after both directions)"
    return f"{fit.eta:.3f} ± {fit.half_width:.3f}" + ("" if fit.determined else " (open)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="SPMe", choices=["SPM", "SPMe", "DFN"], help="PyBaMM model (lithium)")
    ap.add_argument(
        "--chem", nargs="*", default=["lfp", "nmc", "lead"], choices=sorted(soc_truth.CHEMISTRIES)
    )
    ap.add_argument("--rates", nargs="*", default=list(soc_truth.RATES), choices=list(soc_truth.RATES))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    head = [
        "chemistry",
        "rate",
        "style",
        "true Ah",
        "counted %",
        "corrected %",
        "± (95 %)",
        "covers",
        "warnings",
        "η from the rests (95 %)",
    ]
    rows = []
    worst = 0.0
    for key in args.chem:
        chem = soc_truth.CHEMISTRIES[key]
        for rate in args.rates:
            for style, cv, pre in STYLES:
                run = soc_truth.bench_characterisation(chem, rate, cv, model=args.model, precharge=pre)
                v = run.voltage_v / chem.cells
                counted = estimate_capacity(run.t_s, run.current_a, v, None)
                est = estimate_capacity(run.t_s, run.current_a, v)
                q = run.capacity_ah
                err = 100 * (est.capacity_ah / q - 1)
                worst = max(worst, abs(err))
                rows.append(
                    [
                        chem.label,
                        rate,
                        style,
                        f"{q:.3f}",
                        f"{100 * (counted.capacity_ah / q - 1):+.1f}",
                        f"**{err:+.1f}**",
                        f"{100 * est.interval_ah / est.capacity_ah:.1f} %",
                        "yes" if abs(est.capacity_ah - q) <= est.interval_ah else "no",
                        str(len(est.warnings)),
                        rest_efficiency(run.t_s, run.current_a, v, est.counted_ah / 50),
                    ]
                )
                if not args.markdown:
                    print(" | ".join(rows[-1]), flush=True)
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    print(f"\nworst corrected error {worst:.1f} % (target ±2 %); lithium runs by PyBaMM {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
