"""Bench identity: two benches recording into one InfluxDB are told apart everywhere.

Two real ``benchgui record`` processes with different ``[bench] name`` forward to one real
influxd; ``sessions list``, InfluxQL and every query of the fleet dashboard (run against the
server with Grafana's variables filled in) show both benches, each with its own data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchgui.config.identity import bench_name, check_bench_name, machine_bench_name, safe_bench_name
from benchgui.errors import ConfigError
from tests.helpers import run_cli
from tests.recording.influxd import InfluxServer

FLEET = Path(__file__).resolve().parents[2] / "ansible/roles/grafana/files/benchgui-fleet.json"
BENCH_DASHBOARD = FLEET.with_name("benchgui-dashboard.json")


def grafana(query: str, bench: str = ".*") -> str:
    """A dashboard query as Grafana sends it (variables and macros filled in)."""
    return (
        query.replace("$timeFilter", "time > now() - 1d AND time < now() + 1d")
        .replace("$__interval", "10s")
        .replace("$bench", bench)
        .replace("$session", ".*")
    )


@pytest.mark.influxdb
@pytest.mark.slow
def test_two_benches_into_one_server(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = InfluxServer(tmp_path_factory.mktemp("fleet"))
    server.start()
    try:
        server.create_db("lab")
        env = {
            "BENCHGUI_INFLUX_URL": server.url,
            "BENCHGUI_INFLUX_VERSION": "1",
            "BENCHGUI_INFLUX_DATABASE": "lab",
        }
        stores = {}
        for name in ("cell-lab-1", "cell-lab-2"):
            config = tmp_path / f"{name}.toml"
            config.write_text(f'[bench]\nname = "{name}"\n')
            store = tmp_path / f"{name}.sqlite3"
            base = ["--config", str(config), "--store", str(store)]
            r = run_cli(
                [*base, "record", "--headless", "--demo", "--duration", "3", "--speed", "5"],
                env=env,
                timeout=120,
            )
            assert r.returncode == 0, r.stderr
            r = run_cli([*base, "forward", "--once"], env=env)
            assert r.returncode == 0, r.stderr
            listed = run_cli([*base, "sessions", "list"]).stdout
            assert name in listed
            (session,) = json.loads(run_cli([*base, "sessions", "list", "--json"]).stdout)
            assert session["bench"] == name
            stores[name] = session["id"]

        (series,) = server.query('SHOW TAG VALUES FROM "battery" WITH KEY = "bench"', "lab")
        assert sorted(v[1] for v in series["values"]) == ["cell-lab-1", "cell-lab-2"]
        for name, sid in stores.items():  # each bench's points carry its own session, not the other's
            sessions = server.query(
                f'SHOW TAG VALUES FROM "battery" WITH KEY = "session" WHERE "bench" = \'{name}\'', "lab"
            )
            assert [v[1] for v in sessions[0]["values"]] == [sid]

        fleet = json.loads(FLEET.read_text())
        benches_seen: dict[str, set[str]] = {}
        for panel in fleet["panels"]:
            for t in panel["targets"]:
                rows = server.query(grafana(t["query"]), "lab")  # raises on an InfluxQL error
                benches_seen[f"{panel['title']} {t['refId']}"] = {
                    s.get("tags", {}).get("bench", "") for s in rows
                }
        both = {"cell-lab-1", "cell-lab-2"}
        # the demo bench has these on both benches within seconds; programs and trips it has not
        assert benches_seen["Last sample per bench and instrument A"] == both
        assert benches_seen["Battery and SOC now A"] == both
        assert benches_seen["Battery and SOC now B"] == both
        assert benches_seen["Session, program and last safety trip A"] == both
        assert benches_seen["Battery voltage (reference) per bench A"] == both
        assert benches_seen["Instrument connection (last change) A"] == both
        # choosing one bench shows only that bench
        one = server.query(grafana(fleet["panels"][0]["targets"][0]["query"], "cell-lab-2"), "lab")
        assert {s["tags"]["bench"] for s in one} == {"cell-lab-2"}
        # and the one-bench dashboard's queries run with a bench chosen
        for panel in json.loads(BENCH_DASHBOARD.read_text())["panels"]:
            for t in panel["targets"]:
                server.query(grafana(t["query"], "cell-lab-1"), "lab")
    finally:
        server.stop()


def test_bench_names_are_safe_tag_values() -> None:
    check_bench_name("")  # empty: the machine's name
    check_bench_name("cell-lab_1.b")
    for bad in ("battery bench", "-x", "a" * 65, "a/b", 'x"', "x\n", "é"):
        with pytest.raises(ConfigError, match=r"bench\.name"):
            check_bench_name(bad)
    assert safe_bench_name("Pi Bench #3") == "Pi-Bench-3"
    assert safe_bench_name("---") == "bench"
    assert bench_name("") == machine_bench_name()
    check_bench_name(machine_bench_name())
    assert bench_name("cell-lab-1") == "cell-lab-1"


def test_bad_bench_name_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[bench]\nname = "battery bench"\n')
    r = run_cli(["--config", str(config), "sessions", "list", "--store", str(tmp_path / "s.sqlite3")])
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "bench.name" in r.stderr


def test_import_names_the_bench(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text('Time,"battery.voltage.labjack {unit=""V""}"\n1622238915000,12.5\n1622238916000,12.4\n')
    store = tmp_path / "s.sqlite3"
    r = run_cli(["--store", str(store), "import", str(csv), "--bench", "old-rig"])
    assert r.returncode == 0, r.stderr
    lp = run_cli(["--store", str(store), "export", "latest", "--format", "lineprotocol"]).stdout
    assert ",bench=old-rig," in lp
    bad = run_cli(["--store", str(store), "import", str(csv), "--bench", "old rig"])
    assert bad.returncode == 2
    assert "--bench" in bad.stderr
