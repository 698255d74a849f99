"""Cell model files: TOML text ⇄ :class:`~benchgui.soc.model.CellModel`, validated.

A model file describes one cell and how many are in series; units are in the key names::

    format = "benchgui-esc-1"
    name = "LiFePO4 4S pack"
    chemistry = "lifepo4"
    cells_in_series = 4
    capacity_ah = 7.2
    coulombic_efficiency = 0.995      # charge efficiency, 0.5…1
    r0_ohm = 0.004                    # per cell
    r0_charge_extra_ohm = 0.02        # optional: ΔR⁺, R0 + ΔR⁺ while charging (default 0)
    hysteresis_gamma = 30.0           # dimensionless
    hysteresis_m_v = 0.010            # per cell
    hysteresis_m0_v = 0.002           # per cell

    [[rc]]                            # one table per RC branch
    r_ohm = 0.002
    tau_s = 40.0

    [ocv]
    temperature_c = [25.0]            # one row of voltage_v per temperature
    soc_pct = [0.0, 10.0, …, 100.0]   # strictly increasing, from ≤ 0 to ≥ 100
    voltage_v = [[2.9, 3.2, …, 3.45]] # per cell, strictly increasing along SOC

    [uncertainty]                     # how far the model may be off (identification fills it)
    soc_pct = [5.0, 15.0, …, 95.0]
    rest_v = [0.004, …]               # σ of the cell voltage error at rest
    dynamic_fraction = [0.3, …]       # σ of the error of R0·i + Σ R_j·i_Rj, as a fraction
    charge_fraction = [0.5, …]        # optional: the same while charging (then
                                      # dynamic_fraction holds for rest and discharge)
    rest_fraction = [0.1, …]          # optional: the same at rest (the RC branches' voltage)

An optional ``[fit]`` table holds what identification reports (informational). Parsing takes
text; :func:`load_model` is the one place that touches the file system, and
:func:`find_model` resolves a bare name to a shipped model file.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchgui.errors import ConfigError
from benchgui.soc.model import CellModel, ModelUncertainty, OcvTable, RcBranch

FORMAT = "benchgui-esc-1"
MODEL_SUFFIX = ".toml"


class ModelFileError(ConfigError):
    """A cell model file is malformed or out of range (``key`` names the offending entry)."""


#: resistances follow the cell: at 1C (capacity_ah amps) none may drop more than this per cell —
#: ten times what any cell holds, so only nonsense is refused, whatever the cell's size (a
#: 5 mAh cell has tens of ohms, a 100 Ah cell fractions of a milliohm)
MAX_DROP_AT_1C_V = 10.0

# key: (min, max) — inclusive ranges for scalar entries
_RANGES: dict[str, tuple[float, float]] = {
    "cells_in_series": (1, 1000),
    "capacity_ah": (1e-3, 1e5),
    "coulombic_efficiency": (0.5, 1.0),
    "r0_ohm": (0.0, math.inf),  # and the 1C rule below
    "r0_charge_extra_ohm": (0.0, math.inf),  # ΔR⁺ (charge only): the same 1C rule
    "hysteresis_gamma": (0.0, 1e5),
    "hysteresis_m_v": (0.0, 1.0),
    "hysteresis_m0_v": (0.0, 1.0),
}
_REQUIRED = ("name", "cells_in_series", "capacity_ah", "r0_ohm", "ocv")
_TOP_KEYS = {
    "format",
    "name",
    "chemistry",
    *_RANGES,
    "rc",
    "ocv",
    "uncertainty",
    "fit",
}


def _number(data: Mapping[str, Any], key: str, where: str, path: str | None) -> float:
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ModelFileError(f"{where}{key}", f"must be a finite number, got {v!r}", path)
    return float(v)


def _ranged(data: Mapping[str, Any], key: str, default: float | None, path: str | None) -> float:
    if key not in data:
        if default is None:
            raise ModelFileError(key, "missing", path)
        return default
    v = _number(data, key, "", path)
    lo, hi = _RANGES[key]
    if not lo <= v <= hi:
        raise ModelFileError(key, f"must be within {lo:g}…{hi:g}, got {v:g}", path)
    return v


def _check_resistance(key: str, r: float, capacity_ah: float, path: str | None) -> None:
    """Resistance limits scale with the cell: R·(1C current) ≤ MAX_DROP_AT_1C_V."""
    hi = MAX_DROP_AT_1C_V / capacity_ah
    if not 0 <= r <= hi:
        raise ModelFileError(
            key, f"must be within 0…{hi:.4g} Ω for a {capacity_ah:g} Ah cell (≤ 10 V at 1C), got {r:g}", path
        )


def _vector(data: Mapping[str, Any], key: str, where: str, path: str | None) -> np.ndarray:
    v = data.get(key)
    if not isinstance(v, list) or not v:
        raise ModelFileError(f"{where}{key}", "must be a non-empty list of numbers", path)
    for k, x in enumerate(v):
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise ModelFileError(f"{where}{key}[{k}]", f"must be a finite number, got {x!r}", path)
    return np.array(v, dtype=np.float64)


def _parse_ocv(data: Any, path: str | None) -> OcvTable:
    if not isinstance(data, dict):
        raise ModelFileError("ocv", "must be a table with temperature_c, soc_pct and voltage_v", path)
    unknown = sorted(set(data) - {"temperature_c", "soc_pct", "voltage_v"})
    if unknown:
        raise ModelFileError(f"ocv.{unknown[0]}", "unknown key", path)
    soc = _vector(data, "soc_pct", "ocv.", path) / 100.0
    temps = _vector(data, "temperature_c", "ocv.", path) if "temperature_c" in data else np.array([25.0])
    rows = data.get("voltage_v")
    if isinstance(rows, list) and rows and not isinstance(rows[0], list):
        rows = [rows]  # a single row may be written without the outer brackets
    if not isinstance(rows, list) or len(rows) != len(temps):
        raise ModelFileError("ocv.voltage_v", f"must hold one row per temperature ({len(temps)})", path)
    if len(soc) < 2 or np.any(np.diff(soc) <= 0):
        raise ModelFileError("ocv.soc_pct", "must have at least two strictly increasing values", path)
    if soc[0] > 1e-9 or soc[-1] < 1.0 - 1e-9:
        raise ModelFileError("ocv.soc_pct", "must span 0 … 100 %", path)
    if np.any(np.diff(temps) <= 0):
        raise ModelFileError("ocv.temperature_c", "must be strictly increasing", path)
    if np.any(temps < -60) or np.any(temps > 120):
        raise ModelFileError("ocv.temperature_c", "must be within −60…120 °C", path)
    volts = np.empty((len(temps), len(soc)))
    for k, row in enumerate(rows):
        vec = _vector({"row": row}, "row", "", path) if isinstance(row, list) else None
        key = f"ocv.voltage_v[{k}]"
        if vec is None or len(vec) != len(soc):
            raise ModelFileError(key, f"must have {len(soc)} numbers, one per soc_pct", path)
        if np.any(vec <= 0) or np.any(vec > 10):
            raise ModelFileError(key, "cell voltages must be within 0…10 V", path)
        bad = np.nonzero(np.diff(vec) <= 0)[0]
        if len(bad):
            j = int(bad[0])
            raise ModelFileError(
                key,
                f"OCV must increase strictly with SOC; it does not between {100 * soc[j]:g} % "
                f"({vec[j]:g} V) and {100 * soc[j + 1]:g} % ({vec[j + 1]:g} V)",
                path,
            )
        volts[k] = vec
    return OcvTable(soc, temps, volts)


def _parse_uncertainty(data: Any, path: str | None) -> ModelUncertainty:
    if data is None:
        return ModelUncertainty.constant()
    if not isinstance(data, dict):
        raise ModelFileError("uncertainty", "must be a table with soc_pct, rest_v and dynamic_fraction", path)
    keys = ("soc_pct", "rest_v", "dynamic_fraction")
    unknown = sorted(set(data) - {*keys, "charge_fraction", "rest_fraction"})
    if unknown:
        raise ModelFileError(f"uncertainty.{unknown[0]}", "unknown key", path)
    soc, rest, dyn = (_vector(data, k, "uncertainty.", path) for k in keys)
    if not len(soc) == len(rest) == len(dyn):
        raise ModelFileError("uncertainty", "soc_pct, rest_v and dynamic_fraction need equal lengths", path)
    chg, rst = (_fraction_row(data, key, len(soc), path) for key in ("charge_fraction", "rest_fraction"))
    if np.any(np.diff(soc) <= 0) or soc[0] < 0 or soc[-1] > 100:
        raise ModelFileError("uncertainty.soc_pct", "must increase strictly within 0…100", path)
    if np.any(rest <= 0) or np.any(rest > 1):
        raise ModelFileError("uncertainty.rest_v", "must be within 0…1 V (exclusive of 0)", path)
    if np.any(dyn < 0) or np.any(dyn > 10):
        raise ModelFileError("uncertainty.dynamic_fraction", "must be within 0…10", path)
    return ModelUncertainty(soc / 100.0, rest, dyn, chg, rst)


def _fraction_row(data: dict, key: str, n: int, path: str | None) -> np.ndarray | None:
    """An optional fraction row of the uncertainty table (charge_fraction, rest_fraction)."""
    if key not in data:
        return None
    row = _vector(data, key, "uncertainty.", path)
    if len(row) != n:
        raise ModelFileError(f"uncertainty.{key}", "needs as many values as soc_pct", path)
    if np.any(row < 0) or np.any(row > 10):
        raise ModelFileError(f"uncertainty.{key}", "must be within 0…10", path)
    return row


def parse_model(text: str, path: str | None = None) -> CellModel:
    """Build a cell model from TOML text; every problem raises :class:`ModelFileError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelFileError("", f"not valid TOML: {exc}", path) from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ModelFileError(unknown[0], f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})", path)
    for key in _REQUIRED:
        if key not in data:
            raise ModelFileError(key, "missing", path)
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise ModelFileError("format", f"must be {FORMAT!r}, got {fmt!r}", path)
    cells = data["cells_in_series"]
    if isinstance(cells, bool) or not isinstance(cells, int) or not 1 <= cells <= 1000:
        raise ModelFileError("cells_in_series", f"must be an integer 1…1000, got {cells!r}", path)
    capacity = _ranged(data, "capacity_ah", None, path)
    r0 = _ranged(data, "r0_ohm", None, path)
    _check_resistance("r0_ohm", r0, capacity, path)
    dr_chg = _ranged(data, "r0_charge_extra_ohm", 0.0, path)
    _check_resistance("r0_charge_extra_ohm", dr_chg, capacity, path)
    rc_data = data.get("rc", [])
    if not isinstance(rc_data, list) or not all(isinstance(b, dict) for b in rc_data):
        raise ModelFileError("rc", "must be an array of tables ([[rc]] with r_ohm and tau_s)", path)
    if len(rc_data) > 5:
        raise ModelFileError("rc", "at most 5 RC branches", path)
    rc = []
    for j, b in enumerate(rc_data):
        where = f"rc[{j}]."
        if set(b) != {"r_ohm", "tau_s"}:
            raise ModelFileError(f"rc[{j}]", "needs exactly r_ohm and tau_s", path)
        r, tau = _number(b, "r_ohm", where, path), _number(b, "tau_s", where, path)
        _check_resistance(f"{where}r_ohm", r, capacity, path)
        if not 0.01 <= tau <= 1e6:
            raise ModelFileError(f"{where}tau_s", f"must be within 0.01…1e6 s, got {tau:g}", path)
        rc.append(RcBranch(r, tau))
    fit = data.get("fit", {})
    if not isinstance(fit, dict):
        raise ModelFileError("fit", "must be a table", path)
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise ModelFileError("name", "must be a non-empty string", path)
    return CellModel(
        name=name,
        chemistry=str(data.get("chemistry", "")),
        cells_in_series=cells,
        capacity_ah=capacity,
        coulombic_efficiency=_ranged(data, "coulombic_efficiency", 1.0, path),
        r0_ohm=r0,
        rc=tuple(rc),
        hysteresis_gamma=_ranged(data, "hysteresis_gamma", 0.0, path),
        hysteresis_m_v=_ranged(data, "hysteresis_m_v", 0.0, path),
        hysteresis_m0_v=_ranged(data, "hysteresis_m0_v", 0.0, path),
        ocv=_parse_ocv(data["ocv"], path),
        uncertainty=_parse_uncertainty(data.get("uncertainty"), path),
        r0_charge_extra_ohm=dr_chg,
        info={str(k): v for k, v in fit.items() if isinstance(v, int | float | str)},
    )


def _fmt(x: float) -> str:
    return repr(float(f"{x:.6g}"))


def _fmt_list(xs: Any) -> str:
    return "[" + ", ".join(_fmt(float(x)) for x in xs) + "]"


def dump_model(model: CellModel, header: str = "") -> str:
    """TOML text for a model; :func:`parse_model` reads it back to an equal model."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    esc = model.name.replace("\\", "\\\\").replace('"', '\\"')
    lines += [
        f'format = "{FORMAT}"',
        f'name = "{esc}"',
        f'chemistry = "{model.chemistry}"',
        f"cells_in_series = {model.cells_in_series}",
        f"capacity_ah = {_fmt(model.capacity_ah)}",
        f"coulombic_efficiency = {_fmt(model.coulombic_efficiency)}",
        f"r0_ohm = {_fmt(model.r0_ohm)}",
        f"hysteresis_gamma = {_fmt(model.hysteresis_gamma)}",
        f"hysteresis_m_v = {_fmt(model.hysteresis_m_v)}",
        f"hysteresis_m0_v = {_fmt(model.hysteresis_m0_v)}",
    ]
    if model.r0_charge_extra_ohm:  # only where there is one: a file without it means 0
        lines.append(f"r0_charge_extra_ohm = {_fmt(model.r0_charge_extra_ohm)}")
    for b in model.rc:
        lines += ["", "[[rc]]", f"r_ohm = {_fmt(b.r_ohm)}", f"tau_s = {_fmt(b.tau_s)}"]
    o = model.ocv
    lines += [
        "",
        "[ocv]",
        f"temperature_c = {_fmt_list(o.temperature_c)}",
        f"soc_pct = {_fmt_list(np.round(o.soc * 100, 6))}",
        "voltage_v = [",
        *(f"  {_fmt_list(row)}," for row in o.voltage_v),
        "]",
    ]
    u = model.uncertainty
    lines += [
        "",
        "[uncertainty]",
        f"soc_pct = {_fmt_list(np.round(u.soc * 100, 6))}",
        f"rest_v = {_fmt_list(u.rest_v)}",
        f"dynamic_fraction = {_fmt_list(u.dynamic_fraction)}",
    ]
    if u.charge_fraction is not None:
        lines.append(f"charge_fraction = {_fmt_list(u.charge_fraction)}")
    if u.rest_fraction is not None:
        lines.append(f"rest_fraction = {_fmt_list(u.rest_fraction)}")
    if model.info:
        lines += ["", "[fit]"]
        for k, v in model.info.items():
            lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {_fmt(v)}")
    return "\n".join(lines) + "\n"


def builtin_model_dirs() -> list[Path]:
    """Where shipped model files live: ``benchgui/resources/models``, in the wheel too
    (``resources/models`` in the checkout links there)."""
    d = Path(__file__).resolve().parents[1] / "resources" / "models"
    return [d] if d.is_dir() else []


def builtin_model_names() -> list[str]:
    return sorted({p.stem for d in builtin_model_dirs() for p in d.glob(f"*{MODEL_SUFFIX}")})


def find_model(ref: str, extra_dirs: tuple[Path, ...] = ()) -> Path:
    """Resolve a model reference: an existing path, or the name of a shipped model
    (``lead-acid-6s``, ``lifepo4-4s``) looked up in ``extra_dirs`` then the built-in ones."""
    p = Path(ref).expanduser()
    if p.is_file():
        return p
    name = ref if ref.endswith(MODEL_SUFFIX) else ref + MODEL_SUFFIX
    for d in (*extra_dirs, *builtin_model_dirs()):
        cand = d / name
        if cand.is_file():
            return cand
    known = ", ".join(builtin_model_names()) or "none"
    raise ModelFileError("", f"no cell model {ref!r} (not a file; shipped models: {known})")


def load_model(ref: str | Path, extra_dirs: tuple[Path, ...] = ()) -> CellModel:
    """Read and validate a model file given by path or shipped name."""
    path = find_model(str(ref), extra_dirs)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError("", f"cannot read cell model: {exc}", str(path)) from None
    return parse_model(text, str(path))
