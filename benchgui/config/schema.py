"""The configuration file's sections as frozen dataclasses (stdlib only).

One dataclass per TOML table; units in key names (``poll_interval_s``, ``capacity_ah``). The
documented example with every key is ``resources/config.example.toml``; a test keeps the two in
step. Sections for instruments are ``None`` when the table is absent: that instrument is not on
the bench.
"""

from __future__ import annotations

import itertools
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


@dataclass(frozen=True)
class SafetySection:
    """Interlocks that switch the load off (see README, Safety)."""

    enabled: bool = True


@dataclass(frozen=True)
class SocSection:
    """The running SOC estimator."""

    enabled: bool = True


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
