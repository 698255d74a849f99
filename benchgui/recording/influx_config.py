"""The effective InfluxDB target: ``[recording.influx]`` from the file, overridden by the environment.

Services and tests configure InfluxDB without a file: ``BENCHGUI_INFLUX_URL``,
``BENCHGUI_INFLUX_VERSION`` (1 or 2), ``_ORG``, ``_BUCKET``, ``_TOKEN``, ``_DATABASE``,
``_USER``, ``_PASSWORD``. The config loader already turns every ``BENCHGUI_*`` variable (and the
0600 secrets file) into lower-case secrets (``influx_url``…); this module merges them over the
file's section and checks that the result is complete, naming the key that is missing. A URL with
credentials (``http://user:pass@…``) or any query (``?p=…``, ``?token=…``) is refused without
being echoed, so a secret never reaches a log, an error line or the forwarding ledger.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from benchgui.config.schema import InfluxSection
from benchgui.errors import ConfigError

ENV_KEYS = ("url", "version", "org", "bucket", "token", "database", "user", "password")
KEY = "recording.influx"


@dataclass(frozen=True)
class InfluxTarget:
    """A complete, checked InfluxDB target. ``repr`` never shows the token or password."""

    version: int
    url: str
    org: str = ""
    bucket: str = ""
    token: str = dataclasses.field(default="", repr=False)
    database: str = ""
    retention_policy: str = ""
    user: str = ""
    password: str = dataclasses.field(default="", repr=False)
    verify_tls: bool = True
    ca_file: str = ""
    gzip: bool = True
    timeout_s: float = 10.0
    batch_size: int = 5000
    interval_s: float = 1.0
    max_backoff_s: float = 60.0

    @property
    def sink_id(self) -> str:
        """Names the target in the forwarding ledger: another server or database starts afresh."""
        url = self.url.rstrip("/")
        if self.version == 1:
            return f"influx1 {url} db={self.database} rp={self.retention_policy}"
        return f"influx2 {url} org={self.org} bucket={self.bucket}"

    def describe(self) -> str:
        """For the operator (no secrets): ``InfluxDB 1.x http://pi:8086 db=bench``."""
        where = (
            f"db={self.database}" + (f" rp={self.retention_policy}" if self.retention_policy else "")
            if self.version == 1
            else f"org={self.org} bucket={self.bucket}"
        )
        return f"InfluxDB {self.version}.x {self.url.rstrip('/')} {where}"


def influx_target(section: InfluxSection, secrets: Mapping[str, str]) -> InfluxTarget | None:
    """Merge ``section`` with ``influx_*`` secrets; None when no URL is set anywhere."""
    values = {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}
    for k in ENV_KEYS:
        env = secrets.get(f"influx_{k}")
        if env is not None and env != "":
            values[k] = env
    url = str(values["url"]).strip()
    if not url:
        return None
    try:
        version = int(str(values["version"]).strip())
    except ValueError:
        version = 0
    if version not in (1, 2):
        raise ConfigError(
            f"{KEY}.version", f"must be 1 or 2 (BENCHGUI_INFLUX_VERSION), got {values['version']!r}"
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket; the URL is not echoed: it may hold secrets
        raise ConfigError(f"{KEY}.url", "is not a valid URL") from None
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        # never echoed, logged or stored (the forwarding ledger is named after the URL)
        raise ConfigError(
            f"{KEY}.url",
            "must not carry credentials or a query (user:password@, ?p=, ?token=…): give them as "
            "BENCHGUI_INFLUX_TOKEN or BENCHGUI_INFLUX_USER/BENCHGUI_INFLUX_PASSWORD "
            "(or in the 0600 secrets file)",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{KEY}.url", f"must be an http:// or https:// URL, got {url!r}")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(f"{KEY}.url", f"bad port in {url!r}") from None
    values["url"], values["version"] = url, version
    required = ("org", "bucket", "token") if version == 2 else ("database",)
    for k in required:
        if not str(values[k]).strip():
            raise ConfigError(
                f"{KEY}.{k}",
                f"required for InfluxDB {version}.x (or set BENCHGUI_INFLUX_{k.upper()})",
            )
    if version == 1 and bool(values["user"]) != bool(values["password"]):
        raise ConfigError(f"{KEY}.password", "InfluxDB 1.x needs both user and password, or neither")
    return InfluxTarget(**{f.name: values[f.name] for f in dataclasses.fields(InfluxTarget)})
