"""The influxdb role's database step against a real InfluxDB 1.x (Debian's influxd): the first run
creates the database with its retention, a second run changes nothing, a new retention is applied."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ansible.render import ANSIBLE_DIR
from tests.ansible.test_vnc import free_port, stop
from tests.helpers import wait_until

pytestmark = [pytest.mark.influxdb, pytest.mark.slow]
HERE = Path(__file__).resolve().parent


@pytest.fixture
def influxd(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("influxd"):
        pytest.fail("influxd is missing: make test installs Debian's influxdb (scripts/system-deps.sh)")
    http, rpc = free_port(), free_port()
    conf = tmp_path / "influxdb.conf"
    conf.write_text(
        f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc}"\n'
        f'[meta]\n  dir = "{tmp_path}/meta"\n'
        f'[data]\n  dir = "{tmp_path}/data"\n  wal-dir = "{tmp_path}/wal"\n'
        f'[http]\n  bind-address = "127.0.0.1:{http}"\n  log-enabled = false\n'
        "[monitor]\n  store-enabled = false\n"
    )
    proc = subprocess.Popen(
        ["influxd", "-config", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"127.0.0.1:{http}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://{address}/ping", timeout=1) as r:
                return r.status == 204
        except OSError:
            return False

    try:
        wait_until(answers, timeout=30, interval=0.1, what="influxd to answer /ping")
        yield address
    finally:
        stop(proc)  # type: ignore[arg-type]


def retention(address: str, db: str) -> dict[str, object]:
    q = urllib.parse.urlencode({"q": f'SHOW RETENTION POLICIES ON "{db}"'})
    with urllib.request.urlopen(f"http://{address}/query?{q}", timeout=5) as r:
        (series,) = json.load(r)["results"][0]["series"]
    return {row[0]: row[1] for row in series["values"]}


def converge(address: str, *extra: str) -> str:
    bin_dir = Path(sys.executable).parent
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(ANSIBLE_DIR / "roles"),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    proc = subprocess.run(
        [
            str(bin_dir / "ansible-playbook"),
            str(HERE / "influxdb-database.yml"),
            "-i",
            "localhost,",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            f"influxdb_bind_address={address}",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (recap,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("localhost ")]
    return recap


@pytest.mark.timeout(300)
def test_database_and_retention_converge(influxd: str) -> None:
    assert "changed=1 " in converge(influxd)
    assert retention(influxd, "benchgui") == {"autogen": "8736h0m0s"}
    assert "changed=0 " in converge(influxd)
    assert "changed=1 " in converge(influxd, "-e", "influxdb_retention_weeks=4")
    assert retention(influxd, "benchgui") == {"autogen": "672h0m0s"}
