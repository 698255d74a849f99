"""Issue 22: a hostile or mistaken config, secrets or mapping file is one line and exit 2.

Non-UTF-8 bytes, a directory, absurdly nested TOML and endless files (``/dev/zero``) used to end
in a traceback with exit 1, or in 12 GB of memory.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgui.config.loader import MAX_TOML_BYTES
from tests.helpers import cli_env, run_cli

Cli = Callable[[list[str]], subprocess.CompletedProcess[str]]


def hostile(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name → (file, what the one-line error must say)."""
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[battery]\nname = "Akku für Lüfter"\n'.encode("latin-1"))
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    deep_tables = tmp_path / "deep-inline.toml"
    deep_tables.write_text("x = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n")
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * (MAX_TOML_BYTES // 10 + 1))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)))
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    return {
        "latin-1": (latin1, "not UTF-8 text (byte 24)"),
        "nested arrays": (deep, "nested too deeply"),
        "nested tables": (deep_tables, "nested too deeply"),
        "over 1 MiB": (big, "larger than 1024 KiB"),
        "binary": (binary, "not UTF-8 text"),
        "a directory": (folder, "is a directory, not a file"),
        "/dev/zero": (Path("/dev/zero"), "larger than 1024 KiB"),
    }


CASES = ["latin-1", "nested arrays", "nested tables", "over 1 MiB", "binary", "a directory", "/dev/zero"]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("case", CASES)
def test_config_file(cli: Cli, tmp_path: Path, case: str) -> None:
    path, message = hostile(tmp_path)[case]
    r = cli(["--config", str(path), "sessions", "list"])
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert line.startswith(f"benchgui: configuration error: {path}: ")
    assert message in line


@pytest.mark.parametrize("case", ["latin-1", "nested arrays", "a directory", "/dev/zero"])
def test_secrets_file(cli: Cli, tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path, message = hostile(tmp_path)[case]
    if path.is_file():
        path.chmod(0o600)
    monkeypatch.setenv("BENCHGUI_SECRETS_FILE", str(path))
    r = cli(["sessions", "list"])
    assert r.returncode == 2
    # a directory or a device is refused for its mode (readable by others) before it is read
    assert (message if path.is_file() else "readable by others") in one_line(r.stderr)


@pytest.mark.parametrize("case", ["latin-1", "nested tables", "over 1 MiB", "a directory"])
def test_import_mapping_file(cli: Cli, tmp_path: Path, case: str) -> None:
    path, message = hostile(tmp_path)[case]
    csv = tmp_path / "x.csv"
    csv.write_text("Time,Bat_voltage\n1622238915000,12.5\n")
    r = cli(["import", str(csv), "--mapping", str(path), "--dry-run"])
    assert r.returncode == 2
    assert message in one_line(r.stderr)


def test_dev_zero_as_config_in_a_real_process_with_little_memory(tmp_path: Path) -> None:
    """The process may not even grow to 1 GiB: the file is never read beyond the cap."""
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30));"
        "from benchgui.cli import main; sys.exit(main(['--config', '/dev/zero', 'sessions', 'list']))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=cli_env()
    )
    assert r.returncode == 2, r.stderr
    assert "larger than 1024 KiB" in one_line(r.stderr)


def test_non_utf8_config_as_the_shell_sees_it(tmp_path: Path) -> None:
    path, _ = hostile(tmp_path)["latin-1"]
    r = run_cli(["--config", str(path), "export", "latest"])
    assert r.returncode == 2
    assert one_line(r.stderr) == f"benchgui: configuration error: {path}: not UTF-8 text (byte 24)"
