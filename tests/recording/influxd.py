"""The tests' InfluxDB server: :mod:`benchgui.recording.influxd` (the soak uses it too)."""

from benchgui.recording.influxd import INFLUXD, InfluxServer, available, free_port

__all__ = ["INFLUXD", "InfluxServer", "available", "free_port"]
