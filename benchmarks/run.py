"""Run every benchmark and print one table: ``make bench`` (``--quick`` for a short pass).

Usage: python benchmarks/run.py [--quick] [NAME ...]   (NAME filters bench_NAME.py modules)
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import Result, fmt  # noqa: E402


def load(path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec
    assert spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="shorter runs (rougher numbers)")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    files = sorted(HERE.glob("bench_*.py"))
    if args.names:
        files = [f for f in files if any(n in f.stem for n in args.names)]
    rows: list[tuple[str, Result]] = []
    failed = 0
    for f in files:
        area = f.stem.removeprefix("bench_")
        t0 = time.perf_counter()
        print(f"running {f.name} …", file=sys.stderr, flush=True)
        try:
            results = load(f).run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed += 1
            continue
        print(f"  {f.name} took {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        rows += [(area, r) for r in results]
    head = f"{'area':<10} {'measurement':<58} {'value':>12} {'unit':<8} {'target':<14} {'verdict':<7} {'baseline':>10} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    for area, r in rows:
        verdict = {True: "ok", False: "MISSED", None: ""}[r.ok]
        base = fmt(r.baseline) if r.baseline is not None else ""
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else ""
        print(
            f"{area:<10} {r.name:<58} {fmt(r.value):>12} {r.unit:<8} {r.target:<14} {verdict:<7} {base:>10} {ratio:>7}"
        )
        if r.note:
            print(f"{'':<10}   {r.note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
