"""Checks several sub-commands share: which files an output must not overwrite, session ids,
stored text made safe for a terminal.

Not a sub-command (the leading underscore keeps it out of :func:`benchgui.cli.subcommand_modules`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from pathlib import Path

from benchgui.assembly import store_path_for
from benchgui.config import LoadedConfig, paths
from benchgui.errors import ConfigError
from benchgui.outputs import protected, refuse_inputs

#: C0/C1 controls, DEL, zero-width and bidirectional overrides, line/paragraph separators
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def printable(text: object) -> str:
    """``str(text)`` with every control character escaped (``\\x1b``), for the terminal.

    Stored text (battery id, notes, operator, a quarantined line) comes from imports and other
    people's stores: printed raw, an escape sequence could retitle the terminal, hide lines or
    feed the shell (issue 22); escaped, it is still readable and nothing is lost."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def session_ref(ref: str, option: str = "SESSION") -> str:
    """``ref`` unless it is empty: an empty prefix would match every session."""
    if not ref.strip():
        raise ConfigError(
            option, "must not be empty (give a session id, a unique prefix of one, or 'latest')"
        )
    return ref


def protected_files(
    args: argparse.Namespace, loaded: LoadedConfig | None, inputs: Iterable[tuple[str, str | Path]] = ()
) -> list[tuple[str, Path]]:
    """Files no output of this command may replace: store (+ SQLite's companions), config, secrets, inputs.

    Without ``loaded`` (a command that reads no config) the store and config named by the options
    or the default locations are protected.
    """
    store_opt = getattr(args, "store", None)
    config_opt = getattr(args, "config", None)
    if loaded is not None:
        store = store_path_for(loaded, store_opt)
        config = loaded.path
    else:
        store = Path(store_opt) if store_opt else paths.default_store_path()
        config = Path(config_opt) if config_opt else paths.default_config_path()
    out = protected(store, Path(config) if config is not None else None, paths.secrets_path())
    out += [(what, Path(p)) for what, p in inputs]
    return out


def check_outputs(
    protected: list[tuple[str, Path]], outputs: Iterable[tuple[str, str | Path | None]]
) -> None:
    """Refuse (exit 2) any output that is a protected file or the same file as an earlier output."""
    seen: list[tuple[str, Path]] = []
    for option, path in outputs:
        if path is None or path == "":
            continue
        refuse_inputs(option, path, protected + [(f"the {o} output", p) for o, p in seen])
        seen.append((option, Path(path)))


def add_trace_option(
    p: argparse.ArgumentParser,
    help_text: str = "record every instrument link's raw bytes into FILE (a wire trace; attached to the session)",
) -> None:
    """``--trace FILE``: every instrument link's bytes, one line per read/write (README "Real hardware")."""
    # SUPPRESS keeps ``benchgui --trace F record`` (a sub-parser default would overwrite it)
    p.add_argument("--trace", metavar="FILE", default=argparse.SUPPRESS, help=help_text)


def check_trace(
    args: argparse.Namespace, loaded: LoadedConfig | None, inputs: Iterable[tuple[str, str | None]] = ()
) -> None:
    """Refuse (exit 2) a ``--trace`` that is the store, the config, the secrets or an input."""
    trace = getattr(args, "trace", None)
    if trace:
        given = [(what, p) for what, p in inputs if p]
        check_outputs(protected_files(args, loaded, given), [("--trace", trace)])
