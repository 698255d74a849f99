"""Instruments: one room per device (codec, driver, simulator) plus the shared byte transports."""
