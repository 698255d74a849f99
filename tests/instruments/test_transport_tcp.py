"""TcpTransport against a real loopback server that restarts: errors, reconnects, no leaked sockets."""

from __future__ import annotations

import asyncio
import os

import pytest

from benchgui.errors import TransportError
from benchgui.instruments.transport import TcpTransport

pytestmark = [pytest.mark.timeout(60), pytest.mark.filterwarnings("error::ResourceWarning")]


class EchoServer:
    """An echo server that can be stopped (dropping its clients) and started on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._clients):
                w.close()
            await self._server.wait_closed()
            self._server = None


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_peer_restart_is_an_error_then_a_reconnect_without_leaks() -> None:
    server = EchoServer()
    port = await server.start()
    t = TcpTransport("127.0.0.1", port, connect_timeout_s=10.0)
    await t.open()
    await t.write(b"x")
    assert await asyncio.wait_for(t.read(), 20) == b"x"
    fds = open_fds()
    for _ in range(20):
        reading = asyncio.ensure_future(t.read())
        await server.stop()
        with pytest.raises(TransportError, match=r"peer closed|connection lost"):
            await asyncio.wait_for(reading, 20)
        assert not t.is_open  # closed on the spot, not left half open
        with pytest.raises(TransportError, match="cannot connect"):
            await t.open()
        await server.start()
        await t.open()  # the server listens again: the first attempt works
        await t.write(b"again")
        assert await asyncio.wait_for(t.read(), 20) == b"again"
    assert open_fds() <= fds + 2  # one socket per reconnect would be 20 more
    fds = open_fds()
    await t.open()  # already open: no second connection beside the first
    assert open_fds() == fds
    await t.close()
    await server.stop()
