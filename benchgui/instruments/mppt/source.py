"""The MPPT 1210 HUS as a bench :class:`Source` (id ``mppt``): statements in, samples out.

:meth:`MpptSource.run` opens the port (retrying with back-off), asks for the device info,
switches the serial publication on (and adds ``extra_items`` such as the temperatures to it),
then turns each publication statement into samples stamped with the time the line arrived.
When the port vanishes — USB unplugged, simulator killed — it reports ``reconnecting`` and
opens it again until the device is back; a device that goes silent is reopened too. Lines it
cannot read are counted and shown in the status text, never raised.

The connection loop (back-off, status, reconnect counting) is :class:`Source`'s; this module
says how to open, watch and close an MPPT. The charger panel observes :attr:`MpptSource.changed`
(a :class:`~benchgui.signals.Signal`) and commands the device through :meth:`set_load_output`,
:meth:`set_publication_period` and :meth:`update` — coroutines that need a connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from benchgui.clock import Clock
from benchgui.errors import DeviceRefused, NotSupported, TransportError
from benchgui.instruments.base import SampleSink, Source
from benchgui.instruments.mppt import items
from benchgui.instruments.mppt.driver import MpptDriver
from benchgui.instruments.mppt.protocol import LineTooLong, MalformedResponse, Noise, NotFound, Statement
from benchgui.instruments.transport import Backoff, Transport
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample
from benchgui.signals import Signal

if TYPE_CHECKING:
    from benchgui.instruments.mppt.sim import MpptSimServer

log = logging.getLogger(__name__)

DEFAULT_EXTRA_ITEMS = ("Bat_degC", "Int_degC")


@dataclass(frozen=True)
class MpptSnapshot:
    """What the charger panel shows: the latest decoded state, device info and counters."""

    connected: bool = False
    info: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # latest statement, 2021 item names
    t_ns: int | None = None
    load_enabled: bool | None = None
    charging_enabled: bool | None = None  # input/DcdcEn as last set or read
    publication_period_s: float | None = None
    period_settable: bool | None = None  # False: the firmware publishes every second, fixed
    bad_lines: int = 0
    statements: int = 0
    status_text: str = ""

    def get(self, name: str) -> Any:
        return self.values.get(name)

    @property
    def charger_state(self) -> int | None:
        v = self.values.get("ChgState")
        return None if v is None else int(v)

    @property
    def dcdc_state(self) -> int | None:
        v = self.values.get("DCDCState")
        return None if v is None else int(v)

    @property
    def error_flags(self) -> int | None:
        v = self.values.get("ErrorFlags")
        return None if v is None else int(v)


class FixedPublicationPeriod(NotSupported, NotFound):
    """This firmware publishes every second: it has no ``pub/serial/Period_s`` to set.

    A :class:`~benchgui.errors.NotSupported` for the core and the panels; also the codec's
    ``NotFound`` it wraps, so the device's status code and text stay with it."""


class MpptSource(Source):
    id = items.SOURCE

    def __init__(
        self,
        transport: Transport,
        *,
        period_s: float = 1.0,
        timeout_s: float = 1.0,
        extra_items: Sequence[str] = DEFAULT_EXTRA_ITEMS,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(backoff or Backoff(0.1, 1.0))
        self.transport = transport
        self.period_s = period_s
        self.timeout_s = timeout_s
        self.extra_items = tuple(extra_items)
        #: fires with the new snapshot whenever it changes (the charger panel listens)
        self.changed: Signal[[MpptSnapshot]] = Signal("mppt.changed")
        self.snapshot = MpptSnapshot()
        self.driver: MpptDriver | None = None
        #: the wire-level simulator behind this source, when the assembly started one
        self.simulator: MpptSimServer | None = None
        self.bad_lines = 0
        self.last_bad_line = ""
        self._last_statement = 0.0  # real seconds (see _real_s) of the latest statement
        self._status_shown_at = 0.0
        self._last_chg_state: int | None = None

    # -- Source -----------------------------------------------------------------------------------
    def channels(self) -> list[Channel]:
        rate = 1.0 / self.period_s if self.period_s > 0 else 1.0
        return [Channel.of(c.quantity, self.id, c.unit, c.label, rate) for c in items.ITEM_CHANNELS]

    def info(self) -> dict[str, Any]:
        return dict(self.snapshot.info)

    # -- the connection loop's hooks ---------------------------------------------------------------
    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        """Open the port, read the device info, switch the publication on (with the extra items)."""
        await self.transport.open()
        driver = MpptDriver(self.transport, timeout_s=self.timeout_s, now_ns=clock.now_ns)
        driver.statement_listeners.append(self._on_statement)
        driver.noise_listeners.append(self._on_noise)
        self.driver = driver
        driver.start()
        info = await driver.device_info()
        self._set_snapshot(info=info)
        await driver.enable_publication(True)
        if self.extra_items:
            await driver.add_publication_ids(self.extra_items)
        settable: bool | None = None
        if self.period_s != 1.0:
            settable = await self._try_period(driver, self.period_s)
        load, charging = await self._inputs(driver)
        period = 1.0 if settable is False else self.period_s
        self._set_snapshot(
            connected=True,
            load_enabled=load,
            charging_enabled=charging,
            period_settable=settable,
            publication_period_s=period,
        )
        self._last_statement = self._real_s()
        return f"{info.get('type', 'MPPT')} fw {info.get('firmware', '?')} on {self.transport.name}"

    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        """Watch the device until the port fails or it stays silent (statements arrive through
        the driver's listener)."""
        driver = self.driver
        assert driver is not None  # set by _open
        connected_text = self._plain_text
        silent_rounds = 0
        closed = asyncio.ensure_future(driver.wait_closed())
        try:
            while True:
                stale_s = self._stale_after()
                done, _ = await asyncio.wait([closed], timeout=stale_s / 2)
                if done:
                    why = closed.result()
                    raise TransportError(f"lost: {why}" if why else "lost the port")
                if self._real_s() - self._last_statement < stale_s:
                    if silent_rounds:
                        silent_rounds = 0
                        self._set_status(InstrumentState.CONNECTED, connected_text)
                    continue
                silent_rounds += 1
                self._set_status(InstrumentState.CONNECTED, f"{connected_text} — no data for {stale_s:.0f} s")
                if silent_rounds >= 3:
                    raise TransportError(f"no publication for {3 * stale_s:.0f} s")
                await driver.enable_publication(True)  # after a device reset or someone disabled it
        finally:
            closed.cancel()

    async def _close(self) -> None:
        driver, self.driver = self.driver, None
        if self.snapshot.connected:
            self._set_snapshot(connected=False)
        if driver is not None:
            await driver.close()
        else:
            await self.transport.close()

    def _real_s(self) -> float:
        """Real seconds on the bench clock's monotonic time base (silence is judged in real
        time: the device publishes in real time whatever the bench speed)."""
        clock = self._clock
        if clock is None:
            return time.monotonic()
        return clock.monotonic() / max(clock.speed, 1e-9)

    def _stale_after(self) -> float:
        """Real seconds without a statement before the device counts as silent."""
        speed = self._clock.speed if self._clock is not None else 1.0
        return max(3.0, 5.0 * self.period_s / max(speed, 1e-9), 3.0 * self.timeout_s)

    async def _try_period(self, driver: MpptDriver, seconds: float) -> bool:
        try:
            await driver.set_publication_period(seconds)
            return True
        except NotFound:
            log.warning("this MPPT firmware publishes every second (no pub/serial/Period_s)")
            return False

    @staticmethod
    async def _inputs(driver: MpptDriver) -> tuple[bool | None, bool | None]:
        """``input/LoadEn`` and ``input/DcdcEn`` (None: not there or refused)."""
        try:
            values = await driver.get("input")
        except DeviceRefused:
            return None, None
        if not isinstance(values, dict):
            return None, None
        load, dcdc = values.get("LoadEn"), values.get("DcdcEn")
        return (None if load is None else bool(load)), (None if dcdc is None else bool(dcdc))

    # -- statements and bad lines -------------------------------------------------------------------
    def _on_statement(self, st: Statement, t_ns: int) -> None:
        values = items.canonical_values(st.values)
        samples = []
        for name, v in values.items():
            ch = items.BY_ITEM.get(name)
            x = _number(v)
            if ch is not None and x is not None:
                samples.append(Sample(f"{ch.quantity}.{self.id}", t_ns, x))
        for power, (vn, an) in items.DERIVED_POWER.items():
            if power not in values:
                v, a = _number(values.get(vn)), _number(values.get(an))
                if v is not None and a is not None:
                    samples.append(Sample(items.channel_name(power), t_ns, round(v * a, 3)))
        self._last_statement = self._real_s()
        if self._sink is not None and samples:
            self._sink.publish(samples)
        self._note_charger_state(values.get("ChgState"))
        merged = {**self.snapshot.values, **values}
        self._set_snapshot(values=merged, t_ns=t_ns, statements=self.snapshot.statements + 1)
        if self.bad_lines != self.status.detail.get("bad_lines", 0):
            self._refresh_status()

    def _note_charger_state(self, value: Any) -> None:
        x = _number(value)
        if x is None:
            return
        state = int(x)
        old, self._last_chg_state = self._last_chg_state, state
        if old is not None and old != state and self._sink is not None:
            self._sink.record_event(
                "charger.state",
                f"charger: {items.charger_state_name(old)} → {items.charger_state_name(state)}",
                {"from": old, "to": state},
            )

    def _on_noise(self, event: Noise | LineTooLong | MalformedResponse) -> None:
        self.bad_lines += 1
        if isinstance(event, LineTooLong):
            self.last_bad_line = f"line longer than {event.limit} bytes"
        else:
            self.last_bad_line = f"{event.reason}: {event.line[:60]!r}"
        self._set_snapshot(bad_lines=self.bad_lines)
        now = self._real_s()
        if now - self._status_shown_at > 1.0:  # a flood of garbage: at most 1/s
            self._status_shown_at = now
            self._refresh_status()

    # -- status and snapshot -------------------------------------------------------------------------
    def _status_extras(self, text: str) -> tuple[str, dict[str, Any]]:
        """Bad lines are counted in the status text; the counters go into its detail."""
        if self.bad_lines:
            text = f"{text}; {self.bad_lines} bad lines (last: {self.last_bad_line})"
        d = self.driver
        detail = {
            "bad_lines": self.bad_lines,
            "statements": self.snapshot.statements,
            "timeouts": d.timeouts if d is not None else 0,
        }
        return text, detail

    def _status_changed(self, status: InstrumentStatus) -> None:
        self._set_snapshot(status_text=status.describe())

    def _set_snapshot(self, **changes: Any) -> None:
        self.snapshot = replace(self.snapshot, **changes)
        self.changed.emit(self.snapshot)

    # -- commands (for the charger panel) ---------------------------------------------------------
    def _connected(self) -> MpptDriver:
        d = self.driver
        if d is None or not d.running or not self.snapshot.connected:
            raise TransportError("the MPPT is not connected")
        return d

    async def set_load_output(self, on: bool) -> None:
        """Switch the MPPT's load terminals (``=input {"LoadEn":…}``)."""
        await self._connected().set_load_output(on)
        self._set_snapshot(load_enabled=bool(on))
        if self._sink is not None:
            self._sink.record_event(
                "mppt.load_output", f"MPPT load output {'on' if on else 'off'}", {"on": on}
            )

    @property
    def charging_enabled(self) -> bool | None:
        return self.snapshot.charging_enabled

    async def set_charging(self, on: bool) -> None:
        """``=input {"DcdcEn":…}``, read back; switching off also waits for a statement with
        the DC/DC off (``DCDCState`` 0). Evidence: LibreSolar/charge-controller-firmware
        ``src/data_nodes.cpp`` (node 0x63 ``DcdcEn`` in ``input``, read/write, bound to
        ``dcdc.enable``) and ``src/dcdc.cpp`` (disabled: the half bridge stops, state off, and
        it does not start again while disabled)."""
        driver = self._connected()
        try:
            await driver.update("input", {"DcdcEn": bool(on)})
            values = await driver.get("input")
        except NotFound as exc:
            raise NotSupported(f"this MPPT firmware has no input/DcdcEn ({exc})") from exc
        got = values.get("DcdcEn") if isinstance(values, dict) else None
        if got is None or bool(got) != bool(on):
            raise DeviceRefused(f"the MPPT reports input/DcdcEn = {got!r} after setting it to {bool(on)}")
        self._set_snapshot(charging_enabled=bool(on))
        if not on:
            await self._wait_dcdc_off()
        if self._sink is not None:
            self._sink.record_event(
                "mppt.charging", f"MPPT charging (DC/DC) {'enabled' if on else 'disabled'}", {"on": on}
            )

    async def _wait_dcdc_off(self) -> None:
        """Until a statement published after the command shows the DC/DC off (real time,
        bounded by a few publication periods)."""
        seen = self.snapshot.statements
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(5.0, 3 * self._stale_after())
        while True:
            snap = self.snapshot
            if snap.statements > seen and snap.dcdc_state == 0:
                return
            if loop.time() > deadline:
                raise DeviceRefused(
                    f"the MPPT's DC/DC did not stop (DCDCState {snap.dcdc_state}) after input/DcdcEn = false"
                )
            await asyncio.sleep(0.02)

    async def set_publication_period(self, seconds: float) -> None:
        """``=pub/serial {"Period_s":…}``; raises :class:`FixedPublicationPeriod` (a
        :class:`~benchgui.errors.NotSupported`) on firmware that publishes every second."""
        if not seconds > 0:
            raise ValueError("the publication period must be > 0 s")
        try:
            await self._connected().set_publication_period(seconds)
        except NotFound as exc:
            self._set_snapshot(period_settable=False)
            raise FixedPublicationPeriod(exc.status, exc.text, exc.request) from exc
        self.period_s = seconds
        self._set_snapshot(publication_period_s=seconds, period_settable=True)

    async def get(self, path: str) -> Any:
        return await self._connected().get(path)

    async def update(self, path: str, values: dict[str, Any]) -> None:
        await self._connected().update(path, values)

    async def exec(self, path: str) -> Any:
        return await self._connected().exec(path)


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        f = float(v)
        return f if f == f else None
    return None
