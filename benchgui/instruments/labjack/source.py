"""The LabJack T7 as a bench :class:`~benchgui.instruments.base.Source` (id ``labjack``).

Publishes one channel per configured physical channel (``battery.voltage.labjack``,
``battery.current.labjack`` with + = charging, …) plus ``battery.power.labjack``. Each poll reads
every AIN in one transaction, scales the volts (vectorised) and flags readings within 2 % of the
selected range's limit as OVER_RANGE.

Reconnects through :class:`~benchgui.instruments.base.Source`'s loop; at every connect it writes
the channel configuration to the device again (a T7 that was power-cycled has forgotten it).
:meth:`LabJackSource.apply_channels` reconfigures live, between two polls, without a restart —
that is what the AIN panel calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from benchgui.clock import Clock
from benchgui.config.schema import LabJackChannelSection, LabJackSection
from benchgui.errors import BenchError, DeviceRefused, TransportError, ValueOutOfRange
from benchgui.instruments.base import SampleSink, Source, SourceUnavailable, raise_if_cancelled
from benchgui.instruments.labjack.backends import backend_for
from benchgui.instruments.labjack.backends.base import DeviceInfo, LabJackBackend
from benchgui.instruments.labjack.plan import AcquisitionPlan
from benchgui.instruments.labjack.registers import AinSettings
from benchgui.instruments.transport import Backoff
from benchgui.model import Channel

if TYPE_CHECKING:
    from benchgui.instruments.labjack.sim import ThreadedT7Server

log = logging.getLogger(__name__)

MIN_REAL_POLL_S = 0.005  # a sped-up simulated bench must not poll faster than 200/s of real time
CALIBRATION_WINDOW = 20  # uncalibrated readings kept per channel for calibration capture
#: longest wait between reconnect attempts: it bounds the time from "device is back" to data
RECONNECT_MAX_S = 1.0
REFUSED_RETRY_S = 10.0  # a configuration the T7 refused is retried slowly


@dataclass(frozen=True)
class Reading:
    """The latest poll of one channel, for the AIN panel (no I/O needed to show it)."""

    t_ns: int
    volts: float
    uncalibrated: float
    value: float
    flags: int


class LabJackSource(Source):
    id = "labjack"
    #: a configuration the T7 refuses is an error the operator must fix: retried slowly
    refusals = (DeviceRefused, ValueOutOfRange)
    refused_retry_s = REFUSED_RETRY_S

    def __init__(
        self,
        section: LabJackSection,
        backend_factory: Callable[[LabJackSection], LabJackBackend] = backend_for,
    ) -> None:
        super().__init__(Backoff(initial_s=0.1, max_s=RECONNECT_MAX_S))
        self._section = section
        self._make_backend = backend_factory
        self._plan = AcquisitionPlan.build(section.channels)
        #: the backend of the current attempt (closed after it), and the one that is connected
        self._link: LabJackBackend | None = None
        self._backend: LabJackBackend | None = None
        #: the wire-level simulator behind this source, when the assembly started one
        self.simulator: ThreadedT7Server | None = None
        self._device: DeviceInfo | None = None
        self._io = asyncio.Lock()  # a poll and a reconfiguration never interleave
        self._latest: dict[str, Reading] = {}
        self._recent: dict[str, deque[float]] = {}
        self.polls = 0
        self._wire_trace: Callable[[bool, bytes], None] | None = None

    # -- wire trace and commissioning -----------------------------------------------------------
    @property
    def wire_address(self) -> str:
        return f"{self.section.address}:{self.section.port}"

    def set_wire_trace(self, hook: Callable[[bool, bytes], None] | None) -> bool:
        """Record the raw Modbus frames from the next connection on; False for LJM (no bytes)."""
        self._wire_trace = hook
        return self.section.backend == "modbus"

    async def check_inputs(self, ains: Sequence[int]) -> tuple[list[AinSettings], list[float]]:
        """Read back the settings the T7 holds for ``ains`` and their volts in one transaction
        (the commissioning check: ranges as configured, one scan of the inputs)."""
        async with self._io:
            backend = self._backend
            if backend is None:
                raise SourceUnavailable("the LabJack is not connected")
            return await backend.read_many(ains), await backend.read_ains(ains)

    @property
    def section(self) -> LabJackSection:
        """The configuration in force (replaced by :meth:`apply_channels`)."""
        return self._section

    # -- what the bench and the panel see ---------------------------------------------------
    @property
    def rate_hz(self) -> float:
        return 1.0 / self.section.poll_interval_s

    def channels(self) -> list[Channel]:
        return self._plan.bench_channels(self.rate_hz)

    @property
    def channel_config(self) -> tuple[LabJackChannelSection, ...]:
        return self._plan.channels

    @property
    def connected(self) -> bool:
        return self._backend is not None

    @property
    def backend_kind(self) -> str:
        return self.section.backend

    def info(self) -> dict[str, Any]:
        return self._device.as_dict() if self._device else {"model": "T7", "backend": self.section.backend}

    def latest(self, quantity: str) -> Reading | None:
        return self._latest.get(quantity)

    def uncalibrated_mean(self, quantity: str, n: int = 10) -> float | None:
        """Mean of the last ``n`` uncalibrated readings (what a calibration point captures)."""
        recent = self._recent.get(quantity)
        if not recent:
            return None
        vals = list(recent)[-n:]
        return sum(vals) / len(vals)

    # -- live reconfiguration ------------------------------------------------------------------
    def validate_channels(self, channels: Sequence[LabJackChannelSection]) -> LabJackSection:
        """The section with these channels, or :class:`~benchgui.errors.ConfigError` naming the key."""
        section = replace(self.section, channels=tuple(channels))
        for i, ch in enumerate(section.channels):
            ch.validate(f"instruments.labjack.channels[{i}]")
            ch.transfer.validate(f"instruments.labjack.channels[{i}].transfer")
            ch.calibration.validate(f"instruments.labjack.channels[{i}].calibration")
        section.validate("instruments.labjack")
        if not section.channels:
            raise ValueOutOfRange("at least one channel is needed")
        return section

    async def apply_channels(self, channels: Sequence[LabJackChannelSection]) -> bool:
        """Reconfigure without a restart. Returns True if the device took it now, False if it is
        not connected (then it is applied at the next connect).

        Raises ConfigError/ValueOutOfRange for invalid settings (nothing sent) and
        :class:`~benchgui.errors.DeviceRefused` when the T7 refuses (its previous settings are
        restored and the previous plan stays).
        """
        section = self.validate_channels(channels)
        plan = AcquisitionPlan.build(section.channels)
        applied = False
        async with self._io:
            backend = self._backend
            if backend is not None:
                try:
                    await backend.configure(plan.settings)
                    applied = True
                except (DeviceRefused, ValueOutOfRange):
                    with contextlib.suppress(BenchError):
                        await backend.configure(self._plan.settings)
                    raise
                except TransportError:
                    log.warning("labjack: connection lost while reconfiguring; applied at reconnect")
            old_names = set(self._plan.names)
            self._plan = plan
            self._section = section
        new = [c for c in plan.bench_channels(self.rate_hz) if c.name not in old_names]
        if self._sink is not None:
            if new:
                self._sink.add_channels(new)
            self._sink.record_event(
                "labjack.configured",
                "LabJack channels reconfigured" + ("" if applied else " (applied at next connect)"),
                {"channels": [asdict(s) for s in plan.settings]},
            )
        return applied

    # -- the connection loop's hooks -----------------------------------------------------------
    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        """Open the backend and write the channel configuration (again: a power-cycled T7 has
        forgotten it)."""
        backend = self._link = self._make_backend(self.section)
        backend.trace = self._wire_trace
        async with self._io:
            info = await backend.open()
            await backend.configure(self._plan.settings)
            self._backend, self._device = backend, info
        text = f"{info.model} #{info.serial} fw {info.firmware:.4f} via {backend.where}"
        sink.record_event("instrument.connected", f"labjack: {text}", info.as_dict())
        return text

    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        backend = self._backend
        assert backend is not None  # set by _open
        next_t = clock.monotonic()
        while True:
            async with self._io:
                plan = self._plan
                t0 = clock.now_ns()
                volts = await backend.read_ains(plan.ains)
                t1 = clock.now_ns()
            raise_if_cancelled()
            values, raw, flags = plan.scale(volts)
            t_ns = (t0 + t1) // 2
            sink.publish(plan.samples(values, flags, t_ns))
            self.polls += 1
            self._remember(plan, volts, values.tolist(), raw.tolist(), flags.tolist(), t_ns)
            interval = self.section.poll_interval_s
            next_t += interval
            now = clock.monotonic()
            if next_t < now:  # late (slow device, busy machine): do not try to catch up
                next_t = now
            await clock.sleep(max(next_t - now, MIN_REAL_POLL_S * clock.speed))

    async def _close(self) -> None:
        link, self._link, self._backend = self._link, None, None
        if link is not None:
            await link.close()

    def _remember(
        self,
        plan: AcquisitionPlan,
        volts: Sequence[float],
        values: list[float],
        raw: list[float],
        flags: list[int],
        t_ns: int,
    ) -> None:
        for i, ch in enumerate(plan.channels):
            self._latest[ch.quantity] = Reading(t_ns, volts[i], raw[i], values[i], flags[i])
            if math.isfinite(raw[i]):
                self._recent.setdefault(ch.quantity, deque(maxlen=CALIBRATION_WINDOW)).append(raw[i])
