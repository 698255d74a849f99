"""The tests' InfluxDB server: :mod:`benchgui.testing.influxd` (the soak uses it too)."""

from benchgui.testing.influxd import INFLUXD, InfluxServer, available, free_port

__all__ = ["INFLUXD", "InfluxServer", "available", "free_port"]
