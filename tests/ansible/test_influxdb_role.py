"""The influxdb role's database step against a real InfluxDB 1.x (Debian's influxd): the first run
creates the database with its retention, a second run changes nothing, a new retention is applied."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
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


def query(address: str, q: str, db: str = "") -> list[dict[str, object]]:
    params = {"q": q, **({"db": db} if db else {})}
    req = urllib.request.Request(
        f"http://{address}/query", data=urllib.parse.urlencode(params).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        result = json.load(r)["results"][0]
    assert "error" not in result, result
    return list(result.get("series", []))


@pytest.mark.timeout(300)
def test_database_and_retention_converge(influxd: str) -> None:
    assert "changed=3 " in converge(influxd)  # database, downsampled policy, continuous query
    assert retention(influxd, "benchgui") == {"autogen": "8736h0m0s", "downsampled": "87360h0m0s"}
    cqs = [row[0] for s in query(influxd, "SHOW CONTINUOUS QUERIES") for row in s.get("values", [])]  # type: ignore[attr-defined]
    assert cqs == ["benchgui_downsample"]
    assert "changed=0 " in converge(influxd)
    assert "changed=1 " in converge(influxd, "-e", "influxdb_retention_weeks=4")
    assert retention(influxd, "benchgui")["autogen"] == "672h0m0s"


@pytest.mark.timeout(300)
def test_the_downsampling_query_keeps_one_minute_means_per_series(influxd: str) -> None:
    """The continuous query's SELECT, run by hand over a fixed range (a CQ itself runs on the
    clock's minute boundaries, which a test must not wait for): 10 Hz in, one mean per minute
    and per series out, tags kept, events left alone."""
    converge(influxd)
    t0 = (int(time.time()) // 60 - 10) * 60 * 10**9  # a minute boundary inside the retention
    lines = [
        "battery,bench=b1,source=labjack "
        f"voltage_v={12.0 + (i % 600) / 600},current_a=-1.0 {t0 + i * 100_000_000}"
        for i in range(1200)  # two minutes at 10 Hz
    ] + [f'events,bench=b1,kind=program.step text="x",current_a=1.0 {t0}']
    req = urllib.request.Request(
        f"http://{influxd}/write?db=benchgui&precision=ns", data="\n".join(lines).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204
    playbook = (ANSIBLE_DIR / "roles/influxdb/vars/main.yml").read_text()
    assert "SELECT mean(*) INTO" in playbook
    select = (
        'SELECT mean(*) INTO "benchgui"."downsampled".:MEASUREMENT '
        "FROM /^(battery|load|charger|solar|soc|mppt)$/ "
        f"WHERE time >= {t0} AND time < {t0 + 120 * 10**9} GROUP BY time(1m), *"
    )
    query(influxd, select, "benchgui")
    (series,) = query(influxd, 'SELECT * FROM "downsampled"."battery"', "benchgui")
    assert series["columns"] == ["time", "bench", "mean_current_a", "mean_voltage_v", "source"]  # type: ignore[index]
    rows = series["values"]  # type: ignore[index]
    assert len(rows) == 2  # type: ignore[arg-type]
    assert rows[0][1] == "b1"  # type: ignore[index]
    assert rows[0][4] == "labjack"  # type: ignore[index]
    assert abs(rows[0][3] - 12.4992) < 1e-3  # type: ignore[index]
    assert query(influxd, 'SHOW MEASUREMENTS ON "benchgui"', "benchgui")
