"""Wire-level simulator of an EA EL 3000 load on a pseudo-terminal (``benchgui sim ea``).

The device logic is :class:`~.simdevice.SimEaDevice`; this module puts it on a
:class:`~benchgui.simbench.pty.PtyPort` with the timing of a real line. A pty has no baud rate,
so answers are paced: a query is taken to have needed ``bits_per_byte / baud`` per byte to
arrive, the answer starts ``turnaround_s`` later (or when the line is free) and is delivered
when its last byte would have arrived. Pacing and a turnaround of :data:`TURNAROUND_S` are the
default everywhere (``benchgui sim ea``, the demo and soak benches the factory builds, the
benchmarks); ``pacing=False`` (``--no-pacing``) is for unit tests where timing is irrelevant.

Fault injection for tests: :meth:`EaSimulator.corrupt_next`, :meth:`drop_next`, ``mute``,
:meth:`vanish` (close the pty and remove the link: the device is unplugged) and
:meth:`reappear` (a new pty at the same link).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.objects import Profile
from benchgui.instruments.ea.protocol import (
    CHECKSUM,
    NEED_DATA,
    Direction,
    Discarded,
    Telegram,
    TelegramReader,
)
from benchgui.instruments.ea.simdevice import SimEaDevice, SimIdentity
from benchgui.simbench.pty import PtyPort
from benchgui.simbench.serving import PtyTaskServer, cancel_and_wait, serve_until_cancelled
from benchgui.simbench.world import SimWorld

log = logging.getLogger(__name__)

SPIN_S = 0.0015  # asyncio timers are ~1 ms coarse: spin the last bit of a paced wait
#: Device reaction time from a request's last byte to the answer's first. INFERENCE: no EA
#: document gives the EL 3000's; conservative, as client code used with real EA devices waits
#: 5 ms after a request and 40 ms after each answer (ea-psu-controller, reference [S3]).
TURNAROUND_S = 0.010


@dataclass(frozen=True)
class SimOptions:
    baud: int = 57600
    bits_per_byte: int = 11  # start + 8 data + parity + stop (8O1: reference [S1], [S2])
    pacing: bool = True
    turnaround_s: float = TURNAROUND_S
    answer_node: int = 1
    idle_flush_s: float = 0.1  # a partial telegram older than this is dropped (as a UART timeout)


class EaSimulator(PtyTaskServer):
    def __init__(
        self,
        world: SimWorld,
        profile: Profile,
        identity: SimIdentity | None = None,
        options: SimOptions | None = None,
        link: str | Path | None = None,
    ) -> None:
        self.options = options or SimOptions()
        self.device = SimEaDevice(world, profile, identity, answer_node=self.options.answer_node)
        super().__init__(Path(link) if link is not None else None)
        self.mute = False  # answer nothing at all (device hung)
        self.answers_sent = 0
        #: answers written, by object number (0xFF: acknowledgements and error codes)
        self.answers_by_object: Counter[int] = Counter()
        self._corrupt = 0
        self._drop = 0
        self._garble = 0
        self._line_free = 0.0
        self._last_answer_t: float | None = None
        #: seconds from an answer leaving the pty to the next request arriving: the driver's own
        #: gap (plus scheduling); bounded, for benchmarks
        self.gaps: deque[float] = deque(maxlen=100_000)
        #: seconds a paced answer left after the moment the line would have delivered it
        #: (scheduling of a busy machine); bounded, for benchmarks
        self.lateness: deque[float] = deque(maxlen=100_000)
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def _loops(self, port: PtyPort) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        queue: asyncio.Queue[tuple[float, Telegram | Discarded]] = asyncio.Queue()
        return [("ea-sim-rx", self._rx_loop(port, queue)), ("ea-sim-tx", self._tx_loop(port, queue))]

    async def start(self) -> str:
        if self.port is None:
            await super().start()
        assert self.port is not None
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="ea-sim-tick")
        log.info("EA simulator (%s) on %s", self.device.identity.device_type, self.port.path)
        return self.port.path

    async def stop(self) -> None:
        await self.vanish()
        await cancel_and_wait(self._ticker)
        self._ticker = None

    async def vanish(self) -> None:
        """The device is unplugged: the pty closes and the link disappears."""
        await super().stop()

    async def reappear(self) -> str:
        """The device is plugged in again: a new pty at the same link."""
        if self.link is None:
            raise RuntimeError("a simulator without a link cannot come back at the same path")
        return await self.start()

    # -- fault injection -----------------------------------------------------------------------------
    def corrupt_next(self, n: int = 1) -> None:
        """Damage the checksum of the next ``n`` answers."""
        self._corrupt += n

    def drop_next(self, n: int = 1) -> None:
        """Do not answer the next ``n`` telegrams."""
        self._drop += n

    def garble_next_request(self, n: int = 1) -> None:
        """Take the next ``n`` received telegrams as damaged on the line (answer 'checksum wrong')."""
        self._garble += n

    async def inject(self, data: bytes) -> None:
        """Send unsolicited bytes to the driver (line noise, a late answer)."""
        if self.port is not None:
            await self.port.write(data)

    # -- I/O -----------------------------------------------------------------------------------------
    async def _rx_loop(self, port: PtyPort, queue: asyncio.Queue[tuple[float, Telegram | Discarded]]) -> None:
        reader = TelegramReader(Direction.TO_DEVICE, max_node=255)
        while True:
            try:
                if reader.buffered:
                    async with asyncio.timeout(self.options.idle_flush_s):
                        data = await port.read()
                else:
                    data = await port.read()
            except TimeoutError:
                dropped = reader.flush()
                if dropped is not None:
                    log.info("EA sim: dropped an incomplete telegram %s", dropped.data.hex(" "))
                continue
            except ConnectionError:
                return
            t_rx = time.monotonic()
            reader.feed(data)
            while (ev := reader.next_event()) is not NEED_DATA:
                assert isinstance(ev, Telegram | Discarded)
                queue.put_nowait((t_rx, ev))

    async def _tx_loop(self, port: PtyPort, queue: asyncio.Queue[tuple[float, Telegram | Discarded]]) -> None:
        opts = self.options
        while True:
            t_rx, ev = await queue.get()
            if self._last_answer_t is not None:
                self.gaps.append(t_rx - self._last_answer_t)
                self._last_answer_t = None
            if isinstance(ev, Discarded):
                log.debug("EA sim: discarded %s (%s)", ev.data.hex(" "), ev.reason)
                reply = self.device.on_discarded(ev)
                rx_len = len(ev.data)
            else:
                rx_len = len(ev.encode())
                if self._garble:
                    self._garble -= 1
                    ev = Discarded(ev.encode(), CHECKSUM)
                    reply = self.device.on_discarded(ev)
                else:
                    reply = self.device.handle(ev)
            if reply is None or self.mute:
                continue
            if self._drop:
                self._drop -= 1
                continue
            raw = bytearray(self.device.wire_bytes(reply, ev if isinstance(ev, Telegram) else None))
            if not raw:
                continue
            if self._corrupt:
                self._corrupt -= 1
                raw[-1] ^= 0x5A
            if opts.pacing:
                self._line_free = end = answer_end(t_rx, rx_len, len(raw), self._line_free, opts)
                await _sleep_until(end)
                self.lateness.append(time.monotonic() - end)
            await port.write(bytes(raw))
            self.answers_sent += 1
            self.answers_by_object[reply.obj] += 1
            if queue.empty():
                self._last_answer_t = time.monotonic()

    async def _tick(self) -> None:
        """Keep the power stage current while nobody asks (CP follows the sagging battery)."""
        while True:
            await asyncio.sleep(0.2)
            self.device.stage.update()


def answer_end(t_rx: float, rx_len: int, tx_len: int, line_free: float, opts: SimOptions) -> float:
    """When the last byte of an answer would arrive on a real line.

    The request arrived on the pty at ``t_rx`` all at once; on the wire its ``rx_len`` bytes
    would have taken ``rx_len`` byte times. The answer starts after that plus the turnaround,
    or when the previous answer has left the line, and takes ``tx_len`` byte times.
    """
    byte_s = opts.bits_per_byte / opts.baud
    start = max(t_rx + rx_len * byte_s, line_free) + opts.turnaround_s
    return start + tx_len * byte_s


async def _sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > SPIN_S:
        await asyncio.sleep(remaining - SPIN_S + 0.0005)
    while time.monotonic() < deadline:
        pass


# -- command line (benchgui sim ea) --------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Options of ``benchgui sim ea``; in ``sim bench`` they are prefixed ``--ea-``."""
    p = "--ea-" if isinstance(parser, argparse._ArgumentGroup) else "--"
    ident = SimIdentity()
    nominal_help = "objects 2/3/4 (default: the profile's default_nominals)"
    options: list[tuple[str, dict[str, Any]]] = [
        ("link", {"metavar": "PATH", "help": "symlink to the pty (default: print the /dev/pts path)"}),
        (
            "baud",
            {"type": int, "default": 57600, "metavar": "BAUD", "help": "pace answers at this line speed"},
        ),
        (
            "turnaround-ms",
            {
                "type": float,
                "default": TURNAROUND_S * 1000,
                "metavar": "MS",
                "help": f"device reaction time (default {TURNAROUND_S * 1000:g}, an inference)",
            },
        ),
        (
            "no-pacing",
            {"dest": "ea_pacing", "action": "store_false", "help": "answer at once (no line timing)"},
        ),
        ("profile", {"default": "el3000", "metavar": "NAME|TOML", "help": "device profile"}),
        ("model", {"default": ident.device_type, "metavar": "TEXT", "help": "device type (object 0)"}),
        ("serial", {"default": ident.serial, "metavar": "TEXT"}),
        ("firmware", {"default": ident.firmware, "metavar": "TEXT"}),
        ("nominal-voltage", {"dest": "ea_unom", "type": float, "metavar": "V", "help": nominal_help}),
        ("nominal-current", {"dest": "ea_inom", "type": float, "metavar": "A", "help": nominal_help}),
        ("nominal-power", {"dest": "ea_pnom", "type": float, "metavar": "W", "help": nominal_help}),
        (
            "answer-node",
            {"type": int, "default": 1, "metavar": "N", "help": "device node in answers (EL: 1)"},
        ),
    ]
    for name, kw in options:
        kw.setdefault("dest", "ea_" + name.replace("-", "_"))
        parser.add_argument(f"{p}{name}", **kw)


def simulator_from_args(args: argparse.Namespace, world: SimWorld) -> EaSimulator:
    profile = load_profile(args.ea_profile)
    noms = profile.default_nominals
    ident = SimIdentity()

    def nominal(given: float | None, quantity: str, fallback: float) -> float:
        return given if given is not None else noms.get(quantity, fallback)

    identity = SimIdentity(
        device_type=args.ea_model,
        serial=args.ea_serial,
        firmware=args.ea_firmware,
        nominal_voltage=nominal(args.ea_unom, "voltage", ident.nominal_voltage),
        nominal_current=nominal(args.ea_inom, "current", ident.nominal_current),
        nominal_power=nominal(args.ea_pnom, "power", ident.nominal_power),
    )
    options = SimOptions(
        baud=args.ea_baud,
        pacing=args.ea_pacing,
        turnaround_s=args.ea_turnaround_ms / 1000.0,
        answer_node=args.ea_answer_node,
    )
    return EaSimulator(world, profile, identity, options, args.ea_link)


async def serve(args: argparse.Namespace, world: SimWorld, ready: Callable[[str], None]) -> None:
    """Serve until cancelled (SIGINT/SIGTERM in ``benchgui sim``)."""
    sim = simulator_from_args(args, world)
    await sim.start()
    assert sim.port is not None
    o = sim.options
    pacing = f"paced at {o.baud} baud 8O1, turnaround {o.turnaround_s * 1000:g} ms" if o.pacing else "unpaced"
    where = sim.port.path if sim.link is None else f"{sim.port.path} -> {sim.port.device}"
    ready(f"{where} ({sim.device.identity.device_type}, {pacing})")
    await serve_until_cancelled(sim.stop)
