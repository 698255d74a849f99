"""The faults a soak run injects, through the simulators' own hooks — a pluggable set.

A :class:`Fault` is something that can go wrong on the bench and be undone: ``inject`` it,
``heal`` it (for an *outage*, after a while; a burst of garbage heals by itself).
:func:`default_faults` builds the set for an assembled simulated bench from what its sources'
simulators offer (``source.simulator``, set by the factories):

* ``unplug`` — per instrument: the EA and MPPT pty closes and its link disappears, then a new
  pty appears at the same link (USB cable out and in); the T7's Modbus server stops, dropping
  its clients, and starts again on the same port, power-cycled (Ethernet cable, power);
* ``garbage`` — random bytes on the EA and MPPT lines (line noise, a half telegram, a boot
  banner); the T7 gets none: Modbus TCP is checked by TCP, and putting bytes into pymodbus'
  stream would test pymodbus.

InfluxDB being down is a :class:`ServiceOutage` — any stop/start pair; the soak passes the one
for its private influxd in ``extra`` (:mod:`benchgui.soak.influx`), named ``down``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchgui.instruments.ea.source import LoadSource
from benchgui.instruments.labjack.source import LabJackSource
from benchgui.instruments.mppt.source import MpptSource


class Fault:
    """One kind of trouble for one instrument (or service)."""

    name = "fault"
    outage = False  # True: lasts until healed

    def __init__(self, instrument: str) -> None:
        self.instrument = instrument
        self.active = False

    @property
    def label(self) -> str:
        return f"{self.instrument} {self.name}"

    async def inject(self, rng: random.Random) -> None:
        raise NotImplementedError

    async def heal(self) -> None:
        """Undo an outage (idempotent: called for every fault at the end of a run)."""


class Unplug(Fault):
    name = "unplug"
    outage = True

    def __init__(
        self, instrument: str, unplug: Callable[[], Awaitable[Any]], replug: Callable[[], Awaitable[Any]]
    ) -> None:
        super().__init__(instrument)
        self._unplug, self._replug = unplug, replug

    async def inject(self, rng: random.Random) -> None:
        self.active = True
        await self._unplug()

    async def heal(self) -> None:
        if self.active:
            self.active = False
            await self._replug()


class ServiceOutage(Unplug):
    """A service (e.g. InfluxDB) stopped for a while and started again."""

    name = "down"


class Garbage(Fault):
    name = "garbage"

    def __init__(self, instrument: str, send: Callable[[bytes], Any]) -> None:
        super().__init__(instrument)
        self._send = send

    async def inject(self, rng: random.Random) -> None:
        data = rng.randbytes(rng.randrange(1, 40))
        if rng.random() < 0.5:
            data += b"\r\n"  # a line of its own; otherwise it damages whatever follows
        result = self._send(data)
        if hasattr(result, "__await__"):
            await result


@dataclass
class FaultLog:
    counts: Counter[str] = field(default_factory=Counter)
    by_instrument: Counter[str] = field(default_factory=Counter)

    def add(self, fault: Fault) -> None:
        self.counts[fault.label] += 1
        self.by_instrument[fault.instrument] += 1


def simulator_of(source: object) -> Any:
    """The wire-level simulator behind a simulated bench's source (None on other benches)."""
    if isinstance(source, LoadSource | MpptSource | LabJackSource):
        return source.simulator
    return None


def default_faults(asm: Any, names: Sequence[str] | None = None, extra: Sequence[Fault] = ()) -> list[Fault]:
    """Faults for the simulators of an assembled demo bench (``names`` filters by fault name)."""
    out: list[Fault] = []
    for sid, src in asm.bench.sources.items():
        sim = simulator_of(src)
        if sim is None:
            continue
        if sid in ("load", "mppt"):  # on ptys: the cable, and noise on the line
            out += [Unplug(sid, sim.vanish, sim.reappear), Garbage(sid, sim.inject)]
        elif sid == "labjack":
            out.append(Unplug(sid, sim.stop, sim.start))
    out += list(extra)
    return [f for f in out if names is None or f.name in names]
