"""SerialTransport on a real pseudo-terminal: idle is not end of file, a closed pty is."""

from __future__ import annotations

import asyncio

import pytest

from benchgui.errors import TransportError
from benchgui.instruments.transport import SerialTransport
from benchgui.simbench.pty import PtyPort

pytestmark = pytest.mark.timeout(30)


async def test_idle_port_waits_instead_of_reporting_end_of_file() -> None:
    with PtyPort() as port:
        t = SerialTransport(port.path)
        await t.open()
        try:
            reader = asyncio.ensure_future(t.read())
            done, _ = await asyncio.wait([reader], timeout=0.3)
            assert not done  # nothing to read: keep waiting (pyserial's VMIN=0 gave b"" = "EOF")
            await port.write(b"hello\n")
            assert await asyncio.wait_for(reader, 20) == b"hello\n"
            await t.write(b"?info\n")
            assert await asyncio.wait_for(port.read(), 20) == b"?info\n"
        finally:
            await t.close()


async def test_closed_pty_is_a_transport_error_and_cancelled_reads_are_quiet() -> None:
    errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: errors.append(ctx))
    port = PtyPort()
    t = SerialTransport(port.path)
    await t.open()
    reader = asyncio.ensure_future(t.read())
    await asyncio.sleep(0)  # one turn of the loop: the reader runs up to its wait for the fd
    assert not reader.done()
    reader.cancel()  # cancelled while waiting: no "invalid state" callback errors later
    await port.write(b"x")  # (a stale wake-up would fire while the next read waits for it)
    reader = asyncio.ensure_future(t.read())
    assert await asyncio.wait_for(reader, 20) == b"x"
    reader = asyncio.ensure_future(t.read())
    port.close()
    with pytest.raises(TransportError, match="device gone"):
        await asyncio.wait_for(reader, 20)
    assert not t.is_open
    assert not errors, errors
