"""The Grafana dashboard shipped in ansible/ queries exactly what benchgui writes to InfluxDB.

The expected (measurement, field) pairs come from benchgui's own mapping
(benchgui.recording.influx_schema.measurement_and_field) applied to the channels benchgui has, so
renaming a channel or a unit suffix in the app fails this test until the dashboard follows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from benchgui.model import Channel
from benchgui.recording.influx_schema import (
    ANNOTATIONS_MEASUREMENT,
    EVENTS_MEASUREMENT,
    TAG_KEYS,
    measurement_and_field,
)

DASHBOARD = Path(__file__).resolve().parents[2] / "ansible/roles/grafana/files/benchgui-dashboard.json"
DATASOURCE_UID = "benchgui-influx"  # provisioned by roles/grafana/templates/datasources.yaml.j2

CHANNELS = [
    *(
        Channel.of(f"battery.{q}", src, unit)
        for q, unit in (("voltage", "V"), ("current", "A"), ("power", "W"))
        for src in ("labjack", "mppt", "load")
    ),
    Channel("load.current.setpoint", "A", "load", "load.current.setpoint"),
    Channel.of("soc", "mppt", "%"),
    Channel.of("soc", "spkf", "%"),
    Channel("soc.spkf.sigma3", "%", "spkf", "soc.sigma3"),
    Channel.of("charger.state", "mppt", ""),
]

FROM = re.compile(r'\bFROM\s+"(\w+)"', re.I)
AGG_FIELD = re.compile(r'\b(?:mean|last|max|min|median|first|sum|count)\("(\w+)"\)', re.I)
SELECT_LIST = re.compile(r"^\s*SELECT\s+(.*?)\s+FROM\b", re.I | re.S)
TAG_FILTER = re.compile(r'"(\w+)"\s*(?:=~|!~|=|<>|!=)\s*(?:/|\')')
TAG_VALUE = re.compile(r'"(\w+)"\s*=\s*\'(\w+)\'')
GROUP_TAGS = re.compile(r"GROUP BY\s+(.*?)(?:\s+fill\(|$)", re.I)


def expected_pairs() -> set[tuple[str, str]]:
    return {measurement_and_field(ch) for ch in CHANNELS}


def sources_of(measurement: str) -> set[str]:
    return {ch.source for ch in CHANNELS if measurement_and_field(ch)[0] == measurement}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panel_queries(dash: dict[str, Any]) -> list[str]:
    return [t["query"] for p in dash["panels"] for t in p.get("targets", [])]


def fields_of(query: str) -> set[str]:
    fields = set(AGG_FIELD.findall(query))
    select = SELECT_LIST.match(query)
    if select and not fields:
        fields = set(re.findall(r'"(\w+)"', select.group(1)))
    return fields


def tags_of(query: str) -> set[str]:
    tags = set(TAG_FILTER.findall(query))
    for group in GROUP_TAGS.findall(query):
        tags |= set(re.findall(r'"(\w+)"', group))
    return tags


def test_every_panel_query_names_a_measurement_and_field_benchgui_writes() -> None:
    expected = expected_pairs()
    seen: set[tuple[str, str]] = set()
    queries = panel_queries(dashboard())
    assert queries
    for query in queries:
        (measurement,) = FROM.findall(query)
        fields = fields_of(query)
        assert fields, query
        for f in fields:
            assert (measurement, f) in expected, (
                f"{query!r} reads {measurement}.{f}, which benchgui never writes"
            )
            seen.add((measurement, f))
        for tag in tags_of(query):
            assert tag in TAG_KEYS, f"{query!r} uses tag {tag!r}; benchgui's tags are {TAG_KEYS}"
        for tag, value in TAG_VALUE.findall(query):
            assert tag != "source" or value in sources_of(measurement), (
                f"no source {value!r} in {measurement}"
            )
    missing = expected - seen
    assert not missing, f"benchgui writes these but the dashboard shows none of them: {sorted(missing)}"


def test_annotations_read_benchgui_annotations_and_events() -> None:
    annotations = dashboard()["annotations"]["list"]
    measurements = {FROM.findall(a["query"])[0] for a in annotations}
    assert measurements == {ANNOTATIONS_MEASUREMENT, EVENTS_MEASUREMENT}
    for a in annotations:
        assert "text" in fields_of(a["query"])
        assert a["textColumn"] == "text"
        assert tags_of(a["query"]) <= set(TAG_KEYS)


def test_soc_panel_draws_the_sigma3_band() -> None:
    (soc,) = [p for p in dashboard()["panels"] if p["title"].startswith("State of charge")]
    band = {t["alias"] for t in soc["targets"] if "sigma3_pct" in t["query"]}
    assert len(band) == 2
    fill = [
        prop["value"]
        for o in soc["fieldConfig"]["overrides"]
        for prop in o["properties"]
        if prop["id"] == "custom.fillBelowTo"
    ]
    assert len(fill) == 1
    assert fill[0] in band


def test_every_query_uses_the_provisioned_datasource_and_the_bench_and_session_variables() -> None:
    dash = dashboard()
    assert dash["uid"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert list(variables) == ["bench", "session"]  # sessions listed are the chosen bench's
    assert 'WITH KEY = "bench"' in variables["bench"]["query"]
    assert "/^$bench$/" in variables["session"]["query"]
    for v in variables.values():
        assert FROM.findall(v["query"]) == ["battery"]
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == DATASOURCE_UID
        for t in p["targets"]:
            assert t["datasource"]["uid"] == DATASOURCE_UID
            assert "$timeFilter" in t["query"]
            assert "/^$session$/" in t["query"]
            assert "/^$bench$/" in t["query"]
    for a in dash["annotations"]["list"]:
        assert "/^$bench$/" in a["query"]


FLEET = DASHBOARD.with_name("benchgui-fleet.json")
INSTRUMENTS = ("labjack", "mppt", "load")  # the sources' ids: EaSource.id is "load"


def test_fleet_overview_reads_only_what_benchgui_writes() -> None:
    """Every panel of the fleet dashboard filters by bench and names fields and tags benchgui writes."""
    fleet = json.loads(FLEET.read_text())
    assert [v["name"] for v in fleet["templating"]["list"]] == ["bench"]
    event_fields = {"text"} | {f"{i}_connected" for i in INSTRUMENTS}
    queries = panel_queries(fleet)
    assert len(queries) >= 8
    for query in queries:
        (measurement,) = FROM.findall(query)
        assert "/^$bench$/" in query
        assert "$timeFilter" in query
        for f in fields_of(query):
            if measurement == EVENTS_MEASUREMENT:
                assert f in event_fields, query
            else:
                assert (measurement, f) in expected_pairs(), query
        assert tags_of(query) <= {*TAG_KEYS, "kind"}, query
    for p in fleet["panels"]:
        assert p["datasource"]["uid"] == DATASOURCE_UID
        for t in p["targets"]:
            group = GROUP_TAGS.search(t["query"])
            assert group is not None, p["title"]
            assert '"bench"' in group.group(1), p["title"]  # one row or line per bench


def test_the_checks_catch_a_field_benchgui_does_not_write() -> None:
    """The parsing above really looks at the fields: a misspelt one is found."""
    query = 'SELECT mean("voltage") FROM "battery" WHERE $timeFilter GROUP BY time($__interval), "source"'
    (measurement,) = FROM.findall(query)
    assert {(measurement, f) for f in fields_of(query)} - expected_pairs() == {("battery", "voltage")}
    assert tags_of('SELECT last("state") FROM "charger" WHERE "instrument" = \'mppt\'') == {"instrument"}
