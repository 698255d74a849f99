"""The configuration file's sections as frozen dataclasses (stdlib only).

One dataclass per TOML table; units in key names (``poll_interval_s``, ``capacity_ah``). The
documented example with every key is ``resources/config.example.toml``; a test keeps the two in
step. Sections for instruments are ``None`` when the table is absent: that instrument is not on
the bench.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from benchgui.errors import ConfigError


@dataclass(frozen=True)
class BenchSection:
    name: str = "battery bench"
    operator: str = ""
    battery_id: str = ""


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


@dataclass(frozen=True)
class EaSection:
    """EA EL 3000 electronic load on RS232 (IF-R1) or USB (IF-U1)."""

    enabled: bool = True
    port: str = "/dev/ea-load"
    baud: int = field(default=57600, metadata={"choices": (9600, 19200, 38400, 57600, 115200)})
    parity: Literal["O", "E", "N"] = "O"
    node: int = field(default=0, metadata={"min": 0, "max": 30})
    poll_interval_s: float = field(default=0.5, metadata={"min": 0.003, "max": 60})
    timeout_s: float = field(default=0.5, metadata={"min": 0.01, "max": 10})
    retries: int = field(default=2, metadata={"min": 0, "max": 10})
    profile: str = "el3160-60"


@dataclass(frozen=True)
class MpptSection:
    """Libre Solar MPPT 1210 HUS speaking ThingSet text mode."""

    enabled: bool = True
    port: str = "/dev/mppt"
    baud: int = field(default=115200, metadata={"choices": (9600, 19200, 38400, 57600, 115200)})
    publication_period_s: float = field(default=1.0, metadata={"min": 0.001, "max": 3600})
    timeout_s: float = field(default=1.0, metadata={"min": 0.01, "max": 10})


@dataclass(frozen=True)
class LabJackSection:
    """LabJack T7 reference DAQ."""

    enabled: bool = True
    backend: Literal["modbus", "ljm"] = "modbus"
    address: str = "192.168.1.207"
    port: int = field(default=502, metadata={"min": 1, "max": 65535})
    identifier: str = "ANY"  # LJM: serial number, IP or name
    connection: Literal["USB", "ETHERNET", "WIFI", "ANY", "TCP"] = "USB"  # LJM connection type
    poll_interval_s: float = field(default=0.1, metadata={"min": 0.01, "max": 60})
    timeout_s: float = field(default=1.0, metadata={"min": 0.01, "max": 10})


@dataclass(frozen=True)
class InstrumentsSection:
    ea: EaSection | None = None
    mppt: MpptSection | None = None
    labjack: LabJackSection | None = None

    def any_enabled(self) -> bool:
        return any(s is not None and s.enabled for s in (self.ea, self.mppt, self.labjack))


@dataclass(frozen=True)
class InfluxSection:
    """InfluxDB sink (issue: recording). Empty url: no InfluxDB, local store only."""

    url: str = ""


@dataclass(frozen=True)
class RecordingSection:
    """Local session store (always on)."""

    store_path: str = ""  # empty: <user data dir>/sessions.sqlite3
    flush_interval_s: float = field(default=0.25, metadata={"min": 0.01, "max": 1.0})
    auto_start: bool = True
    influx: InfluxSection = field(default_factory=InfluxSection)


@dataclass(frozen=True)
class BatterySection:
    """The battery under test: model file, cells, capacity and limits."""

    model: str = ""  # cell model TOML (resources/models/…); empty: by simulation.chemistry
    capacity_ah: float = field(default=0.0, metadata={"min": 0.0, "max": 100000})  # 0: the model's


@dataclass(frozen=True)
class SafetySection:
    """Interlocks that switch the load off (see README, Safety)."""

    enabled: bool = True


@dataclass(frozen=True)
class SocSection:
    """The running SOC estimator (sigma-point Kalman filter on the battery model)."""

    enabled: bool = True
    voltage_channel: str = "battery.voltage.labjack"
    current_channel: str = "battery.current.labjack"
    temperature_channel: str = ""  # empty: 25 °C
    initial: Literal["auto", "config"] = "auto"  # auto: from the rested voltage when resting
    initial_soc_pct: float = field(default=50.0, metadata={"min": 0, "max": 100})
    initial_sigma_pct: float = field(default=20.0, metadata={"min": 0.1, "max": 100})
    method: Literal["cdkf", "ukf"] = "cdkf"
    voltage_noise_v: float = field(default=0.005, metadata={"min": 0.0, "max": 10})  # sensor, per reading
    model_error_scale: float = field(default=1.0, metadata={"min": 0.01, "max": 100})
    current_sigma_a: float = field(default=0.02, metadata={"min": 0.0, "max": 100})
    soc_drift_pct_per_sqrt_h: float = field(default=0.5, metadata={"min": 0.0, "max": 100})
    max_current_age_s: float = field(default=10.0, metadata={"min": 0.1, "max": 3600})


@dataclass(frozen=True)
class VerifySection:
    """Sensor verification: alignment and tolerances."""

    max_gap_s: float = field(default=5.0, metadata={"min": 0.0, "max": 3600})


@dataclass(frozen=True)
class DisplaySection:
    window_s: int = field(default=300, metadata={"choices": (60, 300, 900, 3600)})
    buffer_s: float = field(default=3900.0, metadata={"min": 60, "max": 86400})
    redraw_hz: float = field(default=20.0, metadata={"min": 1, "max": 60})


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
