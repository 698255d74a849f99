"""In-process simulated instruments: the simulated bench without any wire protocol.

They read the shared :class:`~benchgui.simbench.SimWorld` through their own sensor models and
publish the same channels as the real drivers. They are the fastest way to exercise the core
and the widgets (``--sim-wire off``); the normal simulated bench runs the wire-level
simulators and the real drivers instead.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

from benchgui.clock import Clock
from benchgui.errors import ValueOutOfRange
from benchgui.instruments.base import SampleSink, Source
from benchgui.instruments.ea.state import LoadState
from benchgui.model import Channel, Sample
from benchgui.signals import Signal
from benchgui.simbench.charger import SimCharger
from benchgui.simbench.load import CC, CP, SimLoadStage
from benchgui.simbench.sensors import SensorModel
from benchgui.simbench.world import SimWorld


def battery_channels(source: str, rate_hz: float) -> list[Channel]:
    return [
        Channel.of("battery.voltage", source, "V", f"Battery voltage ({source})", rate_hz),
        Channel.of("battery.current", source, "A", f"Battery current ({source})", rate_hz),
        Channel.of("battery.power", source, "W", f"Battery power ({source})", rate_hz),
    ]


class _PollingSim(Source):
    """A stand-in polled every ``interval_s``: the shared connection loop with a link that
    cannot fail (opening it is trivial, polling never raises)."""

    def __init__(self, world: SimWorld, interval_s: float) -> None:
        super().__init__()
        self.world = world
        self.interval_s = interval_s

    @abc.abstractmethod
    def poll(self, t_ns: int) -> list[Sample]:
        """The samples of one poll at ``t_ns``."""

    async def _open(self, sink: SampleSink, clock: Clock) -> str:
        return "simulated (in-process)"

    async def _acquire(self, sink: SampleSink, clock: Clock) -> None:
        next_t = clock.monotonic()
        while True:
            sink.publish(self.poll(clock.now_ns()))
            next_t += self.interval_s
            await clock.sleep(max(0.0, next_t - clock.monotonic()))


class SimLabJackSource(_PollingSim):
    id = "labjack"

    def __init__(self, world: SimWorld, interval_s: float = 0.1, seed: int = 11) -> None:
        super().__init__(world, interval_s)
        # 16-bit reference: tiny noise; LEM LA 55-P with a small gain error, as on the real bench
        self.v_sensor = SensorModel(gain=1.0, offset=0.0, noise=0.0015, lsb=0.000316 * 5, seed=seed)
        self.i_sensor = SensorModel(gain=0.96, offset=0.005, noise=0.004, lsb=0.0031, seed=seed + 1)

    def channels(self) -> list[Channel]:
        return battery_channels("labjack", 1 / self.interval_s)

    def poll(self, t_ns: int) -> list[Sample]:
        v = self.v_sensor.measure(self.world.voltage())
        i = self.i_sensor.measure(self.world.current())
        return [
            Sample("battery.voltage.labjack", t_ns, v),
            Sample("battery.current.labjack", t_ns, i),
            Sample("battery.power.labjack", t_ns, v * i),
        ]

    def info(self) -> dict[str, Any]:
        return {"model": "T7 (simulated, in-process)", "serial": "470000000"}


class SimMpptSource(_PollingSim):
    id = "mppt"

    def __init__(self, world: SimWorld, interval_s: float = 1.0, seed: int = 21) -> None:
        super().__init__(world, interval_s)
        self.charger = SimCharger(world)
        # 12-bit shunt ADC: coarse steps, an offset and a gain error on the current
        self.v_sensor = SensorModel(gain=1.0, offset=-0.03, noise=0.005, lsb=0.01, seed=seed)
        self.i_sensor = SensorModel(gain=1.03, offset=0.02, noise=0.01, lsb=0.01, seed=seed + 1)

    def channels(self) -> list[Channel]:
        r = 1 / self.interval_s
        return [
            *battery_channels("mppt", r),
            Channel.of("solar.voltage", "mppt", "V", "Solar voltage", r),
            Channel.of("solar.current", "mppt", "A", "Solar current", r),
            Channel.of("soc", "mppt", "%", "SOC (MPPT)", r),
            Channel.of("charger.state", "mppt", "", "Charger state", r),
        ]

    def poll(self, t_ns: int) -> list[Sample]:
        self.charger.update()
        v = self.v_sensor.measure(self.world.voltage())
        i = self.i_sensor.measure(self.world.current())
        soc = round(100 * self.world.battery.soc)
        return [
            Sample("battery.voltage.mppt", t_ns, v),
            Sample("battery.current.mppt", t_ns, i),
            Sample("battery.power.mppt", t_ns, v * i),
            Sample("solar.voltage.mppt", t_ns, round(self.charger.solar_v, 2)),
            Sample("solar.current.mppt", t_ns, round(self.charger.solar_a, 2)),
            Sample("soc.mppt", t_ns, float(soc)),
            Sample("charger.state.mppt", t_ns, float(self.charger.state)),
        ]

    def info(self) -> dict[str, Any]:
        return {"model": "MPPT 1210 HUS (simulated, in-process)"}

    @property
    def charging_enabled(self) -> bool | None:
        return self.charger.enabled

    async def set_charging(self, on: bool) -> None:
        """The DC/DC enable, as the wire-level simulator's ``input/DcdcEn``."""
        self.charger.enabled = bool(on)
        self.charger.update()


class SimLoadSource(_PollingSim):
    """The electronic load, in-process: publishes U/I/P and accepts load commands."""

    id = "load"

    def __init__(self, world: SimWorld, interval_s: float = 0.5, seed: int = 31) -> None:
        super().__init__(world, interval_s)
        self.stage = SimLoadStage(world)
        self.remote = False
        self._state = LoadState(connected=True, remote=False, input_on=False, link="simulated (in-process)")
        self.state_changed: Signal[[LoadState]] = Signal("load.state_changed")
        self.v_sensor = SensorModel(gain=1.0, offset=-0.02, noise=0.003, lsb=160 / 25600, seed=seed)
        self.i_sensor = SensorModel(gain=1.0, offset=0.0, noise=0.002, lsb=60 / 25600, lo=0.0, seed=seed + 1)

    def channels(self) -> list[Channel]:
        r = 1 / self.interval_s
        return [
            *battery_channels("load", r),
            Channel(
                "load.current.setpoint", "A", "load", "load.current.setpoint", "Load current setpoint", r
            ),
            Channel("load.input.load", "", "load", "load.input", "Load input on", r),
        ]

    def poll(self, t_ns: int) -> list[Sample]:
        sink = self.stage.update()
        v = self.v_sensor.measure(self.world.voltage())
        i = self.i_sensor.measure(sink) if sink > 0 else 0.0
        self._update(voltage_v=v, current_a=i, power_w=v * i)
        return [
            Sample("battery.voltage.load", t_ns, v),
            Sample("battery.current.load", t_ns, -i),
            Sample("battery.power.load", t_ns, -v * i),
            Sample("load.current.setpoint", t_ns, self.stage.set_current_a if self.stage.input_on else 0.0),
            Sample("load.input.load", t_ns, 1.0 if self.stage.input_on else 0.0),
        ]

    def info(self) -> dict[str, Any]:
        return {"model": "EL 3160-60 (simulated, in-process)"}

    # -- LoadControl --------------------------------------------------------------------------
    nominal_voltage_v = 160.0
    nominal_current_a = 60.0
    nominal_power_w = 400.0

    @property
    def input_on(self) -> bool | None:
        return self.stage.input_on

    @property
    def state(self) -> LoadState:
        return self._state

    def _update(self, **changes: Any) -> None:
        new = dataclasses.replace(self._state, **changes)
        if new != self._state:
            self._state = new
            self.state_changed.emit(new)

    async def set_remote(self, on: bool) -> None:
        self.remote = on
        self._update(remote=on)

    async def set_input(self, on: bool) -> None:
        self.stage.input_on = on
        self.stage.update()
        self._update(input_on=on)

    async def switch_off_urgently(self, take_remote: bool = False) -> None:
        """SafeOffLoad: nothing shares a line here, so this is a plain input off."""
        await self.set_input(False)

    async def read_input_on(self) -> bool | None:
        """SafeOffLoad: the power stage is the device's own status."""
        return self.stage.input_on

    async def set_current(self, amps: float) -> None:
        if not 0 <= amps <= self.nominal_current_a:
            raise ValueOutOfRange(f"load current {amps} A outside 0…{self.nominal_current_a} A")
        self.stage.mode, self.stage.set_current_a = CC, amps
        self.stage.update()
        self._update(set_mode="CC", set_current_a=float(amps))

    async def set_power(self, watts: float) -> None:
        if not 0 <= watts <= self.nominal_power_w:
            raise ValueOutOfRange(f"load power {watts} W outside 0…{self.nominal_power_w} W")
        self.stage.mode, self.stage.set_power_w = CP, watts
        self.stage.update()
        self._update(set_mode="CP", set_power_w=float(watts))
