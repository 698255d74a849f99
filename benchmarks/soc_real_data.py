"""The SOC estimator on the real bench recording (../shared/data, 2021-05-28, lead-acid block).

The Grafana export is read as a user would get it (byte-order mark, quoted headers holding
the InfluxDB tags, empty cells, a blank line, rows out of time order where two series were
appended); each column keeps only the rows where it has a value. The run is replayed through
the shipped ``lead-acid-6s`` model twice — with the LabJack's current and with the MPPT's —
both with the MPPT's voltage (the LabJack's voltage was read once a minute only).

``--identify`` fits a model to the session instead (issue 18): first as ``soc identify`` would
(it refuses: the session never empties the block, so the capacity is not determined), then with
the capacity given, to show what the data does determine (resistance, one relaxed rest) and what
not (the OCV curve, efficiency, hysteresis). Rows after the battery was disconnected (MPPT voltage
below 9 V) are left out of the fit.

Usage::

    python benchmarks/soc_real_data.py [CSV] [--capacity-ah 7.2] [--plot PNG] [--output OUT.csv]
    python benchmarks/soc_real_data.py [CSV] --identify [--capacity-ah 7.2]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchgui.soc.capacity import coulomb, rest_points  # noqa: E402
from benchgui.soc.csvrun import format_soc_csv  # noqa: E402
from benchgui.soc.identify import IdentificationError, identify  # noqa: E402
from benchgui.soc.modelfile import load_model  # noqa: E402
from benchgui.soc.replay import ReplayResult, RunData, align_channels, replay  # noqa: E402

NAME = "bench-2021-05-28-grafana-epoch-ms.csv"
# ../shared/data next to the checkout (also from a worktree one level deeper)
DEFAULT = next(
    (
        p
        for p in (HERE.parents[1] / "shared" / "data" / NAME, HERE.parents[2] / "shared" / "data" / NAME)
        if p.exists()
    ),
    HERE.parents[1] / "shared" / "data" / NAME,
)
COLUMNS = {
    "i_labjack": 'Bat_current {device="470023670"',
    "i_mppt": 'Bat_A {device="mppt-1210-hus"',
    "v_mppt": 'Bat_V {device="mppt-1210-hus"',
    "v_load": 'Bat_V {device="EA-EL-3060"',
}


def read_grafana(path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, int]]:
    """Columns as (time s, value) of the rows that have a value, sorted by time."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], [r for r in rows[1:] if r]
    t = np.array([float(r[0]) / 1000.0 for r in body])
    stats = {"rows": len(body), "blank": len(rows) - 1 - len(body), "backwards": int((np.diff(t) < 0).sum())}
    order = np.argsort(t, kind="stable")
    out = {}
    for key, prefix in COLUMNS.items():
        k = next(j for j, h in enumerate(head) if h.startswith(prefix))
        v = np.array([float(r[k]) if k < len(r) and r[k].strip() else math.nan for r in body])[order]
        ok = np.isfinite(v)
        out[key] = (t[order][ok], v[ok])
    return out, stats


def at(r: ReplayResult, t: float) -> int:
    return int(np.clip(np.searchsorted(r.t_s, t), 0, len(r.t_s) - 1))


def identify_session(cols: dict[str, tuple[np.ndarray, np.ndarray]], capacity_ah: float) -> None:
    """What identification makes of the session (MPPT voltage, LabJack current)."""
    tv, v = cols["v_mppt"]
    ti, i = cols["i_labjack"]
    run = align_channels(tv, v, ti, i, max_current_age_s=10.0)
    volts = np.asarray(run.voltage_v)
    gone = np.isfinite(volts) & (volts < 9.0)
    keep = ~gone
    run = RunData(np.asarray(run.t_s)[keep], np.asarray(run.current_a)[keep], volts[keep])
    print(f"identify: {len(run)} rows ({int(gone.sum())} after the disconnection left out), 6 cells")
    for cap in (None, capacity_ah):
        try:
            model, report = identify(run, 6, n_rc=1, chemistry="lead-acid", capacity_ah=cap)
        except IdentificationError as exc:
            print(f"  capacity {'measured' if cap is None else cap}: refused — {exc}")
            continue
        print(f"  with the capacity given ({cap:g} Ah):")
        for line in report.lines(model):
            print("    " + line)
        t, i_a = np.asarray(run.t_s), np.asarray(run.current_a)
        ah = coulomb(t, i_a)
        for c_ah, v_rest, before in zip(*rest_points(t, i_a, ah, volts[keep], 0.05), strict=True):
            after = "discharge" if before < 0 else "charge" if before > 0 else "start"
            print(
                f"    relaxed rest (≥ 10 min) after {after}: {v_rest:.3f} V at {c_ah:+.2f} Ah from the start"
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--capacity-ah", type=float, default=7.2)
    ap.add_argument("--plot", type=Path, help="PNG of the LabJack-current replay against the alternatives")
    ap.add_argument("--output", type=Path, help="replay CSV (time_s,soc_pct,soc_3sigma_pct), LabJack current")
    ap.add_argument(
        "--identify", action="store_true", help="fit a model to the session, say what it determines"
    )
    args = ap.parse_args()
    cols, stats = read_grafana(args.csv)
    print(
        f"{args.csv.name}: {stats['rows']} rows, {stats['blank']} blank, {stats['backwards']} steps back in time"
    )
    for k, (t, v) in cols.items():
        print(f"  {k:<10} {len(t):5d} values, {v.min():8.3f} … {v.max():7.3f}")
    if args.identify:
        identify_session(cols, args.capacity_ah)
        return 0
    model = load_model("lead-acid-6s").with_capacity(args.capacity_ah)
    tv, v = cols["v_mppt"]
    results = {}
    for name in ("i_labjack", "i_mppt"):
        ti, i = cols[name]
        run = align_channels(tv, v, ti, i, max_current_age_s=10.0)
        started = time.perf_counter()
        results[name] = replay(model, run, fallback_soc=0.5, fallback_sigma=0.2)
        r = results[name]
        print(
            f"\nreplay with {name} + v_mppt: {len(run)} rows, {time.perf_counter() - started:.2f} s; "
            f"start {100 * r.soc0:.1f} % ± {300 * r.soc0_sigma:.1f} % ({r.soc0_how}); "
            f"{r.rejected} voltage readings rejected"
        )
    lj, mp = results["i_labjack"], results["i_mppt"]
    t0 = lj.t_s[0]
    # the session's phases, as the data README describes them (UTC clock times of the export)
    print("\n  time (h)  SPKF (LabJack I)      SPKF (MPPT I)   coulomb LabJack  coulomb MPPT  V innov (mV)")
    for h in np.arange(0.0, (lj.t_s[-1] - t0) / 3600 + 1e-9, 0.25):
        k, km = at(lj, t0 + 3600 * h), at(mp, t0 + 3600 * h)
        innov = (v[np.clip(np.searchsorted(tv, lj.t_s[k]), 0, len(v) - 1)] - lj.voltage_pred_v[k]) * 1000
        print(
            f"  {h:7.2f}  {100 * lj.soc[k]:6.1f} ± {300 * lj.soc_sigma[k]:4.1f} %  "
            f"{100 * mp.soc[km]:6.1f} ± {300 * mp.soc_sigma[km]:4.1f} %  "
            f"{100 * lj.coulomb[k]:10.1f} %  {100 * mp.coulomb[km]:10.1f} %  {innov:9.0f}"
        )
    for name, (_t, i) in (("LabJack", cols["i_labjack"]), ("MPPT", cols["i_mppt"])):
        dis = (i < -2.5) & (i > -3.5)
        print(
            f"  {name:<8} current during the 3 A discharge: mean {i[dis].mean():.3f} A ({dis.sum()} readings)"
        )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.writelines(format_soc_csv(lj))
    if args.plot:
        from benchgui.widgets.soc_plot import render_replay_png

        compare = {
            "SPKF with the MPPT's current": (mp.t_s, 100 * mp.soc),
            "coulomb counting, MPPT current": (mp.t_s, 100 * mp.coulomb),
        }
        render_replay_png(
            args.plot,
            lj,
            compare,
            title=f"Real bench data 2021-05-28: lead-acid block, model lead-acid-6s at {args.capacity_ah:g} Ah",
        )
        print(f"plot → {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
