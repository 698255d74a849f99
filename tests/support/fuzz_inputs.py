"""Fuzz targets for what a person hands benchgui: config files, program files, command lines.

Issue 22: a non-UTF-8 or deeply nested config, ``--config /dev/zero``, ``export ''``, a program
profile pointing at ``/etc/shadow`` — each ended in a traceback, a hang or a leak. These targets
keep it so: a config or program file must load or be refused with :class:`ConfigError` (one
line); a command line must end with an exit status, never an exception, and never print a
traceback. Everything runs in a sandbox folder (made once per process, removed at exit):

* ``config.loader``: the bytes as a config file (0600), through :func:`load_config`;
* ``programs.loader``: the bytes as a program file beside a profile CSV and a fake secret one
  folder up, through :func:`load_program`; no error may quote the secret;
* ``cli.arguments``: the bytes split at NUL into values for the commands that take a session
  id or a file (``export``, ``verify``, ``import --dry-run``, ``sessions list``), run in-process
  against a small store. File values that leave the sandbox (absolute, ``..``) are cut to their
  last component, so a fuzzer can neither read ``/proc/kmsg`` nor write anywhere; ``-o`` is
  never generated (outputs are tested in ``tests/cli/test_outputs_safe.py``).

Each input writes a file or runs a whole command (milliseconds, not microseconds), so these
targets get a share of a run's inputs (:attr:`~tests.support.fuzz_targets.Target.share`): 5 % for
the two loaders, 0.2 % for command lines — 50,000 and 2,000 of ``make fuzz``'s 10⁶, a few minutes.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import os
import shutil
import tempfile
from pathlib import Path

from benchgui.cli import main
from benchgui.config import load_config
from benchgui.core.programs.loader import load_program
from benchgui.errors import ConfigError
from benchgui.model import Channel, SessionMeta
from benchgui.recording.store import Store

SECRET = "SECRETHASH-d41d8cd9"


@functools.cache
def sandbox() -> Path:
    """A folder with a store (one session), a profile CSV, an import CSV and a secret."""
    root = Path(tempfile.mkdtemp(prefix="benchgui-fuzz-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "secret.csv").write_text(f"root:{SECRET}:19000\n")
    progs = root / "programs"
    progs.mkdir()
    (progs / "cycle.csv").write_text("time_s,current_a\n0,1\n10,2\n20,0.5\n")
    (root / "config").mkdir()
    (root / "data").mkdir()
    with Store(root / "data" / "sessions.sqlite3") as store:
        t0 = 10**18
        sid = store.create_session(t0, SessionMeta("op", "AGM-1", "", "import"), {}, ended_ns=t0 + 5 * 10**9)
        key = store.channel_key(Channel("battery.voltage.labjack", "V", "labjack", "battery.voltage"))
        store.insert_samples(sid, [(key, t0 + i * 10**9, 12.0 + i / 100, 0) for i in range(5)])
    (root / "sample.csv").write_text("Time,battery.voltage.labjack\n1622238915000,12.9\n1622238916000,12.8\n")
    return root


# -- config files -------------------------------------------------------------------------------
CONFIG_SEEDS = [
    b'[bench]\nname = "battery bench"\noperator = ""\n[simulation]\nspeed = 1.0\nseed = 1\n',
    b'[instruments.ea]\nenabled = true\nport = "/dev/ea-load"\nbaud = 57600\nparity = "O"\n'
    b"poll_interval_s = 0.5\ntimeout_s = 0.5\nretries = 2\n",
    b'[[instruments.labjack.channels]]\nquantity = "battery.voltage"\nunit = "V"\nain = 2\n'
    b'range_v = 10.0\n[instruments.labjack.channels.transfer]\nkind = "divider"\nratio = 5.0\n',
    b'[recording]\nstore_path = ""\nflush_interval_s = 0.25\n[recording.influx]\nurl = "http://pi:8086"\n'
    b'version = 1\ndatabase = "bench"\n',
    b"[safety]\nmax_current_a = 10.0\n[verify]\nmax_gap_s = 2.5\n",
    b"x = [[[[[[[[1]]]]]]]]\n",
    b"\xef\xbb\xbf[bench]\nname = '\xff'\n",
]


def _config(data: bytes) -> None:
    path = sandbox() / "config" / "fuzz.toml"
    path.write_bytes(data)
    path.chmod(0o600)
    loaded = load_config(path)
    assert loaded.path == path


# -- program files -------------------------------------------------------------------------------
PROGRAM_SEEDS = [
    b'[program]\nname = "p"\n[[step]]\nkind = "cc"\ncurrent_a = 0.5\nduration_s = 60\n',
    b'[[step]]\nkind = "pulse"\ncurrent_a = 5.0\nbase_current_a = 0.5\non_s = 10\noff_s = 50\ncount = 3\n',
    b'[[step]]\nkind = "profile"\ncsv = "cycle.csv"\ninterval_s = 1.0\n',
    b'[[step]]\nkind = "profile"\ncsv = "../secret.csv"\n',
    b'[[step]]\nkind = "loop"\ncount = 2\n[[step.steps]]\nkind = "rest"\nduration_s = 5\n',
    b'[[step]]\nkind = "cp"\npower_w = 20\nuntil_voltage_below_v = 11.8\n',
]


def _program(data: bytes) -> None:
    path = sandbox() / "programs" / "fuzz.toml"
    path.write_bytes(data)
    try:
        program = load_program(path)
    except ConfigError as exc:
        if SECRET in str(exc):
            raise AssertionError("an error quoted a file outside the program's folder") from None
        if "\n" in str(exc).strip():
            raise AssertionError("an error of more than one line") from None
        raise
    assert program.steps


# -- command lines -------------------------------------------------------------------------------
COMMANDS = (
    lambda v: ["sessions", "list"] + (["--json"] if v[0] else []),
    lambda v: ["export", v[0], "--format", v[1] or "csv"],
    lambda v: ["verify", v[0], "-q"],
    lambda v: (
        ["import", _inside(v[0]), "--dry-run", "--skip-unmapped"] + (["--timezone", v[1]] if v[1] else [])
    ),
    lambda v: ["import", _inside(v[0]), "--dry-run", "--battery-id", v[1], "--notes", v[2]],
)
CLI_SEEDS = [
    bytes([i]) + b"\x00".join(vals)
    for i, vals in enumerate(
        [
            (b"",),
            (b"latest", b"lineprotocol"),
            (b"latest",),
            (b"sample.csv", b"Europe/Berlin"),
            (b"sample.csv", b"AGM\x1b]0;x\x07", b"notes"),
        ]
    )
] + [b"\x01\x00csv", b"\x03../../etc/shadow", b"\x02-", b"\x01--help\x00x"]


def _inside(value: str) -> str:
    """A file argument kept in the sandbox (the cwd): absolute or ``..`` paths lose their folders."""
    if os.path.isabs(value) or ".." in Path(value).parts:
        return Path(value).name or "missing.csv"
    return value


def _cli(data: bytes) -> None:
    root = sandbox()
    command = COMMANDS[data[0] % len(COMMANDS)] if data else COMMANDS[0]
    values = [v.decode("utf-8", "surrogateescape").replace("\x00", "") for v in data[1:].split(b"\x00")]
    values += [""] * (3 - len(values))
    argv = command(values)
    env = {"BENCHGUI_CONFIG_DIR": str(root / "config"), "BENCHGUI_DATA_DIR": str(root / "data")}
    saved = {k: os.environ.get(k) for k in (*env, "BENCHGUI_SECRETS_FILE")}
    cwd = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.update(env)
        os.environ.pop("BENCHGUI_SECRETS_FILE", None)
        os.chdir(root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse: usage error (2) or --help (0)
                status = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert status in (0, 1, 2), f"exit status {status!r}"
    assert "Traceback" not in err.getvalue(), err.getvalue()[-300:]


def targets() -> list:  # type: ignore[type-arg]
    from tests.support.fuzz_targets import Target

    return [
        Target("config.loader", CONFIG_SEEDS, _config, (ConfigError,), share=0.05),
        Target("programs.loader", PROGRAM_SEEDS, _program, (ConfigError,), share=0.05),
        Target("cli.arguments", CLI_SEEDS, _cli, (), share=0.002),
    ]
