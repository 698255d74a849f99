"""LabJack T7 reference DAQ: two backends (LJM, Modbus TCP), sensor scaling, a Modbus TCP simulator.

Nothing here imports LabJack's LJM library or pymodbus at import time: backends are loaded by
name when a source connects (see :mod:`.backends`), so a missing native library can never break
``import benchgui``.
"""
