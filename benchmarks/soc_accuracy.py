"""SOC accuracy against PyBaMM: identify from a characterisation run, replay drive profiles.

For each chemistry (LFP, NMC; 4S packs simulated by PyBaMM's DFN model, see soc_truth.py):

1. ``benchgui soc identify char.csv --cells 4 --output model.toml`` on the characterisation run
   (the only data the model is fitted to);
2. ``benchgui soc replay PROFILE.csv --model model.toml --output out.csv --initial-soc X
   --initial-sigma S`` on each drive profile: with the right start SOC (σ 2 %, a known start)
   and with a start 20 points off (σ 10 %, the CLI default: an operator's guess); and with
   the right start but a current sensor that reads 3 % low during the drive (the LabJack and
   the MPPT disagree by about that much on the real bench);
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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchgui.cli import main as benchgui_main  # noqa: E402
from benchgui.soc.modelfile import load_model  # noqa: E402
from benchgui.soc.replay import coulomb_series  # noqa: E402
from benchmarks import soc_truth  # noqa: E402
from benchmarks.soc_baselines import filterpy_replay  # noqa: E402

WARMUP_S = 600.0
CONVERGED_PCT = 2.0
WRONG_BY = 0.20
CURRENT_GAIN = 0.97


@dataclass
class Metrics:
    rms_pct: float
    max_pct: float
    inside_3sigma: float | None  # fraction of samples, None when the method has no σ
    converge_s: float | None  # None: not applicable (right start); < 0: never converged
    failed_s: float | None = None  # the method stopped working here (numerically)

    def cells(self) -> list[str]:
        inside = "–" if self.inside_3sigma is None else f"{100 * self.inside_3sigma:.1f}"
        if self.converge_s is None:
            conv = "–"
        else:
            conv = "never" if self.converge_s < 0 else f"{self.converge_s / 60:.1f}"
        if self.failed_s is not None:
            return [f"crashed after {self.failed_s / 60:.0f} min", "–", "–", "–"]
        return [f"{self.rms_pct:.2f}", f"{self.max_pct:.2f}", inside, conv]


def metrics(
    t: np.ndarray,
    est: np.ndarray,
    true: np.ndarray,
    sigma: np.ndarray | None,
    wrong: bool,
    failed_s: float | None = None,
) -> Metrics:
    """Errors in SOC percentage points (over the rows a method produced)."""
    ok = np.isfinite(est)
    t, est, true = t[ok], est[ok], true[ok]
    sigma = sigma[ok] if sigma is not None else None
    err = 100 * (est - true)
    late = t - t[0] >= WARMUP_S
    inside = None
    if sigma is not None:
        inside = float(np.mean(np.abs(err) <= 3 * 100 * sigma + 1e-9))
    conv = None
    if wrong:
        bad = np.nonzero(np.abs(err) > CONVERGED_PCT)[0]
        if len(bad) == 0:
            conv = 0.0
        elif bad[-1] == len(err) - 1 or failed_s is not None:
            conv = -1.0
        else:
            conv = float(t[bad[-1] + 1] - t[0])
    if not late.any():
        return Metrics(float("nan"), float("nan"), inside, conv, failed_s)
    return Metrics(
        float(np.sqrt(np.mean(err[late] ** 2))), float(np.max(np.abs(err[late]))), inside, conv, failed_s
    )


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
        clean = soc_truth.drive(chem, prof, quick)
        z0 = float(clean.soc_true[0])
        cases = (
            ("right", z0, 0.02, 1.0),
            ("wrong", wrong_start(z0), 0.10, 1.0),
            # the drive's current sensor reads 3 % low (LabJack vs MPPT on the real bench)
            (f"right, I {100 * (CURRENT_GAIN - 1):+.0f} %", z0, 0.02, CURRENT_GAIN),
        )
        for start_name, start, sigma, gain in cases:
            run = replace(clean, current_a=clean.current_a * gain)
            csv = work / f"{chem_key}-{prof}-{gain:g}.csv"
            run.to_csv(csv)
            wrong = start_name == "wrong"
            out = work / f"{chem_key}-{prof}-{start_name.split(',')[0]}-{gain:g}-out.csv"
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
                    "--initial-sigma",
                    f"{100 * sigma:g}",
                ]
            )
            if rc != 0:
                raise RuntimeError(f"replay failed with exit code {rc}")
            t, soc, sig = read_out(out)
            base = dict(chem=chem.label, profile=prof, start=start_name, hours=float((t[-1] - t[0]) / 3600))
            rows.append(
                {
                    **base,
                    "method": "SPKF (benchgui)",
                    "m": metrics(t, soc, run.soc_true, sig, wrong),
                    "raw": (t, soc, run.soc_true, sig),
                }
            )
            cc = coulomb_series(
                model,
                np.diff(run.t_s, prepend=run.t_s[0]),
                np.concatenate([[run.current_a[0]], run.current_a[:-1]]),
                start,
            )
            rows.append(
                {
                    **base,
                    "method": "coulomb counting",
                    "m": metrics(t, cc, run.soc_true, None, wrong),
                    "raw": (t, cc, run.soc_true, None),
                }
            )
            fz, fs, failed = filterpy_replay(model, run.t_s, run.current_a, run.voltage_v, start, sigma)
            rows.append(
                {
                    **base,
                    "method": "filterpy UKF",
                    "m": metrics(t, fz, run.soc_true, fs, wrong, failed),
                    "raw": (t, fz, run.soc_true, fs),
                }
            )
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """One row per chemistry × start × method, over all profiles: RMS and max after the
    first 10 minutes of each, ±3σ share of all samples, the slowest convergence."""
    out = []
    order = {"SPKF (benchgui)": 0, "filterpy UKF": 1, "coulomb counting": 2}
    starts = list(dict.fromkeys(r["start"] for r in rows))
    keys = sorted(
        {(r["chem"], r["start"], r["method"]) for r in rows},
        key=lambda k: (k[0], starts.index(k[1]), order.get(k[2], 9)),
    )
    for chem, start, method in keys:
        group = [r for r in rows if (r["chem"], r["start"], r["method"]) == (chem, start, method)]
        errs, late, inside = [], [], []
        for r in group:
            t, est, true, sig = r["raw"]
            ok = np.isfinite(est)
            e = 100 * (est[ok] - true[ok])
            errs.append(e)
            late.append(t[ok] - t[0] >= WARMUP_S)
            if sig is not None:
                inside.append(np.abs(e) <= 300 * sig[ok] + 1e-9)
        e, lt = np.concatenate(errs), np.concatenate(late)
        conv = None
        if start == "wrong":
            cs = [r["m"].converge_s for r in group]
            conv = -1.0 if any(c is not None and c < 0 for c in cs) else max(c or 0.0 for c in cs)
        fails = [r["m"].failed_s for r in group if r["m"].failed_s is not None]
        if fails:  # numbers over a few minutes before a crash mean nothing
            m = Metrics(float("nan"), float("nan"), None, None, min(fails))
            out.append(dict(chem=chem, profile="all 3", start=start, method=method, m=m, crashed=len(fails)))
            continue
        m = Metrics(
            float(np.sqrt(np.mean(e[lt] ** 2))),
            float(np.max(np.abs(e[lt]))),
            float(np.mean(np.concatenate(inside))) if inside else None,
            conv,
        )
        hours = sum(r["hours"] for r in group)
        out.append(dict(chem=chem, profile=f"all 3 ({hours:.0f} h)", start=start, method=method, m=m))
    return out


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
    print(table(summary(rows), args.markdown))
    print()
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
