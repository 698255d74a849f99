"""An acquisition plan: the configured channels compiled into what one poll needs.

Which AINs to read (in one transaction), what to write into their settings registers, how to
scale and flag the volts (:class:`~.scaling.Scaler`), and what bench channels come out —
including ``battery.power.labjack`` when both battery voltage and current are measured. A plan
is immutable: reconfiguring builds a new one and swaps it in between two polls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchgui.config.schema import LabJackChannelSection
from benchgui.instruments.labjack.registers import AinSettings
from benchgui.instruments.labjack.scaling import Scaler
from benchgui.model import Channel, Sample

SOURCE = "labjack"


@dataclass(frozen=True)
class AcquisitionPlan:
    channels: tuple[LabJackChannelSection, ...]
    ains: tuple[int, ...]  # one per channel, in channel order
    names: tuple[str, ...]  # bench channel names, in channel order
    settings: tuple[AinSettings, ...]
    scaler: Scaler  # calibrated
    raw_scaler: Scaler  # transfer function only (what a calibration is computed against)
    power: tuple[int, int] | None  # (voltage column, current column) → battery.power.labjack

    @classmethod
    def build(cls, channels: Sequence[LabJackChannelSection]) -> AcquisitionPlan:
        chans = tuple(channels)
        quantities = [c.quantity for c in chans]
        power = None
        if "battery.voltage" in quantities and "battery.current" in quantities:
            power = (quantities.index("battery.voltage"), quantities.index("battery.current"))
        return cls(
            channels=chans,
            ains=tuple(c.ain for c in chans),
            names=tuple(f"{c.quantity}.{SOURCE}" for c in chans),
            settings=tuple(
                AinSettings(c.ain, c.range_v, c.negative_ch, c.resolution_index, c.settling_us) for c in chans
            ),
            scaler=Scaler.for_channels(chans),
            raw_scaler=Scaler.for_channels(chans, calibrated=False),
            power=power,
        )

    def bench_channels(self, rate_hz: float) -> list[Channel]:
        out = [Channel.of(c.quantity, SOURCE, c.unit, f"{c.label} (LabJack)", rate_hz) for c in self.channels]
        if self.power is not None:
            out.append(Channel.of("battery.power", SOURCE, "W", "Battery power (LabJack)", rate_hz))
        return out

    def scale(self, volts: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, uncalibrated values, flags) for one poll's volts."""
        v = np.asarray(volts, dtype=np.float64)
        return self.scaler.values(v), self.raw_scaler.values(v), self.scaler.flags(v)

    def samples(self, values: np.ndarray, flags: np.ndarray, t_ns: int) -> list[Sample]:
        vals = values.tolist()
        fl = flags.tolist()
        out = [Sample(n, t_ns, v, f) for n, v, f in zip(self.names, vals, fl, strict=True)]
        if self.power is not None:
            iv, ii = self.power
            out.append(Sample(f"battery.power.{SOURCE}", t_ns, vals[iv] * vals[ii], fl[iv] | fl[ii]))
        return out
