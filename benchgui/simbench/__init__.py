"""The simulated bench: shared physics (battery, sun) and the instruments' sensor models."""

from benchgui.simbench.battery import BatteryParams, SimBattery
from benchgui.simbench.sensors import SensorModel
from benchgui.simbench.world import SimWorld, WorldParams

__all__ = ["BatteryParams", "SensorModel", "SimBattery", "SimWorld", "WorldParams"]
