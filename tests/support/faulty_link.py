"""A null modem with a manipulator: a real serial link between a driver and a device simulator
that drops, duplicates, delays or corrupts what passes, on purpose.

pymodbus tests its transport with a "null modem" whose manipulator alters messages in flight;
this is the same idea on real pseudo-terminals. :class:`FaultyLink` opens the simulator's pty
like a driver would and offers the driver a pty of its own; two relay tasks carry the bytes
across. Each direction cuts its stream into frames with a :class:`Framer` (EA telegrams, text
lines) so that a fault hits a whole frame, as a glitch on a real line hits one telegram:

* ``DROP`` — the frame is lost;
* ``DUPLICATE`` — it arrives twice;
* ``DELAY`` — it (and everything behind it: a line keeps order) arrives ``delay_s`` late;
* ``CORRUPT`` — one bit of it is flipped.

Faults are *planned* by the test (a queue per direction, consumed frame by frame), so a
hypothesis test can shrink them. Every frame the device sent is recorded before manipulation
(:attr:`FaultyLink.from_device`): the ground truth of "what the simulator really sent".
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import time
from collections import deque
from typing import Protocol

from benchgui.instruments.ea import protocol as ea
from benchgui.instruments.transport import SerialTransport
from benchgui.simbench.pty import PtyPort


class Fault(enum.Enum):
    PASS = "pass"
    DROP = "drop"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    CORRUPT = "corrupt"


class Framer(Protocol):
    def feed(self, data: bytes) -> list[bytes]:
        """Bytes in, complete frames out (garbage comes out as frames of its own)."""
        ...


class EaFramer:
    """EA telegrams, whole (garbage and damaged candidates come out as they were received)."""

    def __init__(self, direction: ea.Direction) -> None:
        self._reader = ea.TelegramReader(direction, max_node=255)

    def feed(self, data: bytes) -> list[bytes]:
        self._reader.feed(data)
        out = []
        while (ev := self._reader.next_event()) is not ea.NEED_DATA:
            out.append(ev.encode() if isinstance(ev, ea.Telegram) else ev.data)  # type: ignore[union-attr]
        return out


class LineFramer:
    """Text lines, each with its line end."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while (i := self._buf.find(b"\n")) >= 0:
            out.append(bytes(self._buf[: i + 1]))
            del self._buf[: i + 1]
        return out


class Manipulator:
    """What happens to each frame of one direction: the next planned fault, else PASS."""

    def __init__(self, seed: int = 0) -> None:
        self.plan: deque[Fault] = deque()
        self.applied: list[tuple[Fault, bytes]] = []
        self.rng = random.Random(seed)

    def decide(self, frame: bytes) -> Fault:
        fault = self.plan.popleft() if self.plan else Fault.PASS
        if fault is not Fault.PASS:
            self.applied.append((fault, frame))
        return fault

    def corrupt(self, frame: bytes) -> bytes:
        raw = bytearray(frame)
        bit = self.rng.randrange(8 * len(raw))
        raw[bit // 8] ^= 1 << (bit % 8)
        return bytes(raw)


class _Pipe:
    """One direction: frames in, manipulated, written out in order (delays hold the line)."""

    def __init__(self, manipulator: Manipulator, delay_s: float) -> None:
        self.manipulator = manipulator
        self.delay_s = delay_s
        self.queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self.release = 0.0  # when the line is free again (delays hold what follows)
        self.queued = 0  # frames put on the queue so far
        self.delivered = 0  # frames written out so far (in queue order)
        self.last_frame_at = 0.0  # time.monotonic() of the latest frame in (whatever its fate)

    def put(self, frame: bytes) -> None:
        m = self.manipulator
        fault = m.decide(frame)
        now = self.last_frame_at = time.monotonic()
        at = max(now, self.release)
        if fault is Fault.DROP:
            return
        if fault is Fault.DELAY:
            at += self.delay_s
        if fault is Fault.CORRUPT:
            frame = m.corrupt(frame)
        self.release = at
        self.queue.put_nowait((at, frame))
        self.queued += 1
        if fault is Fault.DUPLICATE:
            self.queue.put_nowait((at, frame))
            self.queued += 1


class FaultyLink:
    def __init__(
        self,
        device_path: str,
        to_driver: Framer,
        to_device: Framer,
        *,
        delay_s: float = 0.3,
        seed: int = 0,
    ) -> None:
        self.device_path = device_path
        self._framers = (to_driver, to_device)
        self.down = Manipulator(seed)  # device → driver
        self.up = Manipulator(seed + 1)  # driver → device
        self.delay_s = delay_s
        #: every frame the device sent, in order, before any manipulation
        self.from_device: list[bytes] = []
        #: every frame the driver sent, in order, before any manipulation
        self.from_driver: list[bytes] = []
        self._port: PtyPort | None = None
        self._device: SerialTransport | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pipes: tuple[_Pipe, ...] = ()

    async def start(self) -> str:
        """Connect to the device; returns the path the driver opens."""
        self._device = SerialTransport(self.device_path)
        await self._device.open()
        self._port = PtyPort()
        down, up = self._pipes = (_Pipe(self.down, self.delay_s), _Pipe(self.up, self.delay_s))
        dev, port = self._device, self._port
        self._tasks = [
            asyncio.create_task(self._relay(dev.read, self._framers[0], self.from_device, down)),
            asyncio.create_task(self._relay(port.read, self._framers[1], self.from_driver, up)),
            asyncio.create_task(self._deliver(down, port.write)),
            asyncio.create_task(self._deliver(up, dev.write)),
        ]
        return port.device

    def clear_faults(self) -> None:
        self.down.plan.clear()
        self.up.plan.clear()

    async def settle(self, timeout_s: float = 30.0, quiet_s: float = 0.0) -> None:
        """Wait until every frame queued so far — the damaged ones among them — has been
        delivered. Frames queued later do not count: a device that publishes on its own keeps
        the queue busy, and after :meth:`clear_faults` those pass undamaged anyway.

        With ``quiet_s`` (for a device that only answers), also until everything is delivered
        and no frame has come in either way for ``quiet_s``: the answers to the last frames
        delivered to the device are through too, not still on their way to the driver.
        Nothing signals "the device has nothing more to say", so this is a quiet time; a long
        one only makes the wait longer.
        """
        targets = [(p, p.queued) for p in self._pipes]
        deadline = time.monotonic() + timeout_s

        def settled() -> bool:
            if any(p.delivered < n for p, n in targets):
                return False
            if not quiet_s:
                return True
            now = time.monotonic()
            return all(p.delivered == p.queued and now - p.last_frame_at >= quiet_s for p in self._pipes)

        while not settled():
            if time.monotonic() > deadline:
                raise TimeoutError("the faulty link did not settle")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await t
        if self._device is not None:
            await self._device.close()
        if self._port is not None:
            self._port.close()

    @staticmethod
    async def _relay(read, framer: Framer, record: list[bytes], pipe: _Pipe) -> None:  # type: ignore[no-untyped-def]
        while True:
            for frame in framer.feed(await read()):
                record.append(frame)
                pipe.put(frame)

    @staticmethod
    async def _deliver(pipe: _Pipe, write) -> None:  # type: ignore[no-untyped-def]
        while True:
            at, frame = await pipe.queue.get()
            wait = at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await write(frame)
            pipe.delivered += 1
