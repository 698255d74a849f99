"""Program files: the examples load, errors name the key, profiles resample without losing charge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchgui.core.programs.checks import check_program
from benchgui.core.programs.loader import ProgramError, examples_dir, load_program, parse_program_text
from benchgui.core.programs.model import (
    CUTOFF,
    ConstantStep,
    LoopStep,
    ProfileStep,
    PulseStep,
    RestStep,
    iter_steps,
)
from benchgui.core.programs.profile import parse_profile_csv, resample

EXAMPLES = sorted(examples_dir().glob("*.toml"))


def test_examples_are_shipped() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"discharge-5A-to-cutoff.toml", "pulse-dcir.toml", "drive-cycle.toml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads_and_fits_the_el3160(path: Path) -> None:
    program = load_program(path)
    assert program.steps
    assert program.leaf_count() >= 1
    assert program.text.startswith("#")

    class EL3160:
        nominal_current_a, nominal_power_w = 60.0, 400.0

    check_program(program, EL3160(), max_current_a=20.0, safety_cutoff_v=10.5)
    for _, step, _ in iter_steps(program.steps):
        assert step.describe()


def test_discharge_to_cutoff_example() -> None:
    p = load_program(examples_dir() / "discharge-5A-to-cutoff.toml")
    first = p.steps[0]
    assert isinstance(first, ConstantStep)
    assert (first.mode, first.value, first.duration_s) == ("cc", 5.0, None)
    assert first.until.voltage_below_v == CUTOFF
    assert first.describe() == "CC 5 A until V < cut-off"


def test_drive_cycle_example_resamples_its_csv() -> None:
    p = load_program(examples_dir() / "drive-cycle.toml")
    loop = p.steps[0]
    assert isinstance(loop, LoopStep)
    prof = loop.steps[0]
    assert isinstance(prof, ProfileStep)
    assert prof.duration_s == pytest.approx(195.0)
    assert all(d == pytest.approx(1.0) for d, _ in prof.segments)
    assert prof.clipped > 0  # regenerative braking rows become 0 A
    assert min(i for _, i in prof.segments) == 0.0
    assert p.leaf_count() == 4 * 2


def test_all_step_kinds_parse() -> None:
    text = """
[program]
name = "all kinds"

[[step]]
kind = "cp"
power_w = 30
duration_s = 60
until_wh = 0.4

[[step]]
kind = "rest"
duration_s = 30

[[step]]
kind = "pulse"
current_a = 5
on_s = 10
off_s = 20
count = 3
until_voltage_below_v = 11.2

[[step]]
kind = "loop"
count = 2
until_ah = 1.5
steps = [{ kind = "cc", current_a = 2, until_ah = 0.1 }, { kind = "rest", duration_s = 5 }]
"""
    p = parse_program_text(text)
    cp, rest, pulse, loop = p.steps
    assert isinstance(cp, ConstantStep)
    assert cp.until.wh == 0.4
    assert isinstance(rest, RestStep)
    assert isinstance(pulse, PulseStep)
    assert pulse.until.voltage_below_v == 11.2
    assert isinstance(loop, LoopStep)
    assert loop.until.ah == 1.5
    assert p.leaf_count() == 3 + 2 * 2
    assert [path for path, _, _ in iter_steps(p.steps)] == ["1", "2", "3", "4", "4.1", "4.2"]


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[[step]]\nkind='cc'\ncurrent_a=5\n", "step[0]", "needs duration_s or an until"),
        ("[[step]]\nkind='cc'\nduration_s=5\n", "step[0].current_a", "required"),
        ("[[step]]\nkind='cc'\ncurrent_a='5'\nduration_s=5\n", "step[0].current_a", "must be a number"),
        ("[[step]]\nkind='cc'\ncurrent_a=-1\nduration_s=5\n", "step[0].current_a", ">= 0"),
        ("[[step]]\nkind='cc'\ncurent_a=5\n", "step[0].curent_a", "unknown key"),
        ("[[step]]\nkind='discharge'\n", "step[0].kind", "unknown kind"),
        ("[[step]]\ncurrent_a=5\n", "step[0].kind", "missing"),
        (
            "[[step]]\nkind='cc'\ncurrent_a=5\nuntil_voltage_below_v='low'\n",
            "step[0].until_voltage_below_v",
            "cutoff",
        ),
        ("[[step]]\nkind='rest'\nduration_s=5\nuntil_ah=1\n", "step[0].until_ah", "unknown key"),
        ("[[step]]\nkind='pulse'\ncurrent_a=5\non_s=1\noff_s=1\n", "step[0].count", "required"),
        (
            "[[step]]\nkind='loop'\ncount=2\nsteps=[{kind='rest', duration_s=1}, {kind='cc'}]\n",
            "step[0].steps[1].current_a",
            "required",
        ),
        ("[[step]]\nkind='loop'\ncount=2\nsteps=[]\n", "step[0].steps", "at least one"),
        ("[program]\nname='x'\n", "step", "at least one [[step]]"),
        ("[program]\nnmae='x'\n[[step]]\nkind='rest'\nduration_s=1\n", "program.nmae", "unknown key"),
        ("[steps]\n", "steps", "unknown table"),
        ("[[step]]\nkind='profile'\ncsv='x.csv'\n", "step[0].csv", "saved in a file"),
    ],
)
def test_errors_name_the_key(text: str, key: str, problem: str) -> None:
    with pytest.raises(ProgramError) as info:
        parse_program_text(text)
    assert info.value.key == key
    assert problem in info.value.problem


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="file not found"):
        load_program(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[step]\n")
    with pytest.raises(ProgramError, match="not valid TOML") as info:
        load_program(bad)
    assert str(bad) in str(info.value)


def test_profile_csv_errors(tmp_path: Path) -> None:
    prog = tmp_path / "p.toml"
    prog.write_text("[[step]]\nkind='profile'\ncsv='cycle.csv'\ncurrent_column='amps'\n")
    (tmp_path / "cycle.csv").write_text("time_s,current_a\n0,1\n1,2\n")
    with pytest.raises(ProgramError, match=r"column 'amps' not in") as info:
        load_program(prog)
    assert info.value.key == "step[0].csv"
    (tmp_path / "cycle.csv").write_text("time_s,amps\n0,1\n2,x\n")
    with pytest.raises(ProgramError, match="line 3: expected two numbers"):
        load_program(prog)
    (tmp_path / "cycle.csv").write_text("time_s,amps\n0,1\n2,1\n2,3\n")
    with pytest.raises(ProgramError, match="line 4: time 2 s is not after 2 s"):
        load_program(prog)
    (tmp_path / "cycle.csv").unlink()
    with pytest.raises(ProgramError, match="cannot read"):
        load_program(prog)


def test_resampling_keeps_the_charge_and_clips_regeneration() -> None:
    t = np.linspace(0.0, 37.3, 400)
    i = 3.0 + 2.5 * np.sin(t / 3.0)
    prof = parse_profile_csv("t,i\n" + "\n".join(f"{a},{b}" for a, b in zip(t, i, strict=True)))
    segments, clipped = resample(prof, 2.0)
    assert clipped == 0
    assert len(segments) == 19
    assert segments[-1][0] == pytest.approx(1.3)
    charge = sum(d * c for d, c in segments)
    assert charge == pytest.approx(float(np.trapezoid(i, t)), rel=1e-6)
    prof = parse_profile_csv("0,2\n1,2\n2,-2\n3,-2\n4,2\n", current_sign="load")
    segments, clipped = resample(prof, 1.0, scale=2.0)
    assert clipped == 1  # only [2 s, 3 s] averages below zero
    assert [c for _, c in segments] == [4.0, 0.0, 0.0, 0.0]
    prof = parse_profile_csv("# battery convention\n0,-1\n10,-1\n", current_sign="battery")
    assert resample(prof, 5.0)[0] == [(5.0, 1.0), (5.0, 1.0)]


def test_checks_refuse_what_the_bench_cannot_do() -> None:
    class Load:
        nominal_current_a, nominal_power_w = 60.0, 400.0

    p = parse_program_text(
        "[[step]]\nkind='loop'\ncount=1\nsteps=[{kind='cc', current_a=25, duration_s=1}]\n"
    )
    with pytest.raises(ProgramError, match=r"max_current_a \(20 A\)") as info:
        check_program(p, Load(), max_current_a=20.0)
    assert info.value.key == "step[0].steps[0].current_a"
    check_program(p, Load(), max_current_a=30.0)
    p = parse_program_text("[[step]]\nkind='cp'\npower_w=500\nduration_s=1\n")
    with pytest.raises(ProgramError, match="load's rating"):
        check_program(p, Load())
    p = parse_program_text("[[step]]\nkind='cc'\ncurrent_a=1\nuntil_voltage_below_v=9.0\n")
    with pytest.raises(ProgramError, match="supervisor would trip first"):
        check_program(p, Load(), safety_cutoff_v=10.5)


def test_readme_program_example_is_valid() -> None:
    from tests.helpers import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Discharge programs and safety", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    p = parse_program_text(example)
    assert p.name == "Capacity at 5 A"
    assert [s.kind for s in p.steps] == ["cc", "rest", "loop"]
    assert p.leaf_count() == 2 + 3 * 2


# --- issue 22: hostile program files are one-line ProgramErrors (the CLI: exit 2) -----------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[program]\nname = "Entladung für Lüfter"\n'.encode("latin-1"), "not UTF-8 text (byte 29)"),
        (b"x = " + b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b"# padding\n" * (1024 * 1024 // 10 + 1), "larger than 1024 KiB"),
    ],
    ids=["latin-1", "nested arrays", "over 1 MiB"],
)
def test_hostile_program_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes(content)
    with pytest.raises(ProgramError) as info:
        load_program(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_deeply_nested_loops_are_refused(tmp_path: Path) -> None:
    step = '{kind = "rest", duration_s = 1}'
    for _ in range(2000):
        step = f'{{kind = "loop", count = 1, steps = [{step}]}}'
    path = tmp_path / "loops.toml"
    path.write_text(f"step = [{step}]\n")
    with pytest.raises(ProgramError) as info:
        load_program(path)
    assert "nested too deeply" in str(info.value)


@pytest.mark.parametrize("where", ["a directory", "/dev/zero"])
def test_a_directory_or_an_endless_file_as_program(tmp_path: Path, where: str) -> None:
    path = tmp_path if where == "a directory" else Path("/dev/zero")
    with pytest.raises(ProgramError) as info:
        load_program(path)
    assert ("is a directory" if where == "a directory" else "larger than 1024 KiB") in str(info.value)


OUTSIDE = ["../secret.csv", "{outside}/secret.csv", "link.csv", "sub/../../secret.csv"]


@pytest.mark.parametrize("where", OUTSIDE)
def test_a_profile_outside_the_programs_folder_is_refused_unread(tmp_path: Path, where: str) -> None:
    """Issue 22: ``csv = "../../etc/shadow"`` was read and a line of it quoted in the error."""
    secret = tmp_path / "secret.csv"
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n")
    folder = tmp_path / "programs"
    folder.mkdir()
    (folder / "link.csv").symlink_to(secret)
    prog = folder / "p.toml"
    prog.write_text(f"[[step]]\nkind='profile'\ncsv='{where.format(outside=tmp_path)}'\n")
    with pytest.raises(ProgramError, match="outside the program's folder") as info:
        load_program(prog)
    assert "SECRETHASH" not in str(info.value)
    assert info.value.key == "step[0].csv"


def test_a_profile_in_a_subfolder_is_read_and_errors_quote_at_most_a_short_piece(tmp_path: Path) -> None:
    (tmp_path / "cycles").mkdir()
    (tmp_path / "cycles" / "c.csv").write_text("\ufefftime_s,current_a\n0,1\n10,2\n")
    prog = tmp_path / "p.toml"
    prog.write_text("[[step]]\nkind='profile'\ncsv='cycles/c.csv'\n")
    assert load_program(prog).steps[0].kind == "profile"
    (tmp_path / "cycles" / "c.csv").write_text("0,1\n" + "x," * 10_000 + "\n")
    with pytest.raises(ProgramError, match="line 2: expected two numbers") as info:
        load_program(prog)
    assert len(str(info.value).split(" got ", 1)[1]) <= 60  # not 10 000 cells
