"""What the bench core needs from an instrument, whatever the device and however it is reached.

A :class:`Source` acquires samples until it is cancelled, reconnecting by itself; it reports
samples, status changes and events to a :class:`SampleSink` (the bench). Commands go through
typed control interfaces, which is all the core and the widgets (via :mod:`benchgui.core.controls`)
may use of an instrument:

- :class:`LoadControl` — an electronic load (programs, the safety supervisor, the load panel);
- :class:`ChargerControl` — the charge controller (the charger panel, charger interlocks);
- :class:`AinConfigurable` — a reference DAQ whose analog inputs are configured live (the AIN panel).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from benchgui.clock import Clock
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample
from benchgui.signals import Signal

if TYPE_CHECKING:  # the state records each device family publishes to its panel
    from benchgui.config.schema import LabJackChannelSection, LabJackSection
    from benchgui.instruments.ea.state import LoadState
    from benchgui.instruments.labjack.source import Reading
    from benchgui.instruments.mppt.source import MpptSnapshot


class SampleSink(Protocol):
    """Where a source delivers what it acquires (implemented by the core's Bench)."""

    def publish(self, samples: Sequence[Sample]) -> None: ...

    def set_status(self, status: InstrumentStatus) -> None: ...

    def record_event(self, kind: str, text: str, data: dict[str, Any] | None = None) -> object: ...

    def add_channels(self, channels: Sequence[Channel]) -> None: ...

    def update_session_info(self) -> None:
        """Store instrument identities learned after the session started (serials, firmware)."""


class Source(abc.ABC):
    """An instrument the bench acquires from."""

    #: short id used in channel names and status (``ea``, ``mppt``, ``labjack``)
    id: str = ""

    def __init__(self) -> None:
        self._status = InstrumentStatus(self.id, InstrumentState.CONNECTING)
        self._sink: SampleSink | None = None

    @abc.abstractmethod
    def channels(self) -> list[Channel]:
        """Channels this source publishes (known before the first sample)."""

    @abc.abstractmethod
    async def run(self, sink: SampleSink, clock: Clock) -> None:
        """Acquire until cancelled. Must not raise on device trouble: report it as status and
        reconnect. Cancellation must leave the device in a safe state."""

    def info(self) -> dict[str, Any]:
        """Identity of the device once known (model, serial, firmware…), for session records."""
        return {}

    @property
    def status(self) -> InstrumentStatus:
        return self._status

    def _set_status(self, state: InstrumentState, text: str = "", reconnects: int | None = None) -> None:
        """Update and report status (only when something changed)."""
        new = InstrumentStatus(
            self.id, state, text, self._status.reconnects if reconnects is None else reconnects
        )
        if new != self._status:
            self._status = new
            if self._sink is not None:
                self._sink.set_status(new)


@runtime_checkable
class LoadControl(Protocol):
    """Commands for an electronic load. Values outside the load's ratings raise
    :class:`~benchgui.errors.ValueOutOfRange` before anything is sent."""

    @property
    def nominal_voltage_v(self) -> float: ...

    @property
    def nominal_current_a(self) -> float: ...

    @property
    def nominal_power_w(self) -> float: ...

    @property
    def input_on(self) -> bool | None:
        """Last known input state (None: unknown, e.g. not connected)."""

    async def set_remote(self, on: bool) -> None: ...

    async def set_input(self, on: bool) -> None: ...

    async def set_current(self, amps: float) -> None: ...

    async def set_power(self, watts: float) -> None: ...

    @property
    def state(self) -> LoadState:
        """The load's latest decoded state (what the load panel shows)."""

    #: fires with the new :class:`LoadState` whenever it changes (on the event-loop thread)
    state_changed: Signal[[LoadState]]


@runtime_checkable
class ChargerControl(Protocol):
    """Commands and state of a charge controller. Commands need a connection
    (:class:`~benchgui.errors.TransportError` otherwise); a setting the firmware lacks raises
    :class:`~benchgui.errors.NotSupported`."""

    @property
    def snapshot(self) -> MpptSnapshot:
        """Latest decoded state, device info and counters."""

    #: fires with the new snapshot whenever it changes
    changed: Signal[[MpptSnapshot]]

    @property
    def period_s(self) -> float:
        """The publication period asked for (s)."""

    async def set_load_output(self, on: bool) -> None: ...

    async def set_publication_period(self, seconds: float) -> None: ...


@runtime_checkable
class AinConfigurable(Protocol):
    """A reference DAQ whose analog input channels are reconfigured while it runs."""

    @property
    def status(self) -> InstrumentStatus: ...

    @property
    def section(self) -> LabJackSection: ...

    @property
    def channel_config(self) -> tuple[LabJackChannelSection, ...]: ...

    def validate_channels(self, channels: Sequence[LabJackChannelSection]) -> LabJackSection:
        """The section with these channels, or a ConfigError/ValueOutOfRange naming the key."""

    async def apply_channels(self, channels: Sequence[LabJackChannelSection]) -> bool:
        """Reconfigure now (True) or at the next connect (False); DeviceRefused keeps the old."""

    def latest(self, quantity: str) -> Reading | None:
        """The latest reading of one channel (no I/O)."""

    def uncalibrated_mean(self, quantity: str, n: int = 10) -> float | None:
        """Mean of the last ``n`` uncalibrated readings (what a calibration point captures)."""
