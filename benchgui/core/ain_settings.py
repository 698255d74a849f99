"""Editing the reference DAQ's analog inputs while the bench runs — the
``bench.services.ain_settings`` service behind the GUI's LabJack AIN panel.

The panel edits plain ``[[instruments.labjack.channels]]`` tables; this service turns them into
validated channel sections (the configuration's own rules and messages, naming the key), hands
them to the :class:`~benchgui.core.controls.AinConfigurable` (the T7 reconfigures between two
polls and records a ``labjack.configured`` event; a refusal keeps the old settings), and then
saves them into ``[instruments.labjack]`` of the configuration file so the next start uses them
too. Applying comes first, as for the safety limits: what the operator set is in force even if
the file cannot be written; the save error is reported, not hidden.

It also holds the two-point calibration: a point is the channel's uncalibrated mean reading
paired with a reference value, and two points give the calibration
(:func:`benchgui.instruments.labjack.scaling.two_point`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgui.config.schema import CalibrationSection, LabJackChannelSection
from benchgui.config.validate import from_dict, to_dict
from benchgui.config.writer import ConfigFile
from benchgui.core.controls import AinConfigurable, Reading
from benchgui.errors import BenchError
from benchgui.instruments.labjack.registers import OVER_RANGE_FRACTION
from benchgui.instruments.labjack.scaling import two_point
from benchgui.model import InstrumentStatus, SampleFlag

#: where the channels live in the configuration file
TABLE = "instruments.labjack"

#: a calibration point: (uncalibrated reading, reference value)
Point = tuple[float, float]


@dataclass(frozen=True)
class AinApplied:
    """What :meth:`AinSettings.apply_and_save` achieved."""

    #: the T7 took the channels now (False: not connected, applied at the next connect)
    applied: bool
    #: the configuration file written, if it was
    saved_to: Path | None = None
    #: why saving failed (the channels are in force anyway); None when saved or no file in use
    save_error: BenchError | None = None


class AinSettings:
    def __init__(self, ain: AinConfigurable, config_file: ConfigFile | None) -> None:
        self.ain = ain
        self.config_file = config_file

    # -- what is in force ------------------------------------------------------------------------
    @property
    def channels(self) -> tuple[LabJackChannelSection, ...]:
        """The channels the DAQ acquires now."""
        return self.ain.channel_config

    def working_copy(self) -> list[dict[str, Any]]:
        """The channels as plain tables, for an editor to change."""
        return [to_dict(c) for c in self.channels]

    @property
    def status(self) -> InstrumentStatus:
        return self.ain.status

    def latest(self, quantity: str) -> Reading | None:
        """The latest reading of one channel (no I/O: the source keeps it)."""
        return self.ain.latest(quantity)

    def clips(self, quantity: str, range_v: float) -> bool:
        """The channel's live input (not clipped now) would be flagged over range at ``range_v``."""
        r = self.latest(quantity)
        if r is None or r.flags & SampleFlag.OVER_RANGE:
            return False  # no reading, or clipped already: the true input is unknown
        return abs(r.volts) >= (1.0 - OVER_RANGE_FRACTION) * range_v

    def would_clip(self, channels: Sequence[LabJackChannelSection]) -> list[str]:
        """A sentence for every channel whose range would change to one below its live input:
        applied, its readings would be flagged over range (clipped) and judged by nothing."""
        applied = {c.quantity: c for c in self.channels}
        out: list[str] = []
        for ch in channels:
            old, r = applied.get(ch.quantity), self.latest(ch.quantity)
            if old is None or r is None or ch.range_v == old.range_v or old.ain != ch.ain:
                continue
            if self.clips(ch.quantity, ch.range_v):
                out.append(
                    f"{ch.label} (AIN{ch.ain}) reads {r.volts:+.3f} V at the input, beyond the "
                    f"±{ch.range_v:g} V range: its readings would be clipped, flagged over range "
                    "and not believed by the safety supervisor, programs, verification or SOC"
                )
        return out

    # -- changing it ---------------------------------------------------------------------------
    def validate(self, tables: Sequence[Mapping[str, Any]]) -> list[LabJackChannelSection]:
        """The channel sections, or ConfigError/ValueOutOfRange/ValueError naming the key."""
        channels = [
            from_dict(LabJackChannelSection, dict(t), f"{TABLE}.channels[{i}]") for i, t in enumerate(tables)
        ]
        self.ain.validate_channels(channels)
        return channels

    async def apply_and_save(self, channels: Sequence[LabJackChannelSection]) -> AinApplied:
        """Hand the channels to the DAQ, then write them into ``[instruments.labjack]``.

        Raises BenchError (DeviceRefused, ConfigError…) when the DAQ refuses: nothing changed
        and nothing is saved.
        """
        applied = await self.ain.apply_channels(channels)
        if self.config_file is None:
            return AinApplied(applied)
        try:
            path = await self.config_file.update_table_async(
                TABLE, {"channels": [to_dict(c) for c in channels]}
            )
        except BenchError as exc:
            return AinApplied(applied, save_error=exc)
        return AinApplied(applied, saved_to=path)

    # -- two-point calibration -----------------------------------------------------------------
    def capture(self, quantity: str, reference: float) -> Point | None:
        """A calibration point from the channel's recent uncalibrated readings (None: no reading yet)."""
        raw = self.ain.uncalibrated_mean(quantity)
        return None if raw is None else (raw, reference)

    @staticmethod
    def calibration(p1: Point, p2: Point) -> dict[str, Any]:
        """The ``calibration`` table mapping the two points' readings onto their references.

        Raises ValueOutOfRange when the readings are too close or the gain is implausible.
        """
        cal: CalibrationSection = two_point(p1[0], p1[1], p2[0], p2[1])
        table: dict[str, Any] = to_dict(cal)
        return table
