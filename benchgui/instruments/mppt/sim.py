"""The simulated MPPT 1210 HUS on a pseudo-terminal: ``benchgui sim mppt --link mppt.pty``.

:class:`MpptSimServer` runs a :class:`~benchgui.instruments.mppt.sim_model.MpptModel` in bench
time (``world.clock``): a control tick at least once per bench second (the charger acts on the
shared battery even when nobody listens) and one publication statement per period. Output goes
through one writer task, so a statement and an answer never interleave mid-line, and like a
UART the device never blocks: when nobody reads the port for a while, what is queued for the
host is flushed.

Timing (real time, like the line): with ``pace_baud`` (the default of ``benchgui sim mppt`` and
of the factory's demo/soak bench) every line takes 10 bits per byte at that baud rate (8N1) and
an answer starts :data:`TURNAROUND_S` after the request's last byte would have arrived. Evidence
(LibreSolar/charge-controller-firmware ``app/src/ext/serial.cpp``): one thread handles requests
and publications — a request is processed as soon as its ``\n`` arrives and its answer written
byte by byte (``uart_poll_out``), so an answer waits behind a statement being written, as the
single writer here does. The turnaround itself is an INFERENCE (thread wake-up plus
``ts.process``, well under a millisecond on the STM32; 1 ms taken).

Fault injection for tests: :meth:`~MpptSimServer.inject` (raw bytes, e.g. a log line or
garbage), :meth:`~MpptSimServer.vanish` / :meth:`~MpptSimServer.reappear` (the USB cable
unplugged and back, at the same link path), ``muted`` (stop answering requests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import termios
import time
from collections.abc import Callable
from pathlib import Path

from benchgui.instruments.mppt.lines import Sentinel
from benchgui.instruments.mppt.protocol import DeviceCodec
from benchgui.instruments.mppt.sim_model import BOOT_BANNER, MpptModel
from benchgui.instruments.mppt.sim_tree import SimOptions
from benchgui.simbench.pty import PtyPort, trace_sent
from benchgui.simbench.serving import cancel_and_wait
from benchgui.simbench.world import SimWorld

log = logging.getLogger(__name__)

WRITE_STALL_S = 0.5  # nobody read for this long: drop what is queued for the host
QUEUE_LINES = 256
BITS_PER_BYTE = 10  # 8N1 (README: 115200 8N1 on the UEXT connector)
TURNAROUND_S = 0.001  # request's last byte → answer's first: an INFERENCE, see above


class MpptSimServer:
    def __init__(
        self,
        world: SimWorld,
        link: str | os.PathLike[str] | None = None,
        options: SimOptions | None = None,
        pace_baud: float | None = None,
        turnaround_s: float = TURNAROUND_S,
    ) -> None:
        self.world = world
        self.link = Path(link) if link is not None else None
        self.model = MpptModel(world, options)
        self.pace_baud = pace_baud
        self.turnaround_s = turnaround_s  # only with pace_baud
        self.port: PtyPort | None = None
        self.muted = False
        self.publication_paused = False  # see pause_publication()
        self.statements_sent = 0  # queued for the host
        self.statements_written = 0  # written to the port in full (what a host could read)
        self.requests_answered = 0
        self.dropped_lines = 0
        self._out: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue(QUEUE_LINES)  # (data, not before)
        self._control: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        if self.port is None:
            raise RuntimeError("the simulated MPPT is not on a port (vanished or not started)")
        return self.port.path

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> str:
        """Open the pty (and link), start serving; returns the path a driver opens."""
        if self._control is None:
            self._control = asyncio.create_task(self._control_loop(), name="mppt-sim-control")
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="mppt-sim-writer")
        await self.reappear()
        return self.path

    async def reappear(self) -> None:
        """Plug the device back in: a new pty at the same link path, the boot banner."""
        if self.port is not None:
            return
        self.port = PtyPort(self.link)
        self._reader = asyncio.create_task(self._read_loop(self.port), name="mppt-sim-reader")
        self.send(BOOT_BANNER)
        log.info("simulated MPPT on %s (%s)", self.port.path, self.port.device)

    async def vanish(self) -> None:
        """Unplug: the pty closes and the link disappears. The device keeps charging."""
        port, self.port = self.port, None
        reader, self._reader = self._reader, None
        await cancel_and_wait(reader)
        if port is not None:
            port.close()
        while not self._out.empty():
            self._out.get_nowait()

    async def aclose(self) -> None:
        await self.vanish()
        await cancel_and_wait(self._control, self._writer)
        self._control = self._writer = None

    async def __aenter__(self) -> MpptSimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- output --------------------------------------------------------------------------------
    def send(self, data: bytes, not_before: float = 0.0) -> None:
        """Queue bytes for the host (dropped, and counted, when the queue is full); with pacing
        they start on the line no earlier than ``not_before`` (``time.monotonic()``)."""
        if self.port is None:
            return
        try:
            self._out.put_nowait((data, not_before))
        except asyncio.QueueFull:
            self.dropped_lines += 1

    def pause_publication(self) -> None:
        """Queue no more statements (requests are still answered): a soak stops the flow before
        it compares what was written with what the host read, so nothing is counted in flight."""
        self.publication_paused = True

    def inject(self, data: bytes) -> None:
        """Fault injection: put raw bytes on the line (noise, garbage, half lines)."""
        self.send(data)

    async def _write_loop(self) -> None:
        while True:
            data, not_before = await self._out.get()
            port = self.port
            if port is None:
                continue
            if self.pace_baud:
                # on the line from not_before (or now), delivered when its last byte would be
                delay = max(0.0, not_before - time.monotonic()) + len(data) * BITS_PER_BYTE / self.pace_baud
                await asyncio.sleep(delay)
            if await self._write_all(port, data) and data.startswith(b"#"):
                self.statements_written += 1

    async def _write_all(self, port: PtyPort, data: bytes) -> bool:
        """Write like a UART that never blocks; True if every byte went out."""
        trace_sent(data)  # benchgui sim --trace
        view = memoryview(data)
        stalled_since: float | None = None
        complete = True
        while view and self.port is port:
            try:
                view = view[os.write(port.master, view) :]
                stalled_since = None
            except BlockingIOError:
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > WRITE_STALL_S:  # nobody reads: a UART would lose it
                    with contextlib.suppress(OSError):
                        termios.tcflush(port.master, termios.TCOFLUSH)
                    self.dropped_lines += 1
                    stalled_since = None
                    complete = False
                await asyncio.sleep(0.002)
            except OSError:
                return False
        return complete and not view

    # -- input ---------------------------------------------------------------------------------
    async def _read_loop(self, port: PtyPort) -> None:
        codec = DeviceCodec()
        with contextlib.suppress(ConnectionError):
            while True:
                data = await port.read()
                # the request's bytes arrived at once on the pty; on the line the last one would
                # have needed their wire time, and the device answers a turnaround after it
                ready = time.monotonic() + (
                    len(data) * BITS_PER_BYTE / self.pace_baud + self.turnaround_s if self.pace_baud else 0.0
                )
                codec.feed(data)
                while not isinstance(req := codec.next_event(), Sentinel):
                    if self.muted:
                        continue
                    self.model.tick()  # answer with values as of now
                    self.send(self.model.handle(req), ready)
                    self.requests_answered += 1
                    for extra in self.model.output_queue:
                        self.send(extra, ready)
                    self.model.output_queue.clear()

    # -- bench-time loop -------------------------------------------------------------------------
    async def _control_loop(self) -> None:
        clock = self.world.clock
        m = self.model
        next_tick = next_pub = clock.monotonic()
        while True:
            now = clock.monotonic()
            if m.period_changed:
                m.period_changed = False
                next_pub = now + m.period_s
            control_s = min(1.0, m.period_s)
            if now >= next_tick:
                m.tick()
                next_tick = next_tick + control_s if now - next_tick < 10 * control_s else now + control_s
            if now >= next_pub:
                if m.publication_enabled and self.port is not None and not self.publication_paused:
                    self.send(m.statement())
                    self.statements_sent += 1
                next_pub = next_pub + m.period_s if now - next_pub < 10 * m.period_s else now + m.period_s
            await clock.sleep(max(0.0, min(next_tick, next_pub) - clock.monotonic()))


# -- CLI contract (benchgui/cli/sim.py) ------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Options of ``benchgui sim mppt``. Alone, ``--link`` etc. work; inside ``sim bench`` (an
    argument group shared with other simulators) only the ``--mppt-…`` spellings exist."""
    alone = isinstance(parser, argparse.ArgumentParser)

    def names(opt: str) -> list[str]:
        return [f"--{opt}", f"--mppt-{opt}"] if alone else [f"--mppt-{opt}"]

    parser.add_argument(
        *names("link"), dest="mppt_link", metavar="PATH", help="symlink to the pty (e.g. mppt.pty)"
    )
    parser.add_argument(
        *names("period"),
        dest="mppt_period",
        type=float,
        default=1.0,
        metavar="S",
        help="publication period in bench seconds (default 1)",
    )
    parser.add_argument(
        *names("firmware"),
        dest="mppt_firmware",
        choices=("old", "new"),
        default="old",
        help='statement form: old "# {…}" (2021 firmware, default) or new "#serial {…}"',
    )
    parser.add_argument(
        *names("load-output-a"),
        dest="mppt_load_output_a",
        type=float,
        default=0.0,
        metavar="A",
        help="a consumer on the MPPT's load terminals (default 0)",
    )
    parser.add_argument(
        *names("fixed-period"),
        dest="mppt_fixed_period",
        action="store_true",
        help="no pub/serial/Period_s (answers :A4, as the 2021 firmware)",
    )
    parser.add_argument(
        *names("no-pacing"),
        dest="mppt_no_pacing",
        action="store_true",
        help="write as fast as possible (default: 115200 baud 8N1, answers 1 ms after a request)",
    )


async def serve(args: argparse.Namespace, world: SimWorld, ready: Callable[[str], None]) -> None:
    options = SimOptions(
        period_s=getattr(args, "mppt_period", 1.0),
        firmware=getattr(args, "mppt_firmware", "old"),
        load_output_a=getattr(args, "mppt_load_output_a", 0.0),
        fixed_period=getattr(args, "mppt_fixed_period", False),
    )
    pace = None if getattr(args, "mppt_no_pacing", False) else 115200.0
    server = MpptSimServer(world, getattr(args, "mppt_link", None), options, pace_baud=pace)
    try:
        path = await server.start()
        dev = server.port.device if server.port is not None else path
        ready(f"{path} -> {dev}" if path != dev else path)
        await asyncio.Event().wait()  # serve until cancelled
    finally:
        await server.aclose()
