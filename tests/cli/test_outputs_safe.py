"""Issue 22: no output option can overwrite an input, and a failed write is one line, exit 1.

Every command that writes a file (``export -o``, ``verify -o/--json``, ``soc identify -o``,
``soc replay -o/--plot``, the GUI's ``--screenshot``) refuses the store (and SQLite's companions),
the config, the secrets file and its input files; writes go through a temporary file renamed
into place, so a failure leaves the old file as it was.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgui.model import Channel, SessionMeta
from benchgui.recording.store import Store
from tests.helpers import run_cli
from tests.verify import synth

Cli = Callable[..., subprocess.CompletedProcess[str]]
T0 = 1_700_000_000_000_000_000


def make_store(path: Path, n: int = 50) -> str:
    with Store(path) as store:
        sid = store.create_session(T0, SessionMeta(kind="live", battery_id="B1"))
        key = store.channel_key(Channel.of("battery.voltage", "labjack", "V"))
        store.insert_samples(sid, [(key, T0 + k * 10**9, 12.0 + k / 100, 0) for k in range(n)])
        store.end_session(sid, T0 + n * 10**9)
    return sid


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    s = tmp_path / "S.sqlite3"
    make_store(s)
    return s


def assert_intact(store: Path, before: str, cli: Cli) -> None:
    assert digest(store) == before
    r = cli(["export", "latest", "--store", str(store)])
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 + 50


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- the exact reproductions of the issue, as the shell runs them ---------------------------


@pytest.mark.parametrize("command", ["export", "verify"])
def test_output_onto_the_store_is_refused_and_the_store_survives(store: Path, command: str) -> None:
    before = digest(store)
    r = run_cli([command, "latest", "--store", str(store), "-o", str(store)])
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert "--output" in line
    assert "is the session store" in line
    assert "refusing" in line
    assert digest(store) == before
    with Store(store, readonly=True) as s:
        assert s.session("latest").samples == 50


# --- every writing option against every protected file --------------------------------------


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_sqlite_companion_files_are_refused(store: Path, cli: Cli, suffix: str) -> None:
    before = digest(store)
    r = cli(["export", "latest", "--store", str(store), "-o", f"{store}{suffix}"])
    assert r.returncode == 2
    assert f"the session store's {suffix} file" in one_line(r.stderr)
    assert not Path(f"{store}{suffix}").exists()
    assert_intact(store, before, cli)


def test_links_to_the_store_are_refused(store: Path, cli: Cli, tmp_path: Path) -> None:
    before = digest(store)
    sym = tmp_path / "innocent.csv"
    sym.symlink_to(store)
    hard = tmp_path / "hard.csv"
    os.link(store, hard)
    for target in (sym, hard):
        r = cli(["export", "latest", "--store", str(store), "-o", str(target)])
        assert r.returncode == 2, target
        assert "is the session store" in one_line(r.stderr)
    assert_intact(store, before, cli)


def test_the_config_and_secrets_files_are_refused(store: Path, cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[verify]\n")
    r = cli(["--config", str(config), "export", "latest", "--store", str(store), "-o", str(config)])
    assert r.returncode == 2
    assert "is the configuration file" in one_line(r.stderr)
    assert config.read_text() == "[verify]\n"
    secrets = tmp_path / "config" / "secrets.toml"  # BENCHGUI_CONFIG_DIR of the test
    secrets.parent.mkdir()
    secrets.write_text('influx_token = "t"\n')
    secrets.chmod(0o600)
    r = cli(["verify", "latest", "--store", str(store), "--json", str(secrets)])
    assert r.returncode == 2
    assert "is the secrets file" in one_line(r.stderr)
    assert secrets.read_text() == 'influx_token = "t"\n'


def test_verify_json_and_html_cannot_be_one_file_or_the_store(store: Path, cli: Cli, tmp_path: Path) -> None:
    before = digest(store)
    same = tmp_path / "r.html"
    r = cli(["verify", "latest", "--store", str(store), "-o", str(same), "--json", str(same)])
    assert r.returncode == 2
    assert "--json" in one_line(r.stderr)
    assert "the --output output" in r.stderr
    r = cli(["verify", "latest", "--store", str(store), "--json", f"{store}-wal"])
    assert r.returncode == 2
    assert not same.exists()
    assert_intact(store, before, cli)


def test_soc_outputs_never_replace_their_inputs(tmp_path: Path, cli: Cli) -> None:
    run_csv = tmp_path / "run.csv"
    text = "time_s,current_a,voltage_v\n0,1,12\n1,1,12.1\n"
    run_csv.write_text(text)
    r = cli(["soc", "identify", str(run_csv), "--cells", "4", "-o", str(run_csv)])
    assert r.returncode == 2
    assert "is the input file" in one_line(r.stderr)
    model = tmp_path / "m.toml"
    model.write_text("not read: refused first")
    r = cli(["soc", "replay", str(run_csv), "--model", str(model), "-o", str(model)])
    assert r.returncode == 2
    assert "is the --model file" in one_line(r.stderr)
    r = cli(["soc", "replay", str(run_csv), "--model", str(model), "-o", str(run_csv)])
    assert r.returncode == 2
    assert "is the input file" in one_line(r.stderr)
    store = tmp_path / "S.sqlite3"
    make_store(store)
    before = digest(store)
    out = tmp_path / "o.csv"
    for args in (
        ["-o", str(store)],
        ["-o", str(out), "--plot", str(out)],
        ["-o", str(out), "--plot", str(store)],
    ):
        r = cli(["soc", "replay", "--session", "latest", "--store", str(store), *args])
        assert r.returncode == 2, args
        one_line(r.stderr)
    assert run_csv.read_text() == text
    assert model.read_text() == "not read: refused first"
    assert digest(store) == before
    assert not out.exists()


def test_the_screenshot_cannot_replace_the_store(store: Path, cli: Cli) -> None:
    before = digest(store)
    r = cli(["--store", str(store), "--screenshot", str(store), "--quit-after", "0"])
    assert r.returncode == 2
    assert "--screenshot" in one_line(r.stderr)
    assert digest(store) == before


# --- write failures: one line, exit 1, nothing half-written ---------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_line_and_exit_1(store: Path) -> None:
    for command in (["export", "latest"], ["verify", "latest", "--quiet"]):
        r = run_cli([*command, "--store", str(store), "-o", "/dev/full"])
        assert r.returncode == 1, r.stderr
        assert one_line(r.stderr) == "benchgui: cannot write /dev/full: No space left on device"


def test_a_directory_or_a_path_through_a_file_is_one_line_and_exit_1(
    store: Path, cli: Cli, tmp_path: Path
) -> None:
    through_file = tmp_path / "plain.txt"
    through_file.write_text("x")
    for target, reason in ((tmp_path, "Is a directory"), (through_file / "out.csv", "Not a directory")):
        for command in (["export", "latest"], ["verify", "latest", "--quiet"]):
            r = cli([*command, "--store", str(store), "-o", str(target)])
            assert r.returncode == 1, (command, target)
            assert one_line(r.stderr) == f"benchgui: cannot write {target}: {reason}"
    assert through_file.read_text() == "x"


def test_a_failure_while_writing_keeps_the_old_file(
    store: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "old.lp"
    out.write_text("yesterday's export\n")
    import benchgui.cli.export as export

    def failing_lines(store: Store, sid: str):  # type: ignore[no-untyped-def]
        yield "sessions,kind=live first=1i 1"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "session_lines", failing_lines)
    r = cli(["export", "latest", "--store", str(store), "--format", "lineprotocol", "-o", str(out)])
    assert r.returncode == 1
    assert one_line(r.stderr) == f"benchgui: cannot write {out}: No space left on device"
    assert out.read_text() == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".old.lp.")] == []  # no temp left


def test_outputs_are_complete_new_files_0600_and_replaced_files_keep_their_mode(
    store: Path, cli: Cli, tmp_path: Path
) -> None:
    new = tmp_path / "sub" / "new.csv"
    r = cli(["export", "latest", "--store", str(store), "-o", str(new)])
    assert r.returncode == 0, r.stderr
    assert len(new.read_text().splitlines()) == 51
    assert new.stat().st_mode & 0o777 == 0o600
    old = tmp_path / "old.csv"
    old.write_text("old\n")
    old.chmod(0o644)
    link = tmp_path / "link.csv"
    link.symlink_to(old)
    r = cli(["export", "latest", "--store", str(store), "-o", str(link)])
    assert r.returncode == 0, r.stderr
    assert link.is_symlink()  # the link stays; its target got the new content
    assert len(old.read_text().splitlines()) == 51
    assert old.stat().st_mode & 0o777 == 0o644


def test_verify_writes_both_files(tmp_path: Path, cli: Cli) -> None:
    store = tmp_path / "v.sqlite3"
    sid = synth.store_session(store, synth.session(seed=3, ref_period_s=0.5))
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    r = cli(["verify", sid, "--store", str(store), "-o", str(html), "--json", str(js), "--quiet"])
    assert r.returncode == 0, r.stderr
    assert sid in html.read_text()
    assert js.read_text().endswith("}\n")


# --- an empty session id matches nothing, it is refused -------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["export", ""],
        ["export", "  "],
        ["verify", ""],
        ["soc", "replay", "--session", "", "-o", "x.csv"],
        ["--replay", ""],
    ],
)
def test_an_empty_session_id_is_an_error(store: Path, cli: Cli, args: list[str], tmp_path: Path) -> None:
    r = cli(["--store", str(store), *args])
    assert r.returncode == 2
    assert "must not be empty" in one_line(r.stderr)
    assert not (tmp_path / "x.csv").exists()
