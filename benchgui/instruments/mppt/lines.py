"""Bytes in any chunking → lines (LF, CR or CRLF), over-long lines cut and reported. Stdlib only."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

#: longest line accepted (the firmware's TX buffer can be configured up to 2048 bytes)
MAX_LINE: Final = 2048


class Sentinel:
    """A named marker value (h11's style: not None, so it cannot be mistaken for data)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: returned by ``next_event()`` when a complete line has not arrived yet
NEED_DATA: Final = Sentinel("NEED_DATA")


@dataclass(frozen=True)
class LineTooLong:
    """A line exceeded ``limit`` bytes; ``head`` is its beginning. The rest was discarded."""

    head: bytes
    limit: int


class LineSplitter:
    """Bytes in any chunking → complete lines (LF, CR or CRLF), over-long lines cut."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError("max_line must be >= 1")
        self.max_line = max_line
        self._buf = bytearray()
        self._skipping = False  # inside the tail of an over-long line
        self._out: deque[bytes | LineTooLong] = deque()

    def feed(self, data: bytes) -> None:
        buf = self._buf
        if b"\n" not in data and b"\r" not in data:  # the middle of a line: the common case
            if not self._skipping:
                buf += data
                if len(buf) > self.max_line:
                    self._out.append(LineTooLong(bytes(buf[: self.max_line]), self.max_line))
                    self._skipping = True
                    buf.clear()
            return
        buf += data
        start = 0
        n = len(buf)
        while start < n:
            cr = buf.find(b"\r", start)
            lf = buf.find(b"\n", start)
            end = lf if cr < 0 else cr if lf < 0 else min(cr, lf)
            if end < 0:
                break
            if self._skipping:
                self._skipping = False
            elif end - start > self.max_line:
                self._out.append(LineTooLong(bytes(buf[start : start + self.max_line]), self.max_line))
            elif end > start:
                self._out.append(bytes(buf[start:end]))
            start = end + 1
        del buf[:start]
        if len(buf) > self.max_line:
            if not self._skipping:
                self._out.append(LineTooLong(bytes(buf[: self.max_line]), self.max_line))
                self._skipping = True
            buf.clear()

    def next_line(self) -> bytes | LineTooLong | Sentinel:
        return self._out.popleft() if self._out else NEED_DATA

    @property
    def buffered(self) -> int:
        """Bytes waiting for their line end."""
        return len(self._buf)
