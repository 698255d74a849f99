"""Writing an output file without ever harming an input.

Every command that writes a file (``export -o``, ``verify -o/--json``, ``soc identify/replay -o``…)
goes through here, because a tab-completion slip (``-o sessions.sqlite3``) must not destroy the
session store:

* :func:`refuse_inputs` refuses an output path that is, or links to, a protected file (the store
  and its ``-wal``/``-shm``/``-journal``, the config, the secrets file, the input);
* :func:`output_path` / :func:`open_output` write into a temporary file in the target's directory
  and rename it into place only when the writing succeeded, so a full disk or an error halfway
  leaves the old file (or none) rather than half of one; a device or FIFO (``/dev/stdout``) is
  written in place;
* any :class:`OSError` on the way becomes :class:`OutputError` (one line: path and reason).

New files are created 0600 (exports hold bench data); a replaced file keeps its mode;
:func:`create_private` does the same for the session store.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from benchgui.errors import BenchError, ConfigError

#: files SQLite keeps beside a database: writing over them corrupts it as surely as the file
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class OutputError(BenchError):
    """An output file could not be written (full disk, permission, a directory…); the CLI exits 1."""


def store_files(store: str | os.PathLike[str]) -> list[Path]:
    """The store and the files SQLite keeps beside it."""
    p = Path(store)
    return [p, *(p.with_name(p.name + s) for s in SQLITE_COMPANIONS)]


def protected(store: Path | None, config: Path | None, secrets: Path | None) -> list[tuple[str, Path]]:
    """``(what, path)`` of the files no output may replace: the store (+ SQLite's), config, secrets."""
    out: list[tuple[str, Path]] = []
    if store is not None:
        out.append(("the session store", store))
        out += [(f"the session store's {s} file", store.with_name(store.name + s)) for s in SQLITE_COMPANIONS]
    if config is not None:
        out.append(("the configuration file", config))
    if secrets is not None:
        out.append(("the secrets file", secrets))
    return out


def _same(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file: same real path, or same inode (a hard link)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): the real paths decided
        return False


def refuse_inputs(option: str, output: str | os.PathLike[str], protected: Iterable[tuple[str, Path]]) -> None:
    """Raise :class:`ConfigError` (exit 2) when ``output`` is one of the ``(what, path)`` files."""
    out = Path(output)
    for what, path in protected:
        if _same(out, path):
            raise ConfigError(option, f"{out} is {what}; refusing to write over it (choose another file)")


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty with mode 0600 (its folder 0700 if new) unless it exists.

    For the session store: SQLite would create it 0644 (minus the umask), readable by every user
    of the machine; an empty file is a valid empty database, and SQLite gives the ``-wal`` and
    ``-shm`` files it adds the database file's mode. An existing file keeps its mode."""
    p = Path(path)
    p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _is_special(path: Path) -> bool:
    """A device, FIFO or socket: written in place (``/dev/stdout``, ``/dev/null``), never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextlib.contextmanager
def output_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a path to write ``path``'s new content into; it becomes ``path`` when the block succeeds.

    For libraries that want a file name (Qt's image export): the temporary name keeps the suffix.
    Any :class:`OSError` in the block or in the rename is raised as :class:`OutputError`.
    """
    target = Path(path)
    try:
        if _is_special(target):
            yield target
            return
        real = Path(os.path.realpath(target))  # a symlink stays a symlink: its target is replaced
        if real.is_dir():
            raise IsADirectoryError(21, os.strerror(21))
        try:
            keep_mode: int | None = stat.S_IMODE(real.stat().st_mode)
        except FileNotFoundError:
            keep_mode = None
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=f".tmp{real.suffix}", dir=real.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            yield tmp
            if keep_mode is not None:
                os.chmod(tmp, keep_mode)
            os.replace(tmp, real)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str], *, newline: str | None = None) -> Iterator[IO[str]]:
    """:func:`output_path` opened as UTF-8 text; flushed and synced before the rename."""
    with output_path(path) as p, open(p, "w", encoding="utf-8", newline=newline) as fh:
        yield fh
        fh.flush()
        if not _is_special(p):
            os.fsync(fh.fileno())


def write_text(path: str | os.PathLike[str], text: str, *, newline: str | None = None) -> None:
    """Write ``text`` to ``path`` through :func:`open_output`."""
    with open_output(path, newline=newline) as fh:
        fh.write(text)
