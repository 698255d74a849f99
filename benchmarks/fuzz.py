"""Fuzz every codec with a million inputs each and print the counts: ``make fuzz``.

Usage: python benchmarks/fuzz.py [--inputs N] [--engine auto|mutate|atheris] [--jobs J] [TARGET ...]

Targets (``tests/support/fuzz_targets.py``): the EA telegram reader in both directions with the
object decoder, the ThingSet client and device codecs and the line splitter, the LabJack
register coding (client and simulated-device side), the CSV importer when this build has
``benchgui.recording.csv_import``, and what a person hands benchgui (``tests/support/fuzz_inputs.py``):
the config loader and the program loader (5 % of the inputs: each writes a file) and command lines
(``cli.arguments``, 0.2 %: each runs a whole command in-process). For each: inputs fed, inputs/s, the codec's own errors by
type (refusing bad input is correct) and crashes — any other exception, or a broken invariant
such as "every byte fed comes out as a telegram or a discard". Exit status 1 if anything crashed;
the first crashing inputs are printed in hex.

Engines: ``mutate`` damages valid inputs at random (truncation, bit flips, insertions, splices;
deterministic for ``--seed``), one process per target. ``atheris`` (Google's coverage-guided
fuzzer, libFuzzer underneath; ``pip install atheris`` — wheels for x86_64 Linux only, it does not
build without clang on the Pi) runs each target in a child process from the same seeds.
``auto`` takes atheris when it is importable.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fuzz_targets import Outcome, Target, feed_one, targets  # noqa: E402
from tests.support.mutate import Mutator  # noqa: E402


def by_name(name: str) -> Target:
    for t in targets():
        if t.name == name:
            return t
    raise SystemExit(f"no fuzz target {name!r}")


def run_mutate(name: str, n: int, seed: int) -> Outcome:
    target = by_name(name)
    out = Outcome(name)
    t0 = time.perf_counter()
    for data in Mutator(target.seeds, seed=seed).inputs(target.inputs_of(n)):
        feed_one(target, data, out)
    out.seconds = time.perf_counter() - t0
    return out


def _to_json(out: Outcome) -> str:
    return json.dumps(
        {
            "target": out.target,
            "inputs": out.inputs,
            "errors": out.errors,
            "crashes": out.crashes,
            "examples": [(k, d.hex()) for k, d in out.examples],
            "seconds": out.seconds,
        }
    )


def _from_json(text: str) -> Outcome:
    d = json.loads(text)
    return Outcome(
        d["target"],
        d["inputs"],
        Counter(d["errors"]),
        Counter(d["crashes"]),
        [(k, bytes.fromhex(h)) for k, h in d["examples"]],
        d["seconds"],
    )


def atheris_child(name: str, n: int, seed: int) -> None:
    """Inside the child: fuzz one target with atheris for exactly ``n`` inputs, print the counts."""
    import atheris

    with atheris.instrument_imports():
        import benchgui.instruments.ea.protocol
        import benchgui.instruments.ea.values
        import benchgui.instruments.labjack.registers
        import benchgui.instruments.mppt.firmware_json
        import benchgui.instruments.mppt.lines
        import benchgui.instruments.mppt.messages
        import benchgui.instruments.mppt.protocol  # noqa: F401

        with contextlib.suppress(ModuleNotFoundError):  # the recording feature's importer
            importlib.import_module("benchgui.recording.csv_import")
    target = by_name(name)
    out = Outcome(name)
    t0 = time.perf_counter()

    def one(data: bytes) -> None:
        feed_one(target, data, out)
        if out.inputs == n:  # libFuzzer exits without running Python's atexit handlers
            out.seconds = time.perf_counter() - t0
            print("OUTCOME " + _to_json(out), flush=True)

    with tempfile.TemporaryDirectory() as corpus:
        for i, s in enumerate(target.seeds):
            Path(corpus, f"seed{i}").write_bytes(s)
        args = [
            sys.argv[0],
            f"-runs={n}",
            f"-seed={seed + 1}",
            "-max_len=512",
            "-print_final_stats=0",
            corpus,
        ]
        atheris.Setup(args, one)
        atheris.Fuzz()


def run_atheris(name: str, n: int, seed: int) -> Outcome:
    n = by_name(name).inputs_of(n)
    cmd = [sys.executable, __file__, "--atheris-child", name, "--inputs", str(n), "--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("OUTCOME "):
            return _from_json(line[len("OUTCOME ") :])
    out = Outcome(name)
    out.crashes[f"atheris child exited {proc.returncode}: {proc.stderr.strip()[-300:]}"] += 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", type=int, default=1_000_000, help="inputs per target (default 10^6)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", choices=("auto", "mutate", "atheris"), default="auto")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="targets fuzzed at once")
    ap.add_argument("--atheris-child", metavar="TARGET", help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*", metavar="TARGET", help="only these targets")
    args = ap.parse_args()
    if args.atheris_child:
        atheris_child(args.atheris_child, args.inputs, args.seed)
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    names = [t.name for t in targets() if not args.names or t.name in args.names]
    if "csv_import" not in names and not args.names:
        print("(no CSV importer in this build: benchgui.recording.csv_import is missing)", file=sys.stderr)
    print(f"fuzzing {len(names)} targets × {args.inputs:,} inputs, engine {engine}, {args.jobs} jobs …")
    fn = run_atheris if engine == "atheris" else run_mutate
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(fn, name, args.inputs, args.seed) for name in names]
        outcomes = [f.result() for f in futures]
    head = f"{'target':<26} {'inputs':>10} {'inputs/s':>9} {'crashes':>7}  errors by type"
    print(head)
    print("-" * len(head))
    for o in outcomes:
        rate = o.inputs / o.seconds if o.seconds else 0.0
        errors = ", ".join(f"{k} {v:,}" for k, v in sorted(o.errors.items())) or "none"
        print(f"{o.target:<26} {o.inputs:>10,} {rate:>9,.0f} {o.crash_count:>7}  {errors}")
    total = sum(o.inputs for o in outcomes)
    crashes = sum(o.crash_count for o in outcomes)
    print(f"total: {total:,} inputs in {time.perf_counter() - t0:.0f} s, {crashes} crashes")
    for o in outcomes:
        for key, count in o.crashes.items():
            print(f"CRASH {o.target}: {key} ({count}×)")
        for key, data in o.examples:
            print(f"  input {data.hex()}  ({key})")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
