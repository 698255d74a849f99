"""The private influxd finds its ports even when another process takes one first."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from benchgui.testing import influxd

pytestmark = [pytest.mark.influxdb, pytest.mark.timeout(90)]


def test_free_ports_are_distinct() -> None:
    for _ in range(50):
        ports = influxd.free_ports(2)
        assert ports[0] != ports[1]


def test_a_port_taken_before_the_first_start_means_fresh_ports(tmp_path: Path) -> None:
    if not influxd.available():
        pytest.fail("influxd is not installed: run `scripts/system-deps.sh test` (Debian package influxdb)")
    server = influxd.InfluxServer(tmp_path / "influxd")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", server.http_port))  # someone took it in the meantime
        squatter.listen()
        taken = server.http_port
        try:
            server.start()
            assert server.http_port != taken
            assert server.query("SHOW DATABASES") is not None
            assert "address already in use" in server.log_path.read_text().lower()
        finally:
            server.stop()
