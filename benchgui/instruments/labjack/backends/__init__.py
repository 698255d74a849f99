"""Backends by name, imported lazily — an optional vendor library must never break an import.

``modbus``: Modbus TCP with pymodbus (a T7 on Ethernet/WiFi, or the simulator).
``ljm``: LabJack's LJM library (USB as on the bench, or Ethernet); needs the native library.
"""

from __future__ import annotations

from benchgui.config.schema import LabJackSection
from benchgui.instruments.labjack.backends.base import LabJackBackend


def backend_for(section: LabJackSection) -> LabJackBackend:
    """The backend the configuration names (not yet connected)."""
    if section.backend == "ljm":
        from benchgui.instruments.labjack.backends.ljm import LjmBackend

        return LjmBackend(section.connection, section.identifier)
    from benchgui.instruments.labjack.backends.modbus import ModbusBackend

    return ModbusBackend(section.address, section.port, section.timeout_s, section.unit_id)
