"""The short fuzz run of ``make test``: a few thousand inputs per codec, no crash allowed.

``make fuzz`` runs the same targets with 10^6 inputs each (``benchmarks/fuzz.py``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.helpers import ROOT, cli_env
from tests.support.fuzz_targets import Outcome, Target, feed_one, targets
from tests.support.mutate import Mutator

SHORT = 3000


@pytest.mark.parametrize("target", targets(), ids=lambda t: t.name)
def test_a_few_thousand_inputs_crash_nothing(target) -> None:  # type: ignore[no-untyped-def]
    out = Outcome(target.name)
    n = max(100, target.inputs_of(SHORT))  # a slow target (a whole command line) gets fewer
    for data in Mutator(target.seeds, seed=7).inputs(n):
        feed_one(target, data, out)
    assert out.inputs == n
    assert not out.crashes, [(k, d.hex()) for k, d in out.examples]


def test_every_codec_is_a_target_and_the_importer_when_present() -> None:
    names = {t.name for t in targets()}
    assert {
        "ea.telegrams.from_device",
        "ea.telegrams.to_device",
        "mppt.thingset.client",
        "mppt.thingset.device",
        "mppt.lines",
        "labjack.registers",
    } <= names
    has_importer = importlib.util.find_spec("benchgui.recording.csv_import") is not None
    assert ("csv_import" in names) == has_importer
    assert {"config.loader", "programs.loader", "cli.arguments"} <= names  # issue 22: what people hand in


def test_a_broken_invariant_is_a_crash_and_an_own_error_is_not() -> None:
    def run(data: bytes) -> None:
        if data == b"refused":
            raise ValueError("the codec refuses this")
        raise AssertionError("invariant broken")

    target = Target("t", [b""], run, (ValueError,))
    out = Outcome("t")
    feed_one(target, b"refused", out)
    feed_one(target, b"bug", out)
    assert out.errors == {"ValueError": 1}
    assert out.crash_count == 1
    assert out.examples == [("AssertionError: invariant broken", b"bug")]


def test_make_fuzz_prints_counts_per_target() -> None:
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fuzz.py"),
            "--inputs",
            "200",
            "--engine",
            "mutate",
            "--jobs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        env=cli_env(),
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for t in targets():
        assert t.name in r.stdout
    assert "crashes" in r.stdout
    assert f"total: {sum(t.inputs_of(200) for t in targets()):,} inputs" in r.stdout
