"""The EA's 8O1 reaches pyserial: odd parity set on a port that keeps it (issue 17 item 7).

A pseudo-terminal cannot carry parity (Linux clears PARENB, then refuses it on reopen), so the
transport falls back to 8N1 on ``/dev/pts/*`` and no pty test ever sets odd parity. pyserial's
``loop://`` port keeps every setting it is given; opened through the transport's own
:func:`open_serial` with the settings the EA factory derives from the configuration, it shows
what a real ``/dev/ttyUSB0`` would be asked for.
"""

from __future__ import annotations

import pytest
import serial

from benchgui.config.schema import EaSection
from benchgui.errors import TransportError
from benchgui.instruments.ea.driver import DEFAULT_SERIAL
from benchgui.instruments.ea.factory import serial_settings
from benchgui.instruments.ea.protocol import query
from benchgui.instruments.transport import SerialSettings, SerialTransport, open_serial
from benchgui.simbench.pty import PtyPort

pytestmark = pytest.mark.timeout(30)


def test_the_configured_ea_port_is_opened_8o1_at_57600() -> None:
    settings = serial_settings(EaSection())  # what the assembly uses for [instruments.ea]
    ser = open_serial("loop://", settings)
    try:
        assert ser.is_open
        assert ser.baudrate == 57600
        assert ser.bytesize == serial.EIGHTBITS
        assert ser.parity == serial.PARITY_ODD
        assert ser.stopbits == serial.STOPBITS_ONE
        assert ser.timeout == 0  # non-blocking, as the asyncio transport needs
        # loop:// takes a line time per byte at this baud: let it, for the round trip
        ser.write_timeout, ser.timeout = None, 5.0
        telegram = query(71, 6).encode()
        ser.write(telegram)
        assert ser.read(len(telegram)) == telegram  # the port carries bytes with these settings
    finally:
        ser.close()


def test_the_driver_default_is_8o1_too() -> None:
    ser = open_serial("loop://", DEFAULT_SERIAL)
    try:
        assert (ser.bytesize, ser.parity, ser.stopbits) == (8, serial.PARITY_ODD, 1)
    finally:
        ser.close()


def test_even_parity_and_two_stop_bits_are_passed_through() -> None:
    """Whatever a corrected configuration says reaches pyserial unchanged."""
    ser = open_serial("loop://", SerialSettings(baud=9600, bytesize=7, parity="E", stopbits=2))
    try:
        assert (ser.baudrate, ser.bytesize, ser.parity, ser.stopbits) == (9600, 7, serial.PARITY_EVEN, 2)
    finally:
        ser.close()


def test_a_pty_falls_back_to_no_parity() -> None:
    """The documented exception: on /dev/pts/* (a simulator) odd parity becomes none."""
    with PtyPort() as port:
        ser = open_serial(port.path, DEFAULT_SERIAL)
        try:
            assert ser.parity == serial.PARITY_NONE
            assert ser.baudrate == 57600
        finally:
            ser.close()


async def test_a_port_without_a_descriptor_is_one_clear_error() -> None:
    t = SerialTransport("loop://", DEFAULT_SERIAL)
    with pytest.raises(TransportError, match=r"cannot open loop://: not a serial device") as err:
        await t.open()
    assert "\n" not in str(err.value)
    assert not t.is_open


async def test_an_invalid_setting_is_one_clear_error() -> None:
    with pytest.raises(TransportError, match=r"cannot open loop://: .*parity"):
        open_serial("loop://", SerialSettings(parity="X"))
