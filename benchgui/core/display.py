"""Display buffers: one ring buffer per channel, sized for the display history.

The bench appends every published sample here; widgets read windows of it when they draw. A
count of samples appended per channel (:meth:`DisplayBuffers.version`) tells a plot whether a
trace has anything new, so a frame is drawn only then (issue 19).
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
        self._appended: dict[str, int] = {}  # samples appended per channel, ever

    def capacity_for(self, channel: Channel) -> int:
        return max(4096, math.ceil(channel.rate_hz * self.history_s * 1.2))

    def add_channel(self, channel: Channel) -> None:
        if channel.name not in self._buffers:
            self._buffers[channel.name] = RingBuffer(self.capacity_for(channel))

    def append(self, samples: Sequence[Sample]) -> None:
        buffers, appended = self._buffers, self._appended
        for s in samples:
            buf = buffers.get(s.channel)
            if buf is None:
                buf = buffers[s.channel] = RingBuffer(4096)
            buf.append(s.t_ns / NS_PER_S, s.value)  # ns_to_s, inlined: once per sample
            self.flags[s.channel] = s.flags
            appended[s.channel] = appended.get(s.channel, 0) + 1

    def version(self, name: str) -> int:
        """Samples ever appended to ``name``: changes exactly when the channel has news."""
        return self._appended.get(name, 0)

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
            self._appended[name] = self._appended.get(name, 0) + 1  # emptied is news too
        self.flags.clear()
