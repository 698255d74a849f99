"""SOC accuracy against PyBaMM: the matrix of issue 18 (identify from one run, replay others).

For each chemistry (LFP, NMC: 4S packs by PyBaMM; lead-acid: a 6-cell KiBaM block; soc_truth.py)
× its truth models (lithium: PyBaMM's DFN and SPMe; lead-acid: KiBaM only) × characterisation
style (C/20 with CV tails; C/10 steps with rests and pulses, no CV) — see soc_cases.py:

1. ``benchgui soc identify char.csv --cells N`` (N: the chemistry's own) on the characterisation
   run of that style and fidelity (the only data the model is fitted to; never the drive);
2. each of three drive profiles it never saw, as three sensor pairs would log it (noise and
   1 mV steps; +20 mA and +0.5 % gain on the current; −20 mA and −0.5 %), replayed through the
   SPKF from the right start (σ 2 %) and from 20 points off (σ 10 %, an operator's guess);
3. errors against the truth model's SOC: RMS and max after the first 10 minutes (wrong start: 30),
   share of samples inside ±3σ, convergence (the error stays within ±2 % from then on), and the
   share of samples the filter flagged as resting on coulomb counting alone.

Lead-acid (``--chem lead``): PyBaMM 26.10's lead-acid models cannot run a characterisation (a
charge never reaches the upper limit; docs/soc-accuracy.md), so its truth is soc_leadacid.py and
its charges are capped at the datasheet's 0.3C (``soc_truth.limit_charge``).

Held out (``--chem nmc532 lco nca kokam``: PyBaMM's Mohtat2020, Ai2020, NCA_Kim2011 and
Ecker2015 sets, ``Chemistry.held_out``): added after the estimator's settings were fixed and never
tuned on — run them to check that a change holds on cells nobody looked at.

Usage::

    python benchmarks/soc_accuracy.py [--quick] [--markdown] [--per-profile] [--chem lfp nmc]
        [--fidelity DFN SPMe] [--style "C/20+CV" "C/10 steps"] [--profiles …]

PyBaMM runs are cached in benchmarks/.cache/pybamm (delete it to regenerate; a cold cache is
about 20 PyBaMM runs). filterpy and coulomb-counting baselines: bench_soc.py, soc_baselines.py.
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
from benchgui.soc.replay import RunData, replay  # noqa: E402
from benchgui.soc.spkf import SpkfTuning  # noqa: E402
from benchmarks import soc_cases, soc_truth  # noqa: E402

WARMUP_S = 600.0
WRONG_WARMUP_S = 1800.0  # the targets for a wrong start hold after 30 minutes
#: --filter: the shipped settings (offset state, gain noise, band floor on a flat OCV), and the
#: filter before issue 18 without them (SpkfTuning.without_offset_state), on the same cases
FILTERS = {"default": SpkfTuning(), "no-offset-state": SpkfTuning.without_offset_state()}
CONVERGED_PCT = 2.0
WRONG_BY = 0.20


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
    warmup_s: float = WARMUP_S,
) -> Metrics:
    """Errors in SOC percentage points (over the rows a method produced); RMS and max after
    ``warmup_s``."""
    ok = np.isfinite(est)
    t, est, true = t[ok], est[ok], true[ok]
    sigma = sigma[ok] if sigma is not None else None
    err = 100 * (est - true)
    late = t - t[0] >= warmup_s
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


#: extra options for ``benchgui soc identify`` (set from the command line)
IDENTIFY_OPTIONS: list[str] = []


def identify_model(chem_key: str, fidelity: str, style: str, quick: bool, work: Path) -> tuple[Path, float]:
    """``benchgui soc identify`` on that characterisation run: (model file, capacity error %)."""
    chem = soc_truth.CHEMISTRIES[chem_key]
    char = soc_cases.characterisation(chem, fidelity, style, quick)
    tag = f"{chem_key}-{fidelity}-{style.replace('/', '').replace(' ', '-').replace('+', '')}"
    char_csv = work / f"{tag}-char.csv"
    char.to_csv(char_csv)
    model_path = work / f"{tag}-model.toml"
    args = ["soc", "identify", str(char_csv), "--cells", str(chem.cells), "--output", str(model_path)]
    args += IDENTIFY_OPTIONS
    with contextlib.redirect_stdout(io.StringIO()):
        rc = benchgui_main([*args, "--name", f"{chem.label} {fidelity} {style}"])
    if rc != 0:
        raise RuntimeError(f"identify failed with exit code {rc} ({tag})")
    model = load_model(model_path)
    return model_path, 100.0 * (model.capacity_ah / char.capacity_ah - 1.0)


def evaluate(
    chem_key: str,
    quick: bool,
    work: Path,
    profiles: tuple[str, ...] = soc_truth.PROFILES,
    fidelities: tuple[str, ...] | None = None,
    styles: tuple[str, ...] = soc_cases.CHAR_STYLES,
    tunings: dict[str, SpkfTuning] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Every case of the matrix for one chemistry: (rows, identification rows).

    The model is identified from a characterisation run of the same fidelity (never from the
    drive); each drive is replayed with every sensor error, from the right start (σ 2 %) and
    20 points off (σ 10 %). ``fidelities``: of the chemistry's own (``Chemistry.fidelities``;
    None: all of them), the ones to run — a lead-acid block has no DFN."""
    chem = soc_truth.CHEMISTRIES[chem_key]
    rows: list[dict] = []
    ident: list[dict] = []
    for fidelity in [f for f in chem.fidelities if fidelities is None or f in fidelities]:
        for style in styles:
            model_path, cap_err = identify_model(chem_key, fidelity, style, quick, work)
            model = load_model(model_path)
            ident.append(dict(chem=chem.label, fidelity=fidelity, style=style, capacity_err_pct=cap_err))
            for prof in profiles:
                clean = soc_cases.drive(chem, fidelity, prof, quick)
                z0 = float(clean.soc_true[0])
                for sensor in soc_cases.SENSORS:
                    run = sensor.apply(clean)
                    data = RunData(run.t_s, run.current_a, run.voltage_v)
                    cases = [
                        (f, s, z, sd)
                        for f in (tunings or {"default": SpkfTuning()})
                        for s, z, sd in (("right", z0, 0.02), ("wrong", wrong_start(z0), 0.10))
                    ]
                    for filt, start_name, start, sigma in cases:
                        tuning = (tunings or {}).get(filt)
                        res = replay(model, data, soc0=start, soc0_sigma=sigma, tuning=tuning)
                        wrong = start_name == "wrong"
                        warm = WRONG_WARMUP_S if wrong else WARMUP_S
                        m = metrics(run.t_s, res.soc, run.soc_true, res.soc_sigma, wrong, warmup_s=warm)
                        assert res.coulomb_only is not None
                        rows.append(
                            dict(
                                chem=chem.label,
                                filter=filt,
                                fidelity=fidelity,
                                style=style,
                                profile=prof,
                                sensor=sensor.label,
                                start=start_name,
                                hours=float((run.t_s[-1] - run.t_s[0]) / 3600),
                                m=m,
                                raw=(run.t_s, res.soc, run.soc_true, res.soc_sigma),
                                cc_only=float(np.mean(res.coulomb_only)),
                            )
                        )
    return rows, ident


def _late(r: dict) -> float:
    return WRONG_WARMUP_S if r["start"] == "wrong" else WARMUP_S


def summary(rows: list[dict]) -> list[dict]:
    """One row per chemistry × fidelity × characterisation × sensors × start, over all
    profiles: RMS and max after the first 10 minutes of each (wrong start: 30 minutes), ±3σ
    share of all samples, the slowest convergence, the share flagged coulomb-only."""
    out = []
    keys = list(
        dict.fromkeys(
            (r["chem"], r["filter"], r["fidelity"], r["style"], r["sensor"], r["start"]) for r in rows
        )
    )
    for key in keys:
        group = [
            r
            for r in rows
            if (r["chem"], r["filter"], r["fidelity"], r["style"], r["sensor"], r["start"]) == key
        ]
        errs, late, inside, ccs, weights = [], [], [], [], []
        for r in group:
            t, est, true, sig = r["raw"]
            e = 100 * (est - true)
            errs.append(e)
            late.append(t - t[0] >= _late(r))
            inside.append(np.abs(e) <= 300 * sig + 1e-9)
            ccs.append(r["cc_only"])
            weights.append(len(t))
        e, lt = np.concatenate(errs), np.concatenate(late)
        conv = None
        if key[-1] == "wrong":
            cs = [r["m"].converge_s for r in group]
            conv = -1.0 if any(c is not None and c < 0 for c in cs) else max(c or 0.0 for c in cs)
        m = Metrics(
            float(np.sqrt(np.mean(e[lt] ** 2))),
            float(np.max(np.abs(e[lt]))),
            float(np.mean(np.concatenate(inside))),
            conv,
        )
        hours = sum(r["hours"] for r in group)
        cc = float(np.average(ccs, weights=weights))
        out.append(
            dict(
                zip(("chem", "filter", "fidelity", "style", "sensor", "start"), key, strict=True),
                m=m,
                hours=hours,
                cc_only=cc,
            )
        )
    return out


def meets(m: Metrics) -> bool:
    """The issue's targets: RMS ≤ 1 %, max ≤ 3 %, ≥ 95 % inside ±3σ."""
    return m.rms_pct <= 1.0 and m.max_pct <= 3.0 and (m.inside_3sigma or 0.0) >= 0.95


def table(rows: list[dict], markdown: bool) -> str:
    head = [
        "chemistry",
        "filter",
        "model",
        "characterisation",
        "drive sensors",
        "start",
        "RMS %",
        "max %",
        "in ±3σ %",
        "converged after min",
        "coulomb only %",
        "targets",
    ]
    lines = []
    cells = [
        [
            r["chem"],
            r["filter"],
            r["fidelity"],
            r["style"],
            r["sensor"],
            r["start"] + (f" ({r['profile']})" if "profile" in r else ""),
            *r["m"].cells(),
            f"{100 * r['cc_only']:.0f}",
            "met" if meets(r["m"]) else "**missed**",
        ]
        for r in rows
    ]
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        lines += ["| " + " | ".join(c) + " |" for c in cells]
    else:
        fmt = "{:<24} {:<13} {:<5} {:<11} {:<18} {:<18} {:>6} {:>6} {:>7} {:>7} {:>5} {:>8}"
        lines.append(fmt.format(*head[:6], "RMS %", "max %", "±3σ %", "conv", "cc %", "targets"))
        lines += [fmt.format(*c).replace("**", "") for c in cells]
    return "\n".join(lines)


def worst(rows: list[dict], markdown: bool) -> str:
    """Per chemistry, over every case: the worst of each figure and how many cases meet all
    targets (the README's summary)."""
    lines = [
        "| chemistry | filter | cases | all targets met | worst RMS % | worst max % | lowest in ±3σ % |",
        "|---|---|---|---|---|---|---|",
    ]
    for chem, filt in dict.fromkeys((r["chem"], r["filter"]) for r in rows):
        g = [r["m"] for r in rows if (r["chem"], r["filter"]) == (chem, filt)]
        lines.append(
            f"| {chem} | {filt} | {len(g)} | {sum(meets(m) for m in g)} | {max(m.rms_pct for m in g):.2f} | "
            f"{max(m.max_pct for m in g):.2f} | {100 * min(m.inside_3sigma or 0.0 for m in g):.1f} |"
        )
    return "\n".join(lines) if markdown else "\n".join(x.replace("|", " ") for x in lines if "---" not in x)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="short runs (for development; not the documented table)"
    )
    ap.add_argument(
        "--markdown", action="store_true", help="print Markdown tables (for docs/soc-accuracy.md)"
    )
    ap.add_argument("--chem", nargs="*", default=["lfp", "nmc"], choices=sorted(soc_truth.CHEMISTRIES))
    ap.add_argument("--profiles", nargs="*", default=list(soc_truth.PROFILES), choices=soc_truth.PROFILES)
    ap.add_argument(
        "--fidelity",
        nargs="*",
        choices=soc_cases.FIDELITIES,
        help="truth models to run, of each chemistry's own (default: all of them)",
    )
    ap.add_argument("--style", nargs="*", default=list(soc_cases.CHAR_STYLES), choices=soc_cases.CHAR_STYLES)
    ap.add_argument("--per-profile", action="store_true", help="also one row per drive profile")
    ap.add_argument(
        "--filter", nargs="*", default=list(FILTERS), choices=sorted(FILTERS), help="settings to judge"
    )
    ap.add_argument("--keep", metavar="DIR", help="keep the CSV and model files in DIR")
    ap.add_argument(
        "--efficiency-from-rests", action="store_true", help="identify with --efficiency-from-rests"
    )
    args = ap.parse_args()
    if args.efficiency_from_rests:
        IDENTIFY_OPTIONS.append("--efficiency-from-rests")
    logging.basicConfig(level=logging.ERROR)
    rows: list[dict] = []
    ident: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for chem in args.chem:
            r, i = evaluate(
                chem,
                args.quick,
                work,
                tuple(args.profiles),
                tuple(args.fidelity) if args.fidelity else None,
                tuple(args.style),
                {f: FILTERS[f] for f in args.filter},
            )
            rows += r
            ident += i
    summ = summary(rows)
    print(worst(summ, args.markdown))
    print()
    print("| chemistry | model | characterisation | identified capacity vs PyBaMM's |")
    print("|---|---|---|---|")
    for d in ident:
        print(f"| {d['chem']} | {d['fidelity']} | {d['style']} | {d['capacity_err_pct']:+.1f} % |")
    print()
    print(table(summ, args.markdown))
    if args.per_profile:
        print()
        print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
