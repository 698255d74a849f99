"""What the bench core needs from an instrument, whatever the device and however it is reached.

A :class:`Source` acquires samples until it is cancelled, reconnecting by itself; it reports
samples, status changes and events to a :class:`SampleSink` (the bench). An electronic load also
implements :class:`LoadControl`, which is all that programs, the safety supervisor and the load
panel use to command it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from benchgui.clock import Clock
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample


class SampleSink(Protocol):
    """Where a source delivers what it acquires (implemented by the core's Bench)."""

    def publish(self, samples: Sequence[Sample]) -> None: ...

    def set_status(self, status: InstrumentStatus) -> None: ...

    def record_event(self, kind: str, text: str, data: dict[str, Any] | None = None) -> object: ...

    def add_channels(self, channels: Sequence[Channel]) -> None: ...


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
