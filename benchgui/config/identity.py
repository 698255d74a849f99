"""The bench's name: its identity in the store, in InfluxDB (the ``bench`` tag) and in Grafana.

A lab runs many benches into one server, so every point carries the name of the bench that
recorded it. The name must be a safe tag value everywhere it travels (line protocol, InfluxQL
regexes, PromQL label matchers, Grafana variables, file names): 1–64 characters of letters,
digits, ``.``, ``_`` and ``-``, starting with a letter or digit. Without ``[bench] name`` the
machine's host name is used (made safe the same way), so two Pis never share a name by default.
"""

from __future__ import annotations

import re
import socket

from benchgui.errors import ConfigError

BENCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FALLBACK = "bench"


def check_bench_name(name: str, key: str = "bench.name") -> None:
    """Raise :class:`ConfigError` unless ``name`` is empty (machine default) or a safe tag value."""
    if name and not BENCH_NAME.fullmatch(name):
        raise ConfigError(
            key,
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(it becomes the bench tag in InfluxDB and Grafana), e.g. 'bench-1'; got {name!r}",
        )


def safe_bench_name(text: str) -> str:
    """``text`` made into a valid bench name (runs of other characters become ``-``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:64].rstrip("-._")
    return name if BENCH_NAME.fullmatch(name) else FALLBACK


def machine_bench_name() -> str:
    """The default: the host name up to its first dot (``pi-bench-3.lab`` → ``pi-bench-3``)."""
    return safe_bench_name(socket.gethostname().split(".")[0])


def bench_name(configured: str) -> str:
    """The effective name: the configured one, or the machine's."""
    return configured or machine_bench_name()
