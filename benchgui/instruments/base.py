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
import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from benchgui.clock import Clock
from benchgui.errors import BenchError
from benchgui.instruments.transport import Backoff, Transport
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample
from benchgui.signals import Signal

if TYPE_CHECKING:  # the state records each device family publishes to its panel
    from benchgui.config.schema import LabJackChannelSection, LabJackSection
    from benchgui.instruments.ea.state import LoadState
    from benchgui.instruments.labjack.source import Reading
    from benchgui.instruments.mppt.source import MpptSnapshot

log = logging.getLogger(__name__)


class SampleSink(Protocol):
    """Where a source delivers what it acquires (implemented by the core's Bench)."""

    def publish(self, samples: Sequence[Sample]) -> None: ...

    def set_status(self, status: InstrumentStatus) -> None: ...

    def record_event(self, kind: str, text: str, data: dict[str, Any] | None = None) -> object: ...

    def add_channels(self, channels: Sequence[Channel]) -> None: ...

    def update_session_info(self) -> None:
        """Store instrument identities learned after the session started (serials, firmware)."""


class SourceUnavailable(BenchError):
    """Raised by a source's hooks when it cannot work on this machine at all (a vendor library
    is missing): retrying cannot help, so :meth:`Source.run` reports ERROR and waits until it is
    cancelled instead of reconnecting."""


def raise_if_cancelled() -> None:
    """Honour a cancellation that was swallowed on the way.

    Python 3.11's ``asyncio.wait_for`` (which pymodbus awaits every answer with) loses a
    cancellation when the answer arrives in the same loop iteration — frequent in a busy GUI
    loop, where it left a source polling after the bench had stopped it. The task still counts
    the request (``Task.cancelling()``), so loops check it after every transaction.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Source(abc.ABC):
    """An instrument the bench acquires from, with the one connection loop every device shares.

    :meth:`run` is a template method: it connects (:meth:`_open`), acquires until the link fails
    (:meth:`_acquire` raises a :class:`~benchgui.errors.BenchError`), releases the link
    (:meth:`_close`), backs off and connects again — reporting CONNECTING / CONNECTED /
    RECONNECTING with ``(attempt n)`` and counting lost connections, so that a device family only
    writes how to talk to its device. Cancellation leaves the device safe (:meth:`_safe_state`),
    closes the link and reports STOPPED.
    """

    #: short id used in channel names and status (``load``, ``mppt``, ``labjack``)
    id: str = ""
    #: errors meaning "the device is there but refuses what we ask" (a configuration it rejects):
    #: reported as ERROR and retried slowly, every :attr:`refused_retry_s` at most
    refusals: tuple[type[BenchError], ...] = ()
    refused_retry_s: float = 10.0

    def __init__(self, backoff: Backoff | None = None) -> None:
        self._status = InstrumentStatus(self.id, InstrumentState.CONNECTING)
        #: where samples, status and events go; set once, by :meth:`run`
        self._sink: SampleSink | None = None
        self._clock: Clock | None = None
        #: the wait between connection attempts; its cap bounds "device back" → "data flows"
        self.backoff = backoff or Backoff()
        self._backoff_cap_s = self.backoff.max_s
        #: successful connections since the source was made
        self.connects = 0
        self._link_up = False
        self._plain_text = ""  # the last status text, before _status_extras decorated it

    @abc.abstractmethod
    def channels(self) -> list[Channel]:
        """Channels this source publishes (known before the first sample)."""

    def info(self) -> dict[str, Any]:
        """Identity of the device once known (model, serial, firmware…), for session records."""
        return {}

    @property
    def status(self) -> InstrumentStatus:
        return self._status

    # -- the connection loop -------------------------------------------------------------------
    async def run(self, sink: SampleSink, clock: Clock) -> None:
        """Acquire until cancelled. Device trouble never raises: it is reported as status and the
        link is opened again; cancellation leaves the device in a safe state."""
        self._sink, self._clock = sink, clock
        failures = 0  # failed attempts since the connection last worked
        self._set_status(self._waiting_state(), "")
        try:
            while True:
                raise_if_cancelled()
                try:
                    text = await self._open(sink, clock)
                    self._link_up = True
                    self.connects += 1
                    failures = 0
                    self.backoff.reset()
                    self.backoff.max_s = self._backoff_cap_s  # a refusal's slow retries are over
                    self._set_status(InstrumentState.CONNECTED, text)
                    sink.update_session_info()
                    await self._acquire(sink, clock)
                    await asyncio.Event().wait()  # nothing more to acquire (a finished replay)
                except SourceUnavailable as exc:
                    log.warning("%s: %s", self.id, exc)
                    self._set_status(InstrumentState.ERROR, str(exc))
                    await self._close_link()
                    await asyncio.Event().wait()  # nothing to retry until the program restarts
                except BenchError as exc:
                    failures += 1
                    self._failed(exc, failures)
                    await self._close_link()
                await asyncio.sleep(self.backoff.next_delay())
        finally:
            await self._stop()

    def _waiting_state(self) -> InstrumentState:
        return InstrumentState.RECONNECTING if self.connects else InstrumentState.CONNECTING

    def _failed(self, exc: BenchError, failures: int) -> None:
        """Report a lost connection (and count it) or a failed connection attempt."""
        reconnects = self._status.reconnects
        if self._link_up:
            reconnects += 1
            log.warning("%s: connection lost: %s", self.id, exc)
        if isinstance(exc, self.refusals):
            log.warning("%s: refused: %s", self.id, exc)
            self.backoff.max_s = max(self._backoff_cap_s, self.refused_retry_s)
            self._set_status(InstrumentState.ERROR, f"configuration refused: {exc}", reconnects)
            return
        text = str(exc) if failures == 1 else f"{exc} (attempt {failures})"
        self._set_status(self._waiting_state(), text, reconnects)

    async def _close_link(self) -> None:
        self._link_up = False
        await self._close()

    async def _stop(self) -> None:
        """Cancelled: leave the device safe while the link still works, then release it."""
        if self._link_up:
            try:
                await self._safe_state()
            except Exception:
                log.exception("%s: could not leave the device in a safe state", self.id)
        self._link_up = False
        try:
            await self._close()
        except Exception:
            log.exception("%s: could not close the link", self.id)
        self._set_status(InstrumentState.STOPPED)

    # -- the hooks a device family implements --------------------------------------------------
    @abc.abstractmethod
    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        """Connect and identify the device; return the status text (what is connected, where).
        Raise a BenchError when that fails: it is reported and retried after a back-off."""

    @abc.abstractmethod
    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        """Poll or serve until the link fails (raise a BenchError); returning means there is
        nothing more to acquire (the source then idles until cancelled)."""

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release the link (after every attempt, failed or not, and when cancelled)."""

    async def _safe_state(self) -> None:  # noqa: B027 - optional hook
        """Cancelled while connected: leave the device safe (the link still works)."""

    def _status_extras(self, text: str) -> tuple[str, dict[str, Any]]:
        """The status text as shown and the status detail (counters a device family adds)."""
        return text, {}

    def _status_changed(self, status: InstrumentStatus) -> None:  # noqa: B027 - optional hook
        """Called after a new status was reported (a device family mirrors it in its state)."""

    # -- status ----------------------------------------------------------------------------------
    def _set_status(self, state: InstrumentState, text: str = "", reconnects: int | None = None) -> None:
        """Update and report status (only when state, text or reconnect count changed)."""
        self._plain_text = text
        shown, detail = self._status_extras(text)
        new = InstrumentStatus(
            self.id, state, shown, self._status.reconnects if reconnects is None else reconnects, detail
        )
        old = self._status
        if (new.state, new.text, new.reconnects) == (old.state, old.text, old.reconnects):
            return
        self._status = new
        if self._sink is not None:
            self._sink.set_status(new)
        self._status_changed(new)

    def _refresh_status(self) -> None:
        """Report the current status again with fresh extras (e.g. a new bad-line count)."""
        self._set_status(self._status.state, self._plain_text)


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
class SafeOffLoad(Protocol):
    """A load the safety supervisor can switch off ahead of everything else on its line and
    ask what its input really is: "load off" then means the device's own status says so."""

    async def switch_off_urgently(self, take_remote: bool = False) -> None:
        """Input off as the next command on the line (cancelling a poll or command in
        progress); ``take_remote``: take remote control back first (a refused retry)."""

    async def read_input_on(self) -> bool | None:
        """The input as the device reports it now, read urgently (None: it cannot tell)."""


@runtime_checkable
class OnTransport(Protocol):
    """A source that reaches its device through a :class:`~benchgui.instruments.transport.Transport`
    (serial, pty or TCP): the port picker re-targets it."""

    @property
    def transport(self) -> Transport: ...


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
class ChargingSwitch(Protocol):
    """A charger whose charging the bench can switch off and on again (the MPPT's DC/DC enable,
    ``input/DcdcEn``): a capacity test must not count the charger's current."""

    @property
    def charging_enabled(self) -> bool | None:
        """As last set or read back (None: not known yet)."""

    async def set_charging(self, on: bool) -> None:
        """Switch charging; returns once the device confirmed it (off: the charger stopped).
        Raises :class:`~benchgui.errors.BenchError` (NotSupported, DeviceRefused,
        TransportError) when it cannot be confirmed."""


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
