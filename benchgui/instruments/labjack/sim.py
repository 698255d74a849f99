"""A simulated LabJack T7 as a Modbus TCP server: ``benchgui sim labjack --port 5020``.

Same register map as a real T7 (:mod:`.registers`), served by pymodbus: AIN values come from the
shared simulated battery as the divider and the LA 55-P would present them (:mod:`.simdevice`),
settings registers are writable and read back, and a value a T7 refuses gets the exception a T7
answers with (ILLEGAL DATA VALUE; writes to read-only or unknown registers: ILLEGAL DATA
ADDRESS). It binds loopback by default; port 0 picks a free port, which :attr:`T7Server.port`
and the ``ready`` line report.

The wiring follows the configuration file's LabJack channels (so the simulator presents what the
GUI expects), unless ``--divider-ratio`` / ``--r-m-ohm`` say otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import cast

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from benchgui.config import load_config
from benchgui.config.schema import LabJackSection
from benchgui.instruments.labjack.simdevice import SimT7, Wiring
from benchgui.simbench.serving import cancel_and_wait, serve_until_cancelled
from benchgui.simbench.world import SimWorld

log = logging.getLogger(__name__)


class T7Server:
    """A :class:`SimT7` on a Modbus TCP port. ``start`` again after ``stop`` (same port) is a
    device that was power-cycled: settings back to their power-up values."""

    def __init__(self, device: SimT7, host: str = "127.0.0.1", port: int = 0) -> None:
        self.device = device
        self.host = host
        self.port = port
        self._server: ModbusTcpServer | None = None

    def _context(self) -> SimDevice:
        async def action(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            registers: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            values = None if set_values is None else [int(v) for v in set_values]
            code = await self.device.on_access(start_address, address, count, registers, values)
            return None if code is None else ExcCodes(code)

        blocks = [
            SimData(address, values=regs, datatype=DataType.REGISTERS, readonly=ro)
            for address, regs, ro in self.device.initial_blocks()
        ]
        return SimDevice(0, simdata=blocks, action=action)  # id 0: answers any unit id, as a T7

    async def start(self) -> int:
        """Listen; returns the port (the real one when asked for port 0)."""
        if self._server is not None:
            return self.port
        self.device.power_cycle()
        server = ModbusTcpServer(self._context(), address=(self.host, self.port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {self.host}:{self.port} ({exc})") from exc
        self._server = server
        listening = cast(asyncio.Server, server.transport)  # pymodbus keeps its asyncio.Server there
        self.port = int(listening.sockets[0].getsockname()[1])
        log.info("simulated T7 listening on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every client connection (they see the device vanish)."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):
                # pymodbus leaves shutdown() unannotated
                await cast(Callable[[], Awaitable[None]], server.shutdown)()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class WorldProbe:
    """Snapshots of the world's battery voltage and current, refreshed in the world's own loop.

    A simulator serving from another thread must not integrate the shared battery itself (the
    battery's state is advanced by whoever looks at it, and two threads doing that at once
    would race); it reads this snapshot instead, at most ``interval_s`` of real time old.
    """

    def __init__(self, world: SimWorld, interval_s: float = 0.01) -> None:
        self.world = world
        self.interval_s = interval_s
        self.values = (world.voltage(), world.current())
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="labjack-world-probe")

    async def _run(self) -> None:
        while True:
            self.values = (self.world.voltage(), self.world.current())  # one tuple: atomic swap
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def __call__(self) -> tuple[float, float]:
        return self.values


class ThreadedT7Server:
    """A :class:`T7Server` on its own thread and event loop — a separate device, as a real T7 is.

    The GUI's event loop (Qt via qasync) delays every hop of an in-loop server behind redraws:
    measured at ~100 ms per transaction with the plots running, against ~8 ms with the server on
    its own thread. The device reads the world through a :class:`WorldProbe`.
    """

    def __init__(self, world: SimWorld, wiring: Wiring, host: str = "127.0.0.1", port: int = 0) -> None:
        self.probe = WorldProbe(world)
        self.device = SimT7(world, wiring, truth=self.probe)
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> int:
        self.probe.start()
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._main, args=(started,), name="sim-labjack", daemon=True)
        self._thread.start()
        self.port = await asyncio.wrap_future(started)
        return self.port

    def _main(self, started: concurrent.futures.Future[int]) -> None:
        async def serve() -> None:
            server = T7Server(self.device, self.host, self.port)
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            try:
                port = await server.start()
            except BaseException as exc:
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    started.set_exception(exc)
                return
            try:
                started.set_result(port)
            except concurrent.futures.InvalidStateError:  # start() was cancelled meanwhile (a slow
                await server.stop()  # machine, a soak ending during a replug): nobody serves
                return
            try:
                await self._stop.wait()
            finally:
                await server.stop()

        asyncio.run(serve())

    async def stop(self) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        self._loop = self._stop = self._thread = None
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:  # generous: a loaded machine is slow to close pymodbus's server
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 30.0)
            if thread.is_alive():
                log.warning("the simulated T7's thread did not stop within 30 s")
        await self.probe.stop()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


# -- CLI contract (benchgui/cli/sim.py) ------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Options for ``sim labjack``; under ``sim bench`` they carry a ``--labjack-`` prefix so
    they cannot clash with the other simulators' options."""
    p = "" if isinstance(parser, argparse.ArgumentParser) else "labjack-"
    parser.add_argument(
        f"--{p}port",
        dest="labjack_port",
        type=int,
        default=5020,
        metavar="N",
        help="Modbus TCP port (0: pick a free one)",
    )
    parser.add_argument(
        f"--{p}host",
        dest="labjack_host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address to bind (default loopback)",
    )
    parser.add_argument(
        f"--{p}divider-ratio",
        dest="labjack_divider_ratio",
        type=float,
        metavar="RATIO",
        default=None,
        help="LJTick-Divider ratio on the battery-voltage AIN (default: from the config, else 5)",
    )
    parser.add_argument(
        f"--{p}r-m-ohm",
        dest="labjack_r_m_ohm",
        type=float,
        metavar="OHM",
        default=None,
        help="LA 55-P measuring resistor on the battery-current AIN (default: from the config, else 100)",
    )
    parser.add_argument(
        f"--{p}seed", dest="labjack_seed", type=int, default=11, metavar="N", help="noise seed"
    )
    parser.add_argument(
        f"--{p}no-pacing",
        dest="labjack_no_pacing",
        action="store_true",
        help="answer at once (default: a T7's command-response time, 1 ms + ~1.2 ms per AIN)",
    )


def wiring_for(args: argparse.Namespace) -> Wiring:
    section = None
    with contextlib.suppress(Exception):  # a broken config must not stop a simulator
        section = load_config(getattr(args, "config", None)).config.instruments.labjack
    wiring = Wiring.from_channels((section or LabJackSection()).channels)
    ratio, r_m = getattr(args, "labjack_divider_ratio", None), getattr(args, "labjack_r_m_ohm", None)
    for wire in wiring.wires.values():
        if wire.quantity == "battery.voltage" and ratio is not None:
            wire.a, wire.b = ratio, 0.0
        if wire.quantity == "battery.current" and r_m is not None:
            wire.a, wire.b = 1000.0 / r_m, 0.0
    return wiring


async def serve(args: argparse.Namespace, world: SimWorld, ready: Callable[[str], None]) -> None:
    """Serve until cancelled."""
    device = SimT7(world, wiring_for(args), seed=args.labjack_seed)
    device.timing = not getattr(args, "labjack_no_pacing", False)
    server = T7Server(device, args.labjack_host, args.labjack_port)
    await server.start()
    ready(f"Modbus TCP on {server.address}")
    await serve_until_cancelled(server.stop)
