"""Display buffers: one ring buffer per channel, sized for the display history.

The bench appends every published sample here; widgets read windows of it on a redraw timer.
Memory is fixed at start: capacity = channel rate × history × 1.2 (at least 4096 points).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchgui.clock import NS_PER_S
from benchgui.core.ringbuffer import RingBuffer
from benchgui.model import Channel, Sample


class DisplayBuffers:
    def __init__(self, history_s: float = 3900.0) -> None:
        self.history_s = history_s
        self._buffers: dict[str, RingBuffer] = {}
        self.flags: dict[str, int] = {}  # latest flags per channel (over-range shown on plots)

    def capacity_for(self, channel: Channel) -> int:
        return max(4096, math.ceil(channel.rate_hz * self.history_s * 1.2))

    def add_channel(self, channel: Channel) -> None:
        if channel.name not in self._buffers:
            self._buffers[channel.name] = RingBuffer(self.capacity_for(channel))

    def append(self, samples: Sequence[Sample]) -> None:
        buffers = self._buffers
        for s in samples:
            buf = buffers.get(s.channel)
            if buf is None:
                buf = buffers[s.channel] = RingBuffer(4096)
            buf.append(s.t_ns / NS_PER_S, s.value)  # ns_to_s, inlined: once per sample
            self.flags[s.channel] = s.flags

    def get(self, name: str) -> RingBuffer | None:
        return self._buffers.get(name)

    def names(self) -> list[str]:
        return list(self._buffers)

    def latest(self, name: str) -> tuple[float, float] | None:
        buf = self._buffers.get(name)
        return None if buf is None else buf.last()

    def clear(self) -> None:
        for name, buf in list(self._buffers.items()):
            self._buffers[name] = RingBuffer(buf.capacity)
        self.flags.clear()
