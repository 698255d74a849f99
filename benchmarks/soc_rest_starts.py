"""SOC estimates that start at a rest in the middle of a drive: the rested voltage read as an OCV
(before) against the rest's relaxation fitted over its first 10 minutes (benchgui.soc.rest_start).

Why: a bench operator starts the estimator whenever the app starts — often in a rest that follows
a charge or a discharge, when the RC branches still hold what it left. The issue 18 matrix starts
every drive rested (``soc_accuracy.py``); this one starts at the beginning of each of the first
``--starts`` rests of each drive profile (rests ≥ 1 reading, at least an hour of drive left) with
the start left to the estimator (``soc0=None``, as ``benchgui soc replay --initial-soc auto``
and the live app). The models are identified from the same characterisation runs as the matrix.

Prints, per chemistry, model and start: the number of starts, the median over starts of the
RMS error after 10 minutes, the worst error after 10 minutes, and the share of rows inside ±3σ
(lowest and mean over the starts).

    python benchmarks/soc_rest_starts.py [--chem lead lfp nmc] [--starts 12] [--markdown]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from benchgui.soc.modelfile import load_model  # noqa: E402
from benchgui.soc.replay import RunData, replay  # noqa: E402
from benchmarks import soc_accuracy, soc_cases, soc_truth  # noqa: E402

AFTER_S = 600.0
MIN_LEFT_S = 3600.0
METHODS = {"rested voltage (before)": False, "relaxation fitted": True}


def rest_starts(t: np.ndarray, i: np.ndarray, rest_a: float, limit: int) -> list[int]:
    """Rows where a rest begins (the row before moved), with an hour of drive after them."""
    rest = np.abs(i) <= rest_a
    begins = np.nonzero(rest[1:] & ~rest[:-1])[0] + 1
    return [int(k) for k in begins if t[-1] - t[k] >= MIN_LEFT_S][:limit]


def evaluate(chem_key: str, limit: int, work: Path) -> list[dict]:
    chem = soc_truth.CHEMISTRIES[chem_key]
    rows: list[dict] = []
    for fidelity in chem.fidelities:
        for style in soc_cases.CHAR_STYLES:
            model_path, _ = soc_accuracy.identify_model(chem_key, fidelity, style, False, work)
            model = load_model(model_path)
            per: dict[str, list[tuple[float, float, float]]] = {m: [] for m in METHODS}
            for prof in soc_truth.PROFILES:
                run = soc_cases.SENSORS[0].apply(soc_cases.drive(chem, fidelity, prof, False))
                t, i, v, z = run.t_s, run.current_a, run.voltage_v, run.soc_true
                for k0 in rest_starts(t, i, model.rest_current_a(), limit):
                    part = RunData(t[k0:], i[k0:], v[k0:])
                    late = t[k0:] - t[k0] >= AFTER_S
                    for name, fit in METHODS.items():
                        res = replay(model, part, fit_rest=fit)
                        e = 100 * (res.soc - z[k0:])
                        inside = float(np.mean(np.abs(e) <= 300 * res.soc_sigma + 1e-9))
                        per[name].append(
                            (float(np.sqrt(np.mean(e[late] ** 2))), float(np.max(np.abs(e[late]))), inside)
                        )
            for name, got in per.items():
                a = np.array(got)
                rows.append(
                    dict(
                        chem=chem.label,
                        fidelity=fidelity,
                        style=style,
                        start=name,
                        n=len(got),
                        rms=float(np.median(a[:, 0])),
                        worst=float(a[:, 1].max()),
                        low=100 * float(a[:, 2].min()),
                        mean=100 * float(a[:, 2].mean()),
                    )
                )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--chem", nargs="*", default=["lead", "lfp", "nmc"], choices=sorted(soc_truth.CHEMISTRIES)
    )
    ap.add_argument("--starts", type=int, default=12, help="rests per drive profile (the first ones)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for chem in args.chem:
            rows += evaluate(chem, args.starts, Path(tmp))
    head = "| chemistry | model | characterisation | start | starts | median RMS % | worst max % | lowest in ±3σ % | mean in ±3σ % |"
    if args.markdown:
        print(head)
        print("|---" * 9 + "|")
    for r in rows:
        cells = [
            r["chem"],
            r["fidelity"],
            r["style"],
            r["start"],
            str(r["n"]),
            f"{r['rms']:.2f}",
            f"{r['worst']:.2f}",
            f"{r['low']:.1f}",
            f"{r['mean']:.1f}",
        ]
        print("| " + " | ".join(cells) + " |" if args.markdown else "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
