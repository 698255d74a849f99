from benchgui.model import Channel
from benchgui.recording.influx_schema import measurement_and_field


def test_conventional_channels_map_to_measurement_and_unit_field() -> None:
    assert measurement_and_field(Channel.of("battery.voltage", "labjack", "V")) == ("battery", "voltage_v")
    assert measurement_and_field(Channel.of("battery.current", "mppt", "A")) == ("battery", "current_a")
    assert measurement_and_field(Channel.of("soc", "spkf", "%")) == ("soc", "soc_pct")
    assert measurement_and_field(Channel.of("soc.sigma3", "spkf", "%")) == ("soc", "sigma3_pct")
    assert measurement_and_field(Channel.of("charger.state", "mppt", "")) == ("charger", "state")
    ch = Channel("load.current.setpoint", "A", "load", "load.current.setpoint")
    assert measurement_and_field(ch) == ("load", "current_setpoint_a")


def test_unknown_units_are_sanitised() -> None:
    assert measurement_and_field(Channel.of("battery.temperature", "mppt", "K/s")) == (
        "battery",
        "temperature_ks",
    )
