"""The simulated electronic load's power stage: sinks a set current, power or voltage from the battery."""

from __future__ import annotations

from dataclasses import dataclass

from benchgui.simbench.world import SimWorld

CC, CV, CP, CR = "CC", "CV", "CP", "CR"


@dataclass
class LoadRatings:
    voltage_v: float = 160.0
    current_a: float = 60.0
    power_w: float = 400.0
    min_voltage_v: float = 0.8  # below this the load cannot sink its set current


class SimLoadStage:
    """Acts on the world's battery under the name ``load`` (a negative current).

    Modes: CC sinks ``set_current_a``, CP sinks ``set_power_w`` / V, CV sinks what pulls the
    terminals down to ``set_voltage_v``; CR is not simulated (sinks nothing). Every mode is
    clamped to the ratings; :attr:`regulation` says which limit is active (``""`` when off).
    """

    def __init__(self, world: SimWorld, ratings: LoadRatings | None = None) -> None:
        self.world = world
        self.ratings = ratings or LoadRatings()
        self.mode = CC
        self.set_current_a = 0.0
        self.set_power_w = 0.0
        self.set_voltage_v = 0.0
        self.input_on = False
        self.sink_a = 0.0
        self.regulation = ""
        self.ah = 0.0  # the load's own Ah counter, as object 69
        self.wh = 0.0
        self._last_t = world.now_s()

    def update(self) -> float:
        """Re-evaluate the sink current at the current instant; returns it (positive)."""
        w, r = self.world, self.ratings
        now = w.now_s()
        dt = max(0.0, now - self._last_t)
        v = w.battery.terminal_voltage(now, extra_current=self.sink_a)  # as if unloaded by us
        self.ah += self.sink_a * dt / 3600.0
        self.wh += self.sink_a * v * dt / 3600.0
        self._last_t = now
        i, reg = 0.0, ""
        if self.input_on and v > r.min_voltage_v:
            i, reg = self._target(v)
            v_loaded = w.battery.terminal_voltage(now, extra_current=self.sink_a - i)
            # the battery sags under load: iterate once so P = V·I holds at the loaded voltage
            if reg == CP and v_loaded > 0:
                i = min(self.set_power_w, r.power_w) / v_loaded
                v_loaded = w.battery.terminal_voltage(now, extra_current=self.sink_a - i)
            if v_loaded < r.min_voltage_v:
                i, reg = 0.0, ""
        self.sink_a = i
        self.regulation = reg if i > 0 else ""
        w.set_current("load", -i)
        return i

    def _target(self, v: float) -> tuple[float, str]:
        """Wanted current at unloaded voltage ``v`` and the regulator that sets it."""
        r = self.ratings
        if self.mode == CP:
            i, reg = min(self.set_power_w, r.power_w) / max(v, 1e-3), CP
        elif self.mode == CC:
            i, reg = self.set_current_a, CC
        elif self.mode == CV:
            r0 = max(self.world.battery.params.r0_ohm, 1e-4)
            i, reg = max(0.0, (v - self.set_voltage_v) / r0), CV
        else:
            return 0.0, ""
        if i > r.current_a:
            i, reg = r.current_a, CC
        if i * v > r.power_w:
            i, reg = r.power_w / max(v, 1e-3), CP
        return i, reg

    def voltage(self) -> float:
        return self.world.voltage()
