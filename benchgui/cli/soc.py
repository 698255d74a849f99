"""``benchgui soc identify|replay|models``: fit a cell model; run recorded data through the SPKF.

* ``benchgui soc identify INPUT.csv --cells N --output MODEL.toml`` fits an ESC model to a
  characterisation run and prints the fit quality;
* ``benchgui soc replay INPUT.csv --model MODEL.toml --output OUT.csv [--initial-soc auto|PERCENT]``
  writes ``time_s,soc_pct,soc_3sigma_pct`` for every input row;
* ``benchgui soc replay --session ID --output OUT.csv [--plot PNG]`` does the same for a stored
  session (channels from ``[soc]`` or ``--voltage``/``--current``) and can plot the estimate
  against the session's other SOC channels (the MPPT's, the live estimate);
* ``benchgui soc models`` lists the shipped cell models.

Input CSV: ``time_s,current_a,voltage_v[,temperature_c]``, current positive = charging.
Outputs are refused when they are an input (the CSV, the model file, the store and its WAL/SHM,
the config, the secrets file) and are renamed into place only when complete.
No Qt is imported unless ``--plot`` is given, and no scipy unless a model is identified.
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchgui.assembly import store_path_for
from benchgui.cli._common import check_outputs, protected_files, session_ref
from benchgui.clock import ns_to_s
from benchgui.config import load_config
from benchgui.core.soc_service import model_for, tuning_for
from benchgui.errors import BenchError, ConfigError
from benchgui.outputs import open_output, output_path
from benchgui.soc.csvrun import format_soc_csv, parse_run_csv
from benchgui.soc.modelfile import builtin_model_dirs, builtin_model_names, dump_model, load_model
from benchgui.soc.replay import ReplayResult, RunData, align_channels, replay
from benchgui.soc.spkf import SpkfTuning


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("soc", parents=[common], help="state of charge: identify a cell model, replay runs")
    ss = p.add_subparsers(dest="soc_command", metavar="ACTION", required=True)

    ip = ss.add_parser("identify", parents=[common], help="fit a cell model to a characterisation run")
    ip.add_argument("input", metavar="INPUT.csv", help="time_s,current_a,voltage_v[,temperature_c]")
    ip.add_argument("--cells", type=int, required=True, metavar="N", help="cells in series in the pack")
    ip.add_argument("--output", "-o", required=True, metavar="MODEL.toml")
    ip.add_argument("--rc", type=int, default=2, metavar="N", help="RC branches (default 2)")
    ip.add_argument("--name", default=None, help="model name written into the file")
    ip.add_argument("--chemistry", default="", help="free text, e.g. lifepo4")
    ip.add_argument(
        "--capacity-ah", type=float, default=None, help="use this capacity instead of measuring it"
    )
    ip.add_argument(
        "--ocv-limits",
        nargs="+",
        default=["auto"],
        metavar="V",
        help="per-cell open-circuit voltages at 0 %% and 100 %% (LO HI), 'auto' (default: where the run "
        "turned) or 'none' (capacity counted only)",
    )
    ip.add_argument(
        "--efficiency-from-rests",
        action="store_true",
        help="set the charge efficiency (and a capacity counted on a charge) from where the rests "
        "after a charge lie on the OCV, where the run determines it (reported either way)",
    )
    ip.set_defaults(func=run_identify)

    rp = ss.add_parser("replay", parents=[common], help="estimate SOC for a recorded run or session")
    rp.add_argument(
        "input", nargs="?", metavar="INPUT.csv", help="time_s,current_a,voltage_v[,temperature_c]"
    )
    rp.add_argument(
        "--session", metavar="ID", help="replay a stored session instead (id, prefix or 'latest')"
    )
    rp.add_argument("--model", metavar="MODEL", help="model file or shipped name; default: [battery] model")
    rp.add_argument("--output", "-o", required=True, metavar="OUT.csv")
    rp.add_argument(
        "--initial-soc",
        default="auto",
        metavar="auto|PERCENT",
        help="start SOC; auto: from the rest at the first rows (its relaxation over up to 10 min fitted), else [soc] initial_soc_pct",
    )
    rp.add_argument(
        "--initial-sigma",
        type=float,
        default=10.0,
        metavar="PERCENT",
        help="1σ of a given start SOC (default 10)",
    )
    rp.add_argument("--capacity-ah", type=float, default=None, help="battery capacity (default: the model's)")
    rp.add_argument(
        "--voltage", metavar="CHANNEL", help="with --session: voltage channel (default [soc] voltage_channel)"
    )
    rp.add_argument(
        "--current", metavar="CHANNEL", help="with --session: current channel (default [soc] current_channel)"
    )
    rp.add_argument(
        "--plot", metavar="PNG", help="with --session: plot the estimate against the session's SOC channels"
    )
    rp.add_argument(
        "--no-offset-state",
        action="store_true",
        help="calibrated current sensor: no offset state, no gain noise (the filter before issue 18)",
    )
    rp.set_defaults(func=run_replay)

    mp = ss.add_parser("models", parents=[common], help="list the shipped cell models")
    mp.set_defaults(func=run_models)


def _read_run(path: str) -> RunData:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return parse_run_csv(f, path)
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BenchError(f"{path}: not a UTF-8 text file") from None


def _write(path: str, lines: Iterable[str]) -> None:
    """Into a temporary file beside ``path``, renamed into place when complete (OutputError: exit 1)."""
    with open_output(path, newline="") as f:
        f.writelines(lines)


def _model_input(model: str | None) -> list[tuple[str, str]]:
    """The ``--model`` file, when it names one (not a shipped model's name)."""
    return [("the --model file", model)] if model and Path(model).expanduser().exists() else []


def _ocv_limits(values: list[str]) -> tuple[float, float] | str | None:
    """``--ocv-limits``: 'auto', 'none' or two increasing per-cell voltages."""
    if len(values) == 1 and values[0].lower() in ("auto", "none"):
        return None if values[0].lower() == "none" else "auto"
    try:
        lo, hi = (float(v) for v in values)
    except ValueError:
        raise ConfigError(
            "--ocv-limits", f"must be 'auto', 'none' or LO HI in volts, got {' '.join(values)}"
        ) from None
    if not 0 < lo < hi <= 10:
        raise ConfigError("--ocv-limits", f"must be 0 < LO < HI ≤ 10 V per cell, got {lo:g} {hi:g}")
    return lo, hi


def run_identify(args: argparse.Namespace) -> int:
    if not 1 <= args.cells <= 1000:
        raise ConfigError("--cells", "must be 1…1000")
    protected = protected_files(args, None, [("the input file", args.input)])
    check_outputs(protected, [("--output", args.output)])
    limits = _ocv_limits(args.ocv_limits)
    run = _read_run(args.input)
    name = args.name or f"identified from {Path(args.input).name}"
    # here, not at the top: scipy.optimize would cost every command, the GUI too, ~0.25 s of CPU
    from benchgui.soc.identify import IdentificationError, identify

    try:
        model, report = identify(
            run,
            args.cells,
            n_rc=args.rc,
            name=name,
            chemistry=args.chemistry,
            capacity_ah=args.capacity_ah,
            ocv_limits=limits,
            rest_efficiency=args.efficiency_from_rests,
        )
    except IdentificationError as exc:
        print(f"benchgui: {args.input}: {exc}", file=sys.stderr)
        return 1
    header = (
        f"ESC cell model identified by benchgui from {Path(args.input).name} ({len(run)} rows, "
        f"{(run.t_s[-1] - run.t_s[0]) / 3600:.1f} h), {args.cells} cells in series.\n"
        f"Fit: RMS {report.rms_mv_cell:.2f} mV per cell, max {report.max_mv_cell:.1f} mV."
    )
    _write(args.output, [dump_model(model, header)])
    print(f"identified {model.name!r} → {args.output}")
    for line in report.lines(model):
        print("  " + line)
    return 0


def _initial(args: argparse.Namespace) -> float | None:
    text = str(args.initial_soc).strip().lower()
    if text == "auto":
        return None
    try:
        pct = float(text.rstrip("%"))
    except ValueError:
        raise ConfigError(
            "--initial-soc", f"must be 'auto' or a percentage, got {args.initial_soc!r}"
        ) from None
    if not 0 <= pct <= 100:
        raise ConfigError("--initial-soc", f"must be within 0…100 %, got {pct:g}")
    return pct / 100.0


def run_replay(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    cfg = loaded.config
    if (args.input is None) == (args.session is None):
        raise ConfigError("soc replay", "give either INPUT.csv or --session ID")
    if not args.initial_sigma > 0:
        raise ConfigError("--initial-sigma", "must be > 0")
    if args.session is not None:
        session_ref(args.session, "--session")
    inputs = [("the input file", args.input)] if args.input else []
    protected = protected_files(args, loaded, inputs + _model_input(args.model))
    check_outputs(protected, [("--output", args.output), ("--plot", args.plot)])
    model = load_model(args.model) if args.model else model_for(cfg)
    if args.capacity_ah:
        if args.capacity_ah <= 0:
            raise ConfigError("--capacity-ah", "must be > 0")
        model = model.with_capacity(args.capacity_ah)
    soc0 = _initial(args)
    compare: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if args.session:
        run, compare, label = _session_run(args, loaded)
    else:
        run, label = _read_run(args.input), args.input
    if len(run) == 0:
        print(f"benchgui: {label}: no rows with both current and voltage", file=sys.stderr)
        return 1
    started = time.perf_counter()
    result = replay(
        model,
        run,
        soc0=soc0,
        soc0_sigma=args.initial_sigma / 100.0,
        fallback_soc=cfg.soc.initial_soc_pct / 100.0,
        fallback_sigma=cfg.soc.initial_sigma_pct / 100.0,
        tuning=_plain(tuning_for(cfg)) if args.no_offset_state else tuning_for(cfg),
    )
    took = time.perf_counter() - started
    _write(args.output, format_soc_csv(result))
    _summary(label, model.name, result, took)
    if args.plot:
        from benchgui.widgets.soc_plot import render_replay_png  # Qt only when asked for

        with output_path(args.plot) as png:  # a temporary *.png beside it, renamed when complete
            render_replay_png(png, result, compare, title=f"SOC replay of {label}")
            if png.stat().st_size == 0:  # Qt reports a failed save by returning False, not raising
                raise OSError(errno.EIO, "the plot could not be saved")
        print(f"plot → {args.plot}")
    return 0


def _plain(t: SpkfTuning) -> SpkfTuning:
    """The configured tuning without the offset state, gain noise and flat-OCV band floor."""
    off = SpkfTuning.without_offset_state()
    return replace(
        t,
        current_bias_sigma_a=off.current_bias_sigma_a,
        current_gain_sigma=off.current_gain_sigma,
        flat_band_floor=off.flat_band_floor,
    )


def _summary(label: str, model_name: str, r: ReplayResult, took: float) -> None:
    hours = (r.t_s[-1] - r.t_s[0]) / 3600
    print(f"replayed {label}: {len(r.t_s)} rows, {hours:.2f} h, model {model_name!r}, {took:.2f} s")
    print(f"  start  {100 * r.soc0:6.2f} % ± {300 * r.soc0_sigma:.2f} % (3σ, {r.soc0_how})")
    print(
        f"  end    {100 * r.soc[-1]:6.2f} % ± {300 * r.soc_sigma[-1]:.2f} % (3σ); coulomb counting {100 * r.coulomb[-1]:.2f} %"
    )
    if r.coulomb_only is not None:
        print(
            f"  coulomb counting only (OCV too flat to tell SOC) for {100 * r.coulomb_only.mean():.0f} % of rows"
        )
    if r.current_bias_a is not None and r.current_bias_a.any():
        print(f"  current-sensor offset estimated {1000 * r.current_bias_a[-1]:+.0f} mA")
    if r.rejected or r.repairs:
        print(f"  {r.rejected} voltage readings rejected as sensor faults, {r.repairs} covariance repairs")


def _session_run(args: argparse.Namespace, loaded) -> tuple[RunData, dict, str]:  # type: ignore[no-untyped-def]
    from benchgui.recording.store import Store

    cfg = loaded.config
    path = store_path_for(loaded, getattr(args, "store", None))
    v_ch = args.voltage or cfg.soc.voltage_channel
    i_ch = args.current or cfg.soc.current_channel
    with Store(path, readonly=True) as store:
        info = store.session(args.session)
        tv, v = store.samples(info.id, v_ch)
        ti, i = store.samples(info.id, i_ch)
        temp_ch = cfg.soc.temperature_channel
        tt, temp = store.samples(info.id, temp_ch) if temp_ch else (np.empty(0, np.int64), np.empty(0))
        names = {c.name for c in store.channels(info.id)}
        compare = {}
        for ch in ("soc.mppt", "soc.spkf", "soc.coulomb"):
            if ch in names:
                t, x = store.samples(info.id, ch)
                compare[f"{ch} (recorded)"] = (ns_to_s(t), x)
    if len(tv) == 0 or len(ti) == 0:
        missing = v_ch if len(tv) == 0 else i_ch
        raise BenchError(
            f"session {info.id} has no samples of {missing}; channels there: {', '.join(sorted(names)) or 'none'}"
        )
    run = align_channels(
        ns_to_s(tv),
        v,
        ns_to_s(ti),
        i,
        ns_to_s(tt) if len(tt) else None,
        temp if len(tt) else None,
        cfg.soc.max_current_age_s,
    )
    return run, compare, f"session {info.id} ({v_ch}, {i_ch})"


def run_models(args: argparse.Namespace) -> int:
    names = builtin_model_names()
    dirs = ", ".join(str(d) for d in builtin_model_dirs())
    print(f"shipped cell models (in {dirs}):")
    for n in names:
        m = load_model(n)
        print(f"  {n:<16} {m.name} — {m.cells_in_series} cells, {m.capacity_ah:g} Ah")
    return 0
