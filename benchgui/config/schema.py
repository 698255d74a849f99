"""The configuration file's sections as frozen dataclasses (stdlib only).

One dataclass per TOML table; units in key names (``poll_interval_s``, ``capacity_ah``). The
documented example with every key is ``resources/config.example.toml``; a test keeps the two in
step. :class:`Config` is the whole file. The ``[instruments.*]`` sections live in
:mod:`benchgui.config.instrument_sections` and are re-exported here, so every section is
importable from this module.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

from benchgui.config.identity import check_bench_name
from benchgui.config.instrument_sections import (
    LABJACK_RANGES_V,
    CalibrationSection,
    EaSection,
    InstrumentsSection,
    LabJackChannelSection,
    LabJackSection,
    MpptSection,
    TransferSection,
    default_labjack_channels,
)
from benchgui.errors import ConfigError

__all__ = [
    "CUTOFF_V_BY_CHEMISTRY",
    "DEFAULT_COMPARISONS",
    "LABJACK_RANGES_V",
    "BatterySection",
    "BenchSection",
    "CalibrationSection",
    "Config",
    "CurrentTolerance",
    "DisplaySection",
    "EaSection",
    "InfluxSection",
    "InstrumentsSection",
    "LabJackChannelSection",
    "LabJackSection",
    "MpptSection",
    "RecordingSection",
    "SafetySection",
    "SimulationSection",
    "SocSection",
    "ToleranceSection",
    "TransferSection",
    "VerifySection",
    "VoltageTolerance",
    "default_labjack_channels",
]


@dataclass(frozen=True)
class BenchSection:
    """The bench itself. ``name`` is its identity in InfluxDB (the ``bench`` tag) and Grafana:
    letters, digits, ``.``, ``_``, ``-``; empty means the machine's host name."""

    name: str = ""
    operator: str = ""
    battery_id: str = ""

    def validate(self, key: str) -> None:
        check_bench_name(self.name, f"{key}.name")


@dataclass(frozen=True)
class SimulationSection:
    """The simulated bench (used with ``--demo`` or when no instrument is configured)."""

    speed: float = field(default=1.0, metadata={"min": 0.01, "max": 100000})
    seed: int = 1
    capacity_ah: float = field(default=7.2, metadata={"min": 0.1, "max": 1000})
    initial_soc_pct: float = field(default=80.0, metadata={"min": 0, "max": 100})
    chemistry: Literal["lead-acid-6s", "lifepo4-4s"] = "lead-acid-6s"
    sun: bool = True
    ambient_c: float = field(default=25.0, metadata={"min": -40, "max": 80})
    # the wire-level simulators take a real line's time and the device's turnaround (in real
    # time, whatever the speed); false answers at once — for tests where timing is irrelevant
    pacing: bool = True
    # the GUI on the simulated bench runs this program (a shipped example's name or a path) and
    # starts it again after it completes; "": the demo bench stays idle
    demo_program: str = "demo-day"


@dataclass(frozen=True)
class InfluxSection:
    """InfluxDB sink fed by the store-and-forward forwarder. Empty url: local store only.

    ``version = 2`` covers InfluxDB 2.x, Cloud and 3.x (org, bucket, token; influxdb-client);
    ``version = 1`` is InfluxDB 1.x's HTTP write API (database, retention policy, user,
    password). Environment variables ``BENCHGUI_INFLUX_URL``, ``_VERSION``, ``_ORG``, ``_BUCKET``,
    ``_TOKEN``, ``_DATABASE``, ``_USER``, ``_PASSWORD`` override these keys. A file holding
    ``token`` or ``password`` must be mode 0600.
    """

    url: str = ""
    version: int = field(default=2, metadata={"choices": (1, 2)})
    org: str = ""  # 2.x
    bucket: str = ""  # 2.x
    token: str = ""  # 2.x (secret: better in the environment or the secrets file)
    database: str = ""  # 1.x
    retention_policy: str = ""  # 1.x; empty: the database's default
    user: str = ""  # 1.x
    password: str = ""  # 1.x (secret)
    verify_tls: bool = True
    ca_file: str = ""  # PEM bundle for a private CA; empty: the system's
    gzip: bool = True
    timeout_s: float = field(default=10.0, metadata={"min": 0.5, "max": 300})
    batch_size: int = field(default=5000, metadata={"min": 1, "max": 100000})
    interval_s: float = field(default=1.0, metadata={"min": 0.05, "max": 3600})
    max_backoff_s: float = field(default=60.0, metadata={"min": 0.1, "max": 3600})


@dataclass(frozen=True)
class RecordingSection:
    """Local session store (always on)."""

    store_path: str = ""  # empty: <user data dir>/sessions.sqlite3
    flush_interval_s: float = field(default=0.25, metadata={"min": 0.01, "max": 1.0})
    auto_start: bool = True
    influx: InfluxSection = field(default_factory=InfluxSection)


# Discharge cut-off of a 12 V block when [battery] cutoff_voltage_v is not given:
# lead-acid 1.75 V/cell × 6, LiFePO4 2.5 V/cell × 4.
CUTOFF_V_BY_CHEMISTRY = {"lead-acid-6s": 10.5, "lifepo4-4s": 10.0}


@dataclass(frozen=True)
class BatterySection:
    """The battery under test: model file, cells, capacity and limits."""

    model: str = ""  # cell model TOML (resources/models/…); empty: by simulation.chemistry
    chemistry: Literal["", "lead-acid-6s", "lifepo4-4s"] = ""  # empty: simulation.chemistry
    capacity_ah: float = field(default=0.0, metadata={"min": 0, "max": 10000})  # 0: simulation.capacity_ah
    cutoff_voltage_v: float = field(default=0.0, metadata={"min": 0, "max": 100})  # 0: by chemistry


@dataclass(frozen=True)
class SafetySection:
    """Interlocks that switch the load off while its input is on (see README, Safety).

    ``enabled = false`` turns off only the measurement interlocks (bench debugging); emergency
    stop, exit, signals and core errors always switch the load off.
    """

    enabled: bool = True
    cutoff_voltage_v: float = field(default=0.0, metadata={"min": 0, "max": 100})  # 0: [battery] cut-off
    cutoff_debounce_s: float = field(default=2.0, metadata={"min": 0, "max": 60})
    # while a program with its own voltage end condition runs, the cut-off is judged this far
    # below the program's threshold: the program ends its step, the supervisor is the backstop
    cutoff_margin_v: float = field(default=0.2, metadata={"min": 0, "max": 5})
    # judge the battery voltage on the first of these that publishes (reference first)
    voltage_sources: list[str] = field(default_factory=lambda: ["labjack", "mppt"])
    max_discharge_ah: float = field(default=0.0, metadata={"min": 0, "max": 10000})  # 0: 1.2 × capacity
    max_discharge_time_s: float = field(default=86400.0, metadata={"min": 1, "max": 864000})
    max_current_a: float = field(default=20.0, metadata={"min": 0.1, "max": 1000})
    max_battery_temperature_c: float = field(default=50.0, metadata={"min": -40, "max": 150})
    max_internal_temperature_c: float = field(default=80.0, metadata={"min": -40, "max": 200})
    limit_debounce_s: float = field(default=1.0, metadata={"min": 0, "max": 60})  # current, temperature
    voltage_disagreement_mv: float = field(default=500.0, metadata={"min": 1, "max": 100000})
    disagreement_s: float = field(default=10.0, metadata={"min": 0, "max": 3600})
    sensor_timeout_s: float = field(default=5.0, metadata={"min": 0.1, "max": 3600})
    retry_interval_s: float = field(default=0.25, metadata={"min": 0.01, "max": 60})  # real time
    # the GUI asks before sending a setpoint above this fraction of its limit (1: never asks)
    confirm_fraction: float = field(default=0.8, metadata={"min": 0, "max": 1})

    def validate(self, key: str) -> None:
        if not self.voltage_sources:
            raise ConfigError(f"{key}.voltage_sources", "needs at least one source (e.g. labjack)")


@dataclass(frozen=True)
class SocSection:
    """The running SOC estimator (sigma-point Kalman filter on the battery model)."""

    enabled: bool = True
    voltage_channel: str = "battery.voltage.labjack"
    current_channel: str = "battery.current.labjack"
    temperature_channel: str = ""  # empty: 25 °C
    initial: Literal["auto", "config"] = "auto"  # auto: from the rest (its relaxation fitted) when resting
    initial_soc_pct: float = field(default=50.0, metadata={"min": 0, "max": 100})
    initial_sigma_pct: float = field(default=20.0, metadata={"min": 0.1, "max": 100})
    method: Literal["cdkf", "ukf"] = "cdkf"
    voltage_noise_v: float = field(default=0.005, metadata={"min": 0.0, "max": 10})  # sensor, per reading
    model_error_scale: float = field(default=1.0, metadata={"min": 0.01, "max": 100})
    current_sigma_a: float = field(default=0.02, metadata={"min": 0.0, "max": 100})
    soc_drift_pct_per_sqrt_h: float = field(default=0.5, metadata={"min": 0.0, "max": 100})
    max_current_age_s: float = field(default=10.0, metadata={"min": 0.1, "max": 3600})


@dataclass(frozen=True)
class VoltageTolerance:
    """Largest acceptable voltage errors of a device against its reference (0: not checked)."""

    offset_v: float = field(default=0.05, metadata={"min": 0.0, "max": 100})
    gain_error_pct: float = field(default=1.0, metadata={"min": 0.0, "max": 100})
    rms_v: float = field(default=0.05, metadata={"min": 0.0, "max": 100})
    max_abs_v: float = field(default=0.25, metadata={"min": 0.0, "max": 100})
    noise_v: float = field(default=0.03, metadata={"min": 0.0, "max": 100})


@dataclass(frozen=True)
class CurrentTolerance:
    """Largest acceptable current errors of a device against its reference (0: not checked)."""

    offset_a: float = field(default=0.05, metadata={"min": 0.0, "max": 100})
    gain_error_pct: float = field(default=2.0, metadata={"min": 0.0, "max": 100})
    rms_a: float = field(default=0.15, metadata={"min": 0.0, "max": 100})
    max_abs_a: float = field(default=0.5, metadata={"min": 0.0, "max": 100})
    noise_a: float = field(default=0.1, metadata={"min": 0.0, "max": 100})


@dataclass(frozen=True)
class ToleranceSection:
    voltage: VoltageTolerance = field(default_factory=VoltageTolerance)
    current: CurrentTolerance = field(default_factory=CurrentTolerance)


DEFAULT_COMPARISONS = (
    "battery.voltage.mppt vs battery.voltage.labjack",
    "battery.voltage.load vs battery.voltage.labjack",
    "battery.voltage.mppt vs battery.voltage.load",
    "battery.current.mppt vs battery.current.labjack",
)


@dataclass(frozen=True)
class VerifySection:
    """Sensor verification: which channels are compared, alignment, operating regions, tolerances.

    A comparison is ``"<device channel> vs <reference channel>"`` of the same quantity.
    """

    comparisons: list[str] = field(default_factory=lambda: list(DEFAULT_COMPARISONS))
    max_gap_s: float = field(default=2.5, metadata={"min": 0.0, "max": 3600})
    latency_s: dict[str, float] = field(default_factory=dict)  # per source id, e.g. {mppt = 0.3}
    region_current: str = "battery.current.labjack"  # the current that defines charge/rest/discharge
    zero_current_a: float = field(default=0.05, metadata={"min": 0.0, "max": 100})
    rest_min_s: float = field(default=60.0, metadata={"min": 0.0, "max": 86400})
    current_bins_a: list[float] = field(
        default_factory=lambda: [-10.0, -5.0, -2.0, -0.5, 0.5, 2.0, 5.0, 10.0]
    )
    transient_window_s: float = field(default=5.0, metadata={"min": 0.0, "max": 3600})
    transient_threshold_a: float = field(default=0.5, metadata={"min": 0.0, "max": 100})
    min_voltage_v: float = field(default=1.0, metadata={"min": 0.0, "max": 1000})
    min_pairs: int = field(default=10, metadata={"min": 3, "max": 1_000_000})
    confidence: float = field(default=0.95, metadata={"min": 0.5, "max": 0.9999})
    live_interval_s: float = field(default=5.0, metadata={"min": 0.2, "max": 3600})
    live_max_points: int = field(default=2_000_000, metadata={"min": 1000, "max": 100_000_000})
    # the live view covers the last this many seconds of bench time (its memory and CPU follow)
    live_window_s: float = field(default=7200.0, metadata={"min": 60.0, "max": 30 * 86400.0})
    tolerance: ToleranceSection = field(default_factory=ToleranceSection)

    def parsed_comparisons(self, key: str = "verify") -> list[tuple[str, str]]:
        """The comparisons as (device channel, reference channel) pairs."""
        out = []
        for i, text in enumerate(self.comparisons):
            parts = text.split(" vs ")
            if len(parts) != 2 or not all(p.strip() for p in parts):
                raise ConfigError(
                    f"{key}.comparisons[{i}]",
                    f"must be '<device channel> vs <reference channel>', got {text!r}",
                )
            dev, ref = parts[0].strip(), parts[1].strip()
            if dev.rsplit(".", 1)[0] != ref.rsplit(".", 1)[0] or "." not in dev:
                raise ConfigError(
                    f"{key}.comparisons[{i}]", f"{dev} and {ref} are not the same quantity from two sources"
                )
            if dev == ref:
                raise ConfigError(f"{key}.comparisons[{i}]", f"compares {dev} with itself")
            out.append((dev, ref))
        return out

    def validate(self, key: str) -> None:
        self.parsed_comparisons(key)
        bins = self.current_bins_a
        if any(b >= c for b, c in itertools.pairwise(bins)):
            raise ConfigError(f"{key}.current_bins_a", "must be strictly increasing")
        for src, lat in self.latency_s.items():
            if not -60.0 <= lat <= 60.0:
                raise ConfigError(f"{key}.latency_s.{src}", f"must be within ±60 s, got {lat!r}")


@dataclass(frozen=True)
class DisplaySection:
    window_s: int = field(default=300, metadata={"choices": (60, 300, 900, 3600)})
    buffer_s: float = field(default=3900.0, metadata={"min": 60, "max": 86400})
    redraw_hz: float = field(default=20.0, metadata={"min": 1, "max": 60})  # the cap: frames only on change
    low_power: bool = False  # at most 2 updates a second (the Pi kiosk's default; --low-power)


@dataclass(frozen=True)
class Config:
    bench: BenchSection = field(default_factory=BenchSection)
    simulation: SimulationSection = field(default_factory=SimulationSection)
    instruments: InstrumentsSection = field(default_factory=InstrumentsSection)
    recording: RecordingSection = field(default_factory=RecordingSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    battery: BatterySection = field(default_factory=BatterySection)
    safety: SafetySection = field(default_factory=SafetySection)
    soc: SocSection = field(default_factory=SocSection)
    verify: VerifySection = field(default_factory=VerifySection)

    def validate(self, key: str) -> None:
        if self.display.buffer_s < self.display.window_s:
            raise ConfigError("display.buffer_s", "must be at least display.window_s")
