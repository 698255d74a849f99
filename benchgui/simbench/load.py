"""The simulated electronic load's power stage: sinks a set current or power from the battery."""

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
    """Acts on the world's battery under the name ``load`` (a negative current)."""

    def __init__(self, world: SimWorld, ratings: LoadRatings | None = None) -> None:
        self.world = world
        self.ratings = ratings or LoadRatings()
        self.mode = CC
        self.set_current_a = 0.0
        self.set_power_w = 0.0
        self.input_on = False
        self.sink_a = 0.0
        self.ah = 0.0  # the load's own Ah counter, as object 69
        self._last_t = world.now_s()

    def update(self) -> float:
        """Re-evaluate the sink current at the current instant; returns it (positive)."""
        w, r = self.world, self.ratings
        now = w.now_s()
        self.ah += self.sink_a * max(0.0, now - self._last_t) / 3600.0
        self._last_t = now
        v = w.battery.terminal_voltage(now, extra_current=self.sink_a)  # as if unloaded by us
        i = 0.0
        if self.input_on and v > r.min_voltage_v:
            i = min(self.set_power_w, r.power_w) / max(v, 1e-3) if self.mode == CP else self.set_current_a
            i = min(i, r.current_a, r.power_w / max(v, 1e-3))
            # the battery sags under load: iterate once so P = V·I holds at the loaded voltage
            v_loaded = w.battery.terminal_voltage(now, extra_current=self.sink_a - i)
            if self.mode == CP and v_loaded > 0:
                i = min(self.set_power_w, r.power_w) / v_loaded
            if v_loaded < r.min_voltage_v:
                i = 0.0
        self.sink_a = i
        w.set_current("load", -i)
        return i

    def voltage(self) -> float:
        return self.world.voltage()
