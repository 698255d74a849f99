"""SOC accuracy against PyBaMM: identify from a characterisation run, replay drive profiles.

For each chemistry (LFP, NMC; 4S packs simulated by PyBaMM's DFN model, see soc_truth.py):

1. ``benchgui soc identify char.csv --cells 4 --output model.toml`` on the characterisation run
   (the only data the model is fitted to);
2. ``benchgui soc replay PROFILE.csv --model model.toml --output out.csv --initial-soc X`` on
   each drive profile, with the right start SOC and with a start SOC 20 points off;
3. the same replays through plain coulomb counting and through filterpy's
   ``UnscentedKalmanFilter`` on the same model (``soc_baselines.py``);
4. errors against PyBaMM's true SOC: RMS and max after the first 10 minutes, share of samples
   inside ±3σ, and convergence time (after which the error stays within ±2 %).

Usage::

    python benchmarks/soc_accuracy.py [--quick] [--markdown] [--chem lfp nmc]

PyBaMM runs are cached in benchmarks/.cache/pybamm (delete it to regenerate).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchgui.cli import main as benchgui_main  # noqa: E402
from benchgui.soc.modelfile import load_model  # noqa: E402
from benchmarks import soc_truth  # noqa: E402
from benchmarks.soc_baselines import filterpy_replay  # noqa: E402

WARMUP_S = 600.0
CONVERGED_PCT = 2.0
WRONG_BY = 0.20


@dataclass
class Metrics:
    rms_pct: float
    max_pct: float
    inside_3sigma: float | None  # fraction of samples, None when the method has no σ
    converge_s: float | None  # None: never converged (or no wrong start)

    def cells(self) -> list[str]:
        inside = "–" if self.inside_3sigma is None else f"{100 * self.inside_3sigma:.1f}"
        conv = (
            "–"
            if self.converge_s is None
            else ("never" if self.converge_s < 0 else f"{self.converge_s / 60:.1f}")
        )
        return [f"{self.rms_pct:.2f}", f"{self.max_pct:.2f}", inside, conv]


def metrics(
    t: np.ndarray, est: np.ndarray, true: np.ndarray, sigma: np.ndarray | None, wrong: bool
) -> Metrics:
    """Errors in SOC percentage points."""
    err = 100 * (est - true)
    late = t - t[0] >= WARMUP_S
    inside = None
    if sigma is not None:
        inside = float(np.mean(np.abs(err) <= 3 * 100 * sigma + 1e-9))
    conv = None
    if wrong:
        bad = np.nonzero(np.abs(err) > CONVERGED_PCT)[0]
        conv = 0.0 if len(bad) == 0 else (-1.0 if bad[-1] == len(err) - 1 else float(t[bad[-1] + 1] - t[0]))
    return Metrics(float(np.sqrt(np.mean(err[late] ** 2))), float(np.max(np.abs(err[late]))), inside, conv)


def wrong_start(true0: float) -> float:
    """20 points off, in the direction that stays within 0…100 %."""
    return true0 - WRONG_BY if true0 - WRONG_BY >= 0.0 else true0 + WRONG_BY


def read_out(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    return d[:, 0], d[:, 1] / 100, d[:, 2] / 300  # time, SOC, σ


def evaluate(
    chem_key: str, quick: bool, work: Path, profiles: tuple[str, ...] = soc_truth.PROFILES
) -> list[dict]:
    chem = soc_truth.CHEMISTRIES[chem_key]
    char = soc_truth.characterisation(chem, quick)
    char_csv = work / f"{chem_key}-char.csv"
    char.to_csv(char_csv)
    model_path = work / f"{chem_key}-model.toml"
    rc = benchgui_main(
        ["soc", "identify", str(char_csv), "--cells", "4", "--output", str(model_path), "--name", chem.label]
    )
    if rc != 0:
        raise RuntimeError(f"identify failed with exit code {rc}")
    model = load_model(model_path)
    rows = []
    for prof in profiles:
        run = soc_truth.drive(chem, prof, quick)
        csv = work / f"{chem_key}-{prof}.csv"
        run.to_csv(csv)
        z0 = float(run.soc_true[0])
        for start_name, start in (("right", z0), ("wrong", wrong_start(z0))):
            wrong = start_name == "wrong"
            out = work / f"{chem_key}-{prof}-{start_name}-out.csv"
            rc = benchgui_main(
                [
                    "soc",
                    "replay",
                    str(csv),
                    "--model",
                    str(model_path),
                    "--output",
                    str(out),
                    "--initial-soc",
                    f"{100 * start:.3f}",
                ]
            )
            if rc != 0:
                raise RuntimeError(f"replay failed with exit code {rc}")
            t, soc, sig = read_out(out)
            base = dict(chem=chem.label, profile=prof, start=start_name, hours=float((t[-1] - t[0]) / 3600))
            rows.append({**base, "method": "SPKF (benchgui)", "m": metrics(t, soc, run.soc_true, sig, wrong)})
            cc = start + np.concatenate(
                [
                    [0.0],
                    np.cumsum(
                        np.where(run.current_a[:-1] > 0, model.coulombic_efficiency, 1.0)
                        * run.current_a[:-1]
                        * np.diff(run.t_s)
                    ),
                ]
            ) / (3600 * model.capacity_ah)
            rows.append(
                {**base, "method": "coulomb counting", "m": metrics(t, cc, run.soc_true, None, wrong)}
            )
            fz, fs = filterpy_replay(model, run.t_s, run.current_a, run.voltage_v, start, 0.1)
            rows.append({**base, "method": "filterpy UKF", "m": metrics(t, fz, run.soc_true, fs, wrong)})
    return rows


def table(rows: list[dict], markdown: bool) -> str:
    head = [
        "chemistry",
        "profile",
        "start SOC",
        "method",
        "RMS %",
        "max %",
        "in ±3σ %",
        "converged after min",
    ]
    lines = []
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for r in rows:
            lines.append(
                "| " + " | ".join([r["chem"], r["profile"], r["start"], r["method"], *r["m"].cells()]) + " |"
            )
    else:
        fmt = "{:<24} {:<8} {:<6} {:<17} {:>7} {:>7} {:>9} {:>10}"
        lines.append(fmt.format(*head[:4], "RMS %", "max %", "±3σ %", "conv min"))
        for r in rows:
            lines.append(fmt.format(r["chem"], r["profile"], r["start"], r["method"], *r["m"].cells()))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs (what the tests use)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    ap.add_argument("--chem", nargs="*", default=["lfp", "nmc"], choices=sorted(soc_truth.CHEMISTRIES))
    ap.add_argument("--profiles", nargs="*", default=list(soc_truth.PROFILES), choices=soc_truth.PROFILES)
    ap.add_argument("--keep", metavar="DIR", help="keep the CSV and model files in DIR")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for chem in args.chem:
            rows += evaluate(chem, args.quick, work, tuple(args.profiles))
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
