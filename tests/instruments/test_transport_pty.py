"""SerialTransport on pseudo-terminals: idle reads, reopening with parity, hang-up."""

from __future__ import annotations

import asyncio

import pytest

from benchgui.errors import TransportError
from benchgui.instruments.transport import SerialSettings, SerialTransport
from benchgui.simbench.pty import PtyPort

pytestmark = pytest.mark.timeout(30)
ODD = SerialSettings(57600, 8, "O", 1)


async def test_an_idle_port_is_not_a_vanished_one() -> None:
    """pyserial's timeout=0 makes an idle tty read b'' — that must wait, not fail."""
    with PtyPort() as port:
        t = SerialTransport(port.device, ODD)
        await t.open()
        reading = asyncio.ensure_future(t.read())
        await asyncio.sleep(0.05)
        assert not reading.done()
        await port.write(b"\x01\x02")
        assert await asyncio.wait_for(reading, 20) == b"\x01\x02"
        await t.close()


async def test_the_same_pty_reopens_with_odd_parity() -> None:
    """Linux refuses re-applying PARENB on a reopened pty (EINVAL); a reconnect must still work."""
    with PtyPort() as port:
        t = SerialTransport(port.device, ODD)
        for _ in range(3):
            await t.open()
            await t.close()


async def test_hang_up_is_a_transport_error() -> None:
    port = PtyPort()
    t = SerialTransport(port.device, ODD)
    await t.open()
    reading = asyncio.ensure_future(t.read())
    await asyncio.sleep(0)  # one turn of the loop: the read waits for the fd
    port.close()
    with pytest.raises(TransportError, match="device gone"):
        await asyncio.wait_for(reading, 20)
    with pytest.raises(TransportError, match="cannot open"):
        await SerialTransport(port.device + "-missing", ODD).open()
