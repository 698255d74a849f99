"""What the interlocks judge against: the limits, the end reasons, a violation, a debounce.

Split from :mod:`benchgui.core.interlocks` (the state machine that applies them) because many
modules need the words and the settings without the machine: programs, setpoint checks, the
safety banner, the CLI's exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchgui.clock import s_to_ns
from benchgui.config.schema import CUTOFF_V_BY_CHEMISTRY, Config

# end reasons a trip can carry (the run-program JSON uses the same words)
CUTOFF_VOLTAGE = "cutoff_voltage"
AH_LIMIT = "ah_limit"
TIME_LIMIT = "time_limit"
TEMPERATURE = "temperature"
OVERCURRENT = "overcurrent"
SENSOR_DISAGREEMENT = "sensor_disagreement"
SENSOR_LOST = "sensor_lost"
OPERATOR_ABORT = "operator_abort"
SIGNAL = "signal"
ERROR = "error"
EXIT = "exit"


def battery_chemistry(cfg: Config) -> str:
    return cfg.battery.chemistry or cfg.simulation.chemistry


def battery_capacity_ah(cfg: Config) -> float:
    return cfg.battery.capacity_ah or cfg.simulation.capacity_ah


def battery_cutoff_v(cfg: Config) -> float:
    """The battery's discharge cut-off: ``[battery] cutoff_voltage_v`` or the chemistry's."""
    return cfg.battery.cutoff_voltage_v or CUTOFF_V_BY_CHEMISTRY.get(battery_chemistry(cfg), 10.5)


@dataclass(frozen=True)
class Limits:
    """The effective interlock settings (config defaults resolved)."""

    cutoff_voltage_v: float = 10.5
    cutoff_debounce_s: float = 2.0
    cutoff_margin_v: float = 0.2  # below a running program's own voltage condition
    voltage_sources: tuple[str, ...] = ("labjack", "mppt")
    max_discharge_ah: float = 8.64
    max_discharge_time_s: float = 86400.0
    max_current_a: float = 20.0
    max_battery_temperature_c: float = 50.0
    max_internal_temperature_c: float = 80.0
    limit_debounce_s: float = 1.0
    voltage_disagreement_v: float = 0.5
    disagreement_s: float = 10.0
    sensor_timeout_s: float = 5.0
    retry_interval_s: float = 0.25
    confirm_fraction: float = 0.8  # the GUI asks before a setpoint above this fraction of its limit
    measurements: bool = True  # false: only E-stop, exit, signals and errors

    @classmethod
    def from_config(cls, cfg: Config) -> Limits:
        s = cfg.safety
        return cls(
            cutoff_voltage_v=s.cutoff_voltage_v or battery_cutoff_v(cfg),
            cutoff_debounce_s=s.cutoff_debounce_s,
            cutoff_margin_v=s.cutoff_margin_v,
            voltage_sources=tuple(s.voltage_sources),
            max_discharge_ah=s.max_discharge_ah or 1.2 * battery_capacity_ah(cfg),
            max_discharge_time_s=s.max_discharge_time_s,
            max_current_a=s.max_current_a,
            max_battery_temperature_c=s.max_battery_temperature_c,
            max_internal_temperature_c=s.max_internal_temperature_c,
            limit_debounce_s=s.limit_debounce_s,
            voltage_disagreement_v=s.voltage_disagreement_mv / 1000.0,
            disagreement_s=s.disagreement_s,
            sensor_timeout_s=s.sensor_timeout_s,
            retry_interval_s=s.retry_interval_s,
            confirm_fraction=s.confirm_fraction,
            measurements=s.enabled,
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Violation:
    """A limit that was crossed: the reason word, a sentence for the operator, the numbers."""

    reason: str
    text: str
    values: dict[str, Any] = field(default_factory=dict)


class Debounce:
    """True once a condition has held continuously for ``hold_s`` of sample time."""

    __slots__ = ("hold_ns", "since")

    def __init__(self, hold_s: float) -> None:
        self.hold_ns = s_to_ns(hold_s)
        self.since: int | None = None

    def update(self, condition: bool, t_ns: int) -> bool:
        if not condition:
            self.since = None
            return False
        if self.since is None:
            self.since = t_ns
        return t_ns - self.since >= self.hold_ns

    def reset(self) -> None:
        self.since = None
