"""The lab server's downsampling, rendered with Ansible's own templating.

No InfluxDB 2 server package exists for Debian, so the task's Flux is checked for what it must
do — read the raw bucket's sample measurements, leave events and quality flags alone, write
1-minute means into the long-lived bucket that Grafana may read — rather than run. (The 1.x
counterpart, a continuous query, runs against a real influxd in test_influxdb_role.py.)
"""

from __future__ import annotations

from benchgui.recording.influx_schema import ANNOTATIONS_MEASUREMENT, EVENTS_MEASUREMENT, SESSIONS_MEASUREMENT
from tests.ansible.render import evaluate


def test_downsampling_task_reads_raw_samples_and_writes_minute_means() -> None:
    flux = str(evaluate("{{ influx_server_downsample_flux }}", influx_server_org="bench"))
    assert 'option task = {name: "benchgui downsample 1m", every: 1h, offset: 5m}' in flux
    assert 'from(bucket: "benchgui")' in flux
    assert "range(start: -task.every)" in flux
    assert "aggregateWindow(every: 1m, fn: mean, createEmpty: false)" in flux
    assert 'to(bucket: "benchgui_1m", org: "bench")' in flux
    assert r"r._field !~ /_flags$/" in flux
    measured = flux.split("r._measurement =~ /^(")[1].split(")$/")[0].split("|")
    assert "battery" in measured
    assert "soc" in measured
    for text_only in (EVENTS_MEASUREMENT, ANNOTATIONS_MEASUREMENT, SESSIONS_MEASUREMENT):
        assert text_only not in measured


def test_the_long_lived_bucket_exists_and_grafana_may_read_it() -> None:
    buckets = evaluate("{{ influx_server_buckets }}")
    retention = {b["name"]: int(b["retention_s"]) for b in buckets}
    assert retention["benchgui_1m"] > retention["benchgui"]
    users = {u["name"]: u for u in evaluate("{{ influx_server_users }}")}
    assert "benchgui_1m" in users["grafana"]["read"]
    assert "benchgui_1m" not in users["bench"]["write"]  # only the task writes there
