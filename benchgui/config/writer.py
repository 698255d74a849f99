"""Write settings back into the configuration file — the service panels use to persist changes.

Widgets never touch files: a panel (the LabJack AIN panel, for one) calls
:meth:`ConfigFile.update_table` on the ``"config_file"`` service the assembly attaches to the
bench. The whole file is read, the table updated, the result validated as a complete
configuration, and only then written: atomically (temporary file + rename), with the file's mode
kept (a 0600 file holding secrets stays 0600) and the previous version kept as ``<name>.bak``.

A minimal TOML writer (:func:`dumps`) is enough for our data — tables, arrays of tables, strings,
numbers, booleans, lists — so no dependency is added for it. It does not keep comments: the
``.bak`` file has the original, and ``resources/config.example.toml`` documents every key.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import re
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchgui.config.loader import parse_config, read_toml
from benchgui.errors import ConfigError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else _string(k)


def _string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007F")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list | tuple) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _emit(lines: list[str], path: list[str], table: Mapping[str, Any], header: str | None) -> None:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping) and not _is_table_array(v)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    arrays = [(k, v) for k, v in table.items() if _is_table_array(v)]
    if header is not None and (scalars or header.startswith("[[") or not (tables or arrays)):
        if lines:
            lines.append("")
        lines.append(header)
    for k, v in scalars:
        lines.append(f"{_key(str(k))} = {_value(v)}")
    for k, v in tables:
        sub = [*path, str(k)]
        _emit(lines, sub, v, "[" + ".".join(_key(p) for p in sub) + "]")
    for k, items in arrays:
        sub = [*path, str(k)]
        for item in items:
            _emit(lines, sub, item, "[[" + ".".join(_key(p) for p in sub) + "]]")


def dumps(data: Mapping[str, Any]) -> str:
    """TOML text for ``data`` (what :func:`tomllib.loads` reads back as the same dict)."""
    lines: list[str] = []
    _emit(lines, [], data, None)
    return "\n".join(lines) + "\n"


class ConfigFile:
    """The configuration file in use (None: built-in defaults, nothing to write to)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None

    def update_table(self, table: str, values: Mapping[str, Any], *, create: bool = False) -> Path:
        """Set ``values`` inside the table ``table`` (dotted, e.g. ``instruments.labjack``).

        The table must already exist unless ``create``: creating ``[instruments.labjack]``
        would switch a simulated bench to hardware on the next start, which a panel must not do
        behind the operator's back (``[safety]`` may be created: it changes no hardware).
        """
        if self.path is None:
            raise ConfigError(
                "", "no configuration file in use (built-in defaults); start with --config PATH to save"
            )
        data = read_toml(self.path)
        node: Any = data
        for part in table.split("."):
            parent = node
            node = node.get(part) if isinstance(node, dict) else None
            if node is None and create and isinstance(parent, dict):
                node = parent[part] = {}
            if node is None:
                raise ConfigError(
                    table, f"no [{table}] table in the configuration file to save into", str(self.path)
                )
        node.update(values)
        parse_config(data, self.path)  # never write a file that would not load
        self._write(dumps(data))
        return self.path

    async def update_table_async(
        self, table: str, values: Mapping[str, Any], *, create: bool = False
    ) -> Path:
        """:meth:`update_table` off the event loop (a GUI must not wait on a disk)."""
        return await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self.update_table, table, values, create=create)
        )

    def _write(self, text: str) -> None:
        assert self.path is not None
        path = self.path
        mode = stat.S_IMODE(path.stat().st_mode)
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
