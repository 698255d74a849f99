"""The bench's ``load`` source: polls an EA load through :class:`~.driver.EaDriver`, publishes
samples, and implements :class:`~benchgui.instruments.base.LoadControl`; reconnecting is the
shared loop of :class:`~benchgui.instruments.base.Source` (this module gives it the hooks).

Sign convention: the load reports a positive sink current; the bench's battery current is
positive when charging, so it is negated here, once (``battery.current.load`` < 0 while the
load sinks; ``battery.power.load`` = V × that current).

Channels: ``battery.voltage.load``, ``battery.current.load``, ``battery.power.load``,
``load.current.setpoint`` (the CC setpoint while the input is on, else 0),
``load.power.setpoint`` (likewise for CP), ``load.input.load`` and ``load.remote.load`` (0/1),
``load.ah.load`` (the load's own Ah counter).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from benchgui.clock import Clock
from benchgui.errors import BenchError, TransportError, ValueOutOfRange
from benchgui.instruments.base import SampleSink, Source
from benchgui.instruments.ea.driver import Actual, EaDriver, Identity
from benchgui.instruments.ea.objects import Profile
from benchgui.instruments.ea.state import LoadState
from benchgui.instruments.ea.transactions import LinkPreempted
from benchgui.instruments.transport import Backoff, Transport
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample
from benchgui.signals import Signal

if TYPE_CHECKING:
    from benchgui.instruments.ea.sim import EaSimulator

log = logging.getLogger(__name__)

UNITS = {"current": "A", "power": "W"}


class LoadSource(Source):
    id = "load"

    def __init__(
        self,
        transport: Transport,
        profile: Profile,
        *,
        node: int = 0,
        poll_interval_s: float = 0.5,
        timeout_s: float = 0.5,
        retries: int = 2,
        pipeline_depth: int = 1,
        auto_remote: bool = True,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(backoff)
        self.transport = transport
        self.profile = profile
        self.driver = EaDriver(
            transport, profile, node=node, timeout_s=timeout_s, retries=retries, pipeline_depth=pipeline_depth
        )
        self.poll_interval_s = poll_interval_s
        self.auto_remote = auto_remote
        self.state = LoadState(status_confirmed=profile.status.confirmed if profile.status else False)
        self.state_changed: Signal[[LoadState]] = Signal("load.state_changed")
        #: the wire-level simulator behind this source, when the assembly started one
        self.simulator: EaSimulator | None = None
        #: commands started so far: a poll whose status was read before a command began must not
        #: overwrite the state that command set (it would revive an input just switched off)
        self._commands = 0

    # -- Source ------------------------------------------------------------------------------------
    def channels(self) -> list[Channel]:
        r = 1.0 / self.poll_interval_s
        chans = [
            Channel.of("battery.voltage", "load", "V", "Battery voltage (load)", r),
            Channel.of("battery.current", "load", "A", "Battery current (load)", r),
            Channel.of("battery.power", "load", "W", "Battery power (load)", r),
            Channel(
                "load.current.setpoint", "A", "load", "load.current.setpoint", "Load current setpoint", r
            ),
            Channel("load.power.setpoint", "W", "load", "load.power.setpoint", "Load power setpoint", r),
            Channel.of("load.input", "load", "", "Load input on", r),
            Channel.of("load.remote", "load", "", "Load in remote control", r),
        ]
        if self.profile.has("ah_counter"):
            chans.append(Channel.of("load.ah", "load", "Ah", "Load Ah counter", r))
        return chans

    def info(self) -> dict[str, Any]:
        ident = self.driver.identity
        out: dict[str, Any] = {"port": self.transport.name, "profile": self.profile.name}
        if ident is not None:
            out.update(
                model=ident.device_type,
                serial=ident.serial,
                firmware=ident.firmware,
                nominal_voltage_v=ident.nominal_voltage_v,
                nominal_current_a=ident.nominal_current_a,
                nominal_power_w=ident.nominal_power_w,
                **ident.extra,
            )
        return out

    # -- the connection loop's hooks -------------------------------------------------------------
    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        await self.transport.open()
        await self.driver.open()
        ident = await self.driver.identify()
        self._update(identity=ident)
        return f"{ident.device_type} serial {ident.serial} on {self.transport.name}"

    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        has_ah = self.profile.has("ah_counter")
        next_t = clock.monotonic()
        while True:
            commands = self._commands
            try:
                actual = await self.driver.read_actual()
                t_ns = clock.now_ns()
                ah = await self.driver.read_ah() if has_ah else None
            except LinkPreempted:  # a safety command took the line: skip this round, link is fine
                actual = None
            if actual is not None:
                self._publish(sink, t_ns, actual, ah, stale_status=self._commands != commands)
            if self.driver.stats.stray_answers != self.status.detail.get("stray_answers", 0):
                self._refresh_status()
            next_t += self.poll_interval_s
            now = clock.monotonic()
            if next_t < now - self.poll_interval_s:  # fell behind (slow line): do not burst
                next_t = now
            await clock.sleep(max(0.0, next_t - now))

    async def _close(self) -> None:
        await self.driver.close()

    async def _safe_state(self) -> None:
        """Cancelled: leave the load safe (input off) and in local control."""
        if not self.transport.is_open:
            return
        if self.state.input_on is not False:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.driver.input(False), 1.0)
                log.info("load input switched off on shutdown")
        if self.state.remote:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.driver.remote(False), 1.0)

    def _status_extras(self, text: str) -> tuple[str, dict[str, Any]]:
        """Stray answers (late, duplicated, unsolicited) are counted in the status text."""
        n = self.driver.stats.stray_answers
        if not n:
            return text, {}
        note = f"{n} stray answer{'s' if n != 1 else ''} dropped"
        return (f"{text} ({note})" if text else note), {"stray_answers": n}

    def _status_changed(self, status: InstrumentStatus) -> None:
        """Mirror the connection in the state the load panel shows."""
        connected = status.state is InstrumentState.CONNECTED
        changes: dict[str, Any] = {"connected": connected, "link": status.describe()}
        if connected:
            changes["last_error"] = ""
        elif status.state is InstrumentState.STOPPED:
            changes.update(input_on=None, link="stopped")
        elif status.text:
            changes["last_error"] = status.text
        self._update(**changes)

    # -- samples -----------------------------------------------------------------------------------
    def _publish(
        self, sink: SampleSink, t_ns: int, actual: Actual, ah: float | None, stale_status: bool = False
    ) -> None:
        """Publish one poll; ``stale_status``: a command began after the status was read, so the
        remote/input bits are older than what that command set and are not taken."""
        st = actual.status
        changes: dict[str, Any] = {
            "voltage_v": actual.voltage_v,
            "current_a": actual.current_a,
            "power_w": actual.power_w,
        }
        if ah is not None:
            changes["ah"] = ah
        if st is not None:
            changes.update(mode=st.mode, alarms=st.alarms)
            if st.remote is not None and not stale_status:
                changes["remote"] = st.remote
            if st.input_on is not None and not stale_status:
                changes["input_on"] = st.input_on
        self._update(**changes)
        battery_a = -actual.current_a  # the load sinks: discharging is negative on the bench
        samples = [
            Sample("battery.voltage.load", t_ns, actual.voltage_v),
            Sample("battery.current.load", t_ns, battery_a),
            Sample("battery.power.load", t_ns, actual.voltage_v * battery_a),
            *self._state_samples(t_ns),
        ]
        if ah is not None:
            samples.append(Sample("load.ah.load", t_ns, ah))
        sink.publish(samples)

    def _state_samples(self, t_ns: int) -> list[Sample]:
        s = self.state
        on = bool(s.input_on)
        return [
            Sample(
                "load.current.setpoint", t_ns, (s.set_current_a or 0.0) if on and s.set_mode == "CC" else 0.0
            ),
            Sample("load.power.setpoint", t_ns, (s.set_power_w or 0.0) if on and s.set_mode == "CP" else 0.0),
            Sample("load.input.load", t_ns, 1.0 if on else 0.0),
            Sample("load.remote.load", t_ns, 1.0 if s.remote else 0.0),
        ]

    def _update(self, **changes: Any) -> None:
        new = dataclasses.replace(self.state, **changes)
        if new != self.state:
            self.state = new
            self.state_changed.emit(new)

    # -- LoadControl -------------------------------------------------------------------------------
    @property
    def identity(self) -> Identity | None:
        return self.driver.identity

    def _nominal(self, quantity: str) -> float:
        ident = self.driver.identity
        if ident is not None:
            return ident.nominals[quantity]
        return float(self.profile.default_nominals.get(quantity, 0.0))

    @property
    def nominal_voltage_v(self) -> float:
        return self._nominal("voltage")

    @property
    def nominal_current_a(self) -> float:
        return self._nominal("current")

    @property
    def nominal_power_w(self) -> float:
        return self._nominal("power")

    @property
    def input_on(self) -> bool | None:
        return self.state.input_on if self.state.connected else None

    async def set_remote(self, on: bool) -> None:
        await self._command(self.driver.remote(on))
        self._update(remote=on)
        self._event(f"load remote control {'on' if on else 'off'}", {"remote": on})

    async def set_input(self, on: bool) -> None:
        if not on and self.state.input_on is False and self.state.remote is not True:
            return  # already off and in local control: do not take remote control just for this
        await self._ensure_remote()
        await self._command(self.driver.input(on))
        self._update(input_on=on)
        self._event(f"load input {'on' if on else 'off'}", {"input": on})

    async def switch_off_urgently(self, take_remote: bool = False) -> None:
        """The supervisor's off: the next telegram on the line, ahead of (and cancelling) a poll
        or a command in progress; retried by the link on its own count. The input state is
        not taken from the acknowledgement: :meth:`read_input_on` asks the device."""
        if not self.state.connected:
            raise TransportError(f"the load on {self.transport.name} is not connected")
        self._commands += 1
        if take_remote or (self.auto_remote and self.state.remote is False):
            await self.driver.remote(True, urgent=True)
            self._update(remote=True)
        await self.driver.input(False, urgent=True)
        if self._sink is not None:
            self._sink.record_event("setpoint", "load input off (safety, acknowledged)", {"input": False})

    async def read_input_on(self) -> bool | None:
        """The input bit of the device's status, read urgently (None: the profile has none)."""
        if self.profile.status is None:
            return None
        if not self.state.connected:
            raise TransportError(f"the load on {self.transport.name} is not connected")
        self._commands += 1  # a poll that read the status before this must not overwrite it
        st = await self.driver.read_status(urgent=True)
        changes: dict[str, Any] = {}
        if st.input_on is not None:
            changes["input_on"] = st.input_on
        if st.remote is not None:
            changes["remote"] = st.remote
        self._update(**changes)
        if self._sink is not None and self._clock is not None:
            self._sink.publish(self._state_samples(self._clock.now_ns()))
        return st.input_on

    async def set_current(self, amps: float) -> None:
        await self._set("current", amps, "CC")

    async def set_power(self, watts: float) -> None:
        await self._set("power", watts, "CP")

    async def _set(self, quantity: str, value: float, mode: str) -> None:
        nominal, unit = self._nominal(quantity), UNITS[quantity]
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= nominal):
            raise ValueOutOfRange(
                f"load {quantity} {value!r} {unit} is outside 0…{nominal:g} {unit} "
                f"(nominal of the {self.driver.model}); nothing was sent"
            )
        await self._ensure_remote()
        setter = self.driver.set_current if quantity == "current" else self.driver.set_power
        await self._command(setter(value))
        self._update(set_mode=mode, **{f"set_{quantity}_{unit.lower()}": float(value)})
        self._event(
            f"load {quantity} setpoint {value:.3f} {unit} ({mode})",
            {f"{quantity}_{unit.lower()}": value, "mode": mode},
        )

    async def _ensure_remote(self) -> None:
        if not self.auto_remote or self.state.remote is True or self.profile.control is None:
            return
        await self._command(self.driver.remote(True))
        self._update(remote=True)
        self._event("load remote control on (automatic)", {"remote": True})

    async def _command(self, coro: Coroutine[Any, Any, object]) -> None:
        if not self.state.connected:
            coro.close()
            raise TransportError(f"the load on {self.transport.name} is not connected")
        self._commands += 1
        try:
            await coro
        except BenchError as exc:
            self._update(last_error=str(exc))
            raise
        if self.state.last_error:
            self._update(last_error="")

    def _event(self, text: str, data: dict[str, Any]) -> None:
        if self._sink is not None:
            self._sink.record_event("setpoint", text, data)
            if self._clock is not None:
                self._sink.publish(self._state_samples(self._clock.now_ns()))
