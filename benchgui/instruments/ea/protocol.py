"""EA binary telegrams (EL 3000 A loads, PS 2000 B supplies): framing, checksums, error codes.

Sans-IO in the style of h11: :class:`TelegramReader` is fed bytes as they arrive
(:meth:`~TelegramReader.feed`) and hands out events (:meth:`~TelegramReader.next_event`) —
:class:`Telegram`, :class:`Discarded` or the :data:`NEED_DATA` sentinel. Building telegrams is
:func:`query`, :func:`send`, :func:`answer`, :func:`status_answer` plus :meth:`Telegram.encode`.
No I/O, no clock, standard library (and benchgui's exception tree) only.

Layout (see ``shared/reference/ea-el3000-telegram.md``)::

    SD  DN  OBJ  DATA(0..16)  CS_hi CS_lo        CS = sum of all bytes before it, 16 bit

SD bits 7..6 are the transmission type (01 query, 10 answer, 11 send data), bit 5 the cast bit,
bit 4 the direction (1 = PC → device), bits 3..0 the data length − 1. A query carries no data
but its length field still matters: the EL 3000 refuses a query for a fixed-length object whose
length field is not (object length − 1) (error 0x08 for object 69 with SD 0x70). Answers may
carry another device node than the query (the EL 3160-60A answered DN 1 to DN 0); nothing here
checks DN against anything.

Resync: bytes that cannot start a telegram, and candidate telegrams whose checksum is wrong,
are reported as :class:`Discarded` and skipped; while a candidate is incomplete the reader looks
for a complete, checksum-valid telegram later in its buffer, so a garbage byte that looks like a
start delimiter cannot swallow the real answer behind it. After ``next_event()`` returned
``NEED_DATA`` the reader holds less than one maximal telegram (21 bytes).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from benchgui.errors import DeviceRefused, LocalProtocolError, ProtocolError

# -- constants -------------------------------------------------------------------------------

MAX_DATA: Final = 16
MAX_FRAME: Final = 3 + MAX_DATA + 2
QUERY_FRAME: Final = 5
ERROR_OBJECT: Final = 0xFF  # answers to writes (and failed queries) carry OBJ 0xFF + one code byte

SD_CAST: Final = 0x20
SD_TO_DEVICE: Final = 0x10
SD_LENGTH: Final = 0x0F


class Kind(enum.IntEnum):
    """Transmission type, SD bits 7..6."""

    RESERVED = 0
    QUERY = 1
    ANSWER = 2
    SEND = 3


class Direction(enum.Enum):
    """Which side's telegrams a reader expects: the driver reads FROM_DEVICE, a simulator TO_DEVICE."""

    FROM_DEVICE = "from device"
    TO_DEVICE = "to device"


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: returned by :meth:`TelegramReader.next_event` when more bytes are needed
NEED_DATA: Final = _NeedData()

#: reasons in :class:`Discarded`
GARBAGE: Final = "garbage"
CHECKSUM: Final = "checksum"
INCOMPLETE: Final = "incomplete"


# -- errors ------------------------------------------------------------------------------------


class EaProtocolError(ProtocolError):
    """The device sent something that does not fit the protocol or the object profile."""


class MalformedData(EaProtocolError):
    """An answer's data does not decode as its object says (wrong length, bad value)."""


class EncodeError(LocalProtocolError):
    """We were asked to build a telegram the protocol cannot express."""


class EaDeviceError(DeviceRefused):
    """The device answered with a non-zero error code (OBJ 0xFF). ``code`` is that byte."""

    code: int = -1
    meaning: str = "unknown error code"

    def __init__(self, code: int | None = None, context: str = "") -> None:
        if code is not None:
            self.code = code
        self.context = context
        where = f"{context}: " if context else ""
        super().__init__(f"{where}device refused with error 0x{self.code:02X} ({self.meaning})")


class ChecksumWrong(EaDeviceError):
    code, meaning = 0x03, "checksum wrong — the telegram was corrupted on the line"


class StartDelimiterWrong(EaDeviceError):
    code, meaning = 0x04, "start delimiter wrong"


class WrongNode(EaDeviceError):
    code, meaning = 0x05, "output/node address invalid"


class ObjectUndefined(EaDeviceError):
    code, meaning = 0x07, "object undefined — check the object number in the device profile"


class ObjectLengthWrong(EaDeviceError):
    code, meaning = 0x08, "object length incorrect — check the object length in the device profile"


class AccessDenied(EaDeviceError):
    """Also what a load answers to a set value or input command while remote control is off."""

    code, meaning = 0x09, "no access (remote control off, or a read-only object)"


class DeviceLocked(EaDeviceError):
    code, meaning = 0x0F, "device in lock state"


class UpperLimitExceeded(EaDeviceError):
    code, meaning = 0x30, "upper limit of the object exceeded"


class LowerLimitExceeded(EaDeviceError):
    code, meaning = 0x31, "lower limit of the object exceeded"


ERROR_CLASSES: Final[dict[int, type[EaDeviceError]]] = {
    cls.code: cls
    for cls in (
        ChecksumWrong,
        StartDelimiterWrong,
        WrongNode,
        ObjectUndefined,
        ObjectLengthWrong,
        AccessDenied,
        DeviceLocked,
        UpperLimitExceeded,
        LowerLimitExceeded,
    )
}
ERROR_CLASSES[0x15] = DeviceLocked  # sources disagree on the lock code (0x0F vs 0x15): accept both

#: codes that mean "our telegram was damaged on the way": sending it again may work
LINE_ERROR_CODES: Final = frozenset({0x03, 0x04})


def device_error(code: int, context: str = "") -> EaDeviceError:
    """The exception for a non-zero error code (unknown codes keep their number)."""
    cls = ERROR_CLASSES.get(code)
    return cls(code, context) if cls is not None else EaDeviceError(code, context)


# -- telegrams ---------------------------------------------------------------------------------


def checksum(data: bytes | bytearray | memoryview) -> int:
    """16-bit arithmetic sum of ``data`` (sent high byte first)."""
    return sum(data) & 0xFFFF


def make_sd(kind: Kind, length: int, *, to_device: bool, cast: bool) -> int:
    """A start delimiter announcing ``length`` (1..16) data bytes."""
    if not 1 <= length <= MAX_DATA:
        raise EncodeError(f"data length {length} outside 1..{MAX_DATA}")
    return (int(kind) << 6) | (SD_CAST if cast else 0) | (SD_TO_DEVICE if to_device else 0) | (length - 1)


def frame_length(sd: int) -> int:
    """Bytes in the telegram this SD starts: 5 for a query, 5 + length otherwise."""
    if sd >> 6 == Kind.QUERY:
        return QUERY_FRAME
    return QUERY_FRAME + (sd & SD_LENGTH) + 1


@dataclass(frozen=True, slots=True)
class Telegram:
    """One telegram as on the wire (the checksum is implied: :meth:`encode` computes it)."""

    sd: int
    node: int
    obj: int
    data: bytes = b""

    def __post_init__(self) -> None:
        for what, v in (("start delimiter", self.sd), ("device node", self.node), ("object", self.obj)):
            if not 0 <= v <= 0xFF:
                raise EncodeError(f"{what} {v} does not fit in one byte")
        if len(self.data) > MAX_DATA:
            raise EncodeError(f"{len(self.data)} data bytes, at most {MAX_DATA} fit in a telegram")

    @property
    def kind(self) -> Kind:
        return Kind(self.sd >> 6)

    @property
    def to_device(self) -> bool:
        return bool(self.sd & SD_TO_DEVICE)

    @property
    def cast(self) -> bool:
        return bool(self.sd & SD_CAST)

    @property
    def length_field(self) -> int:
        """Data length announced by SD bits 3..0 (for a query: the expected answer length)."""
        return (self.sd & SD_LENGTH) + 1

    @property
    def is_status(self) -> bool:
        """An acknowledgement or error answer: OBJ 0xFF and one code byte."""
        return self.obj == ERROR_OBJECT and len(self.data) == 1

    @property
    def error_code(self) -> int | None:
        return self.data[0] if self.is_status else None

    def encode(self) -> bytes:
        if self.kind is Kind.QUERY:
            if self.data:
                raise EncodeError("a query carries no data")
        elif len(self.data) != self.length_field:
            raise EncodeError(f"SD announces {self.length_field} data bytes, got {len(self.data)}")
        body = bytes((self.sd, self.node, self.obj)) + self.data
        return body + checksum(body).to_bytes(2, "big")

    def describe(self) -> str:
        """Short human form for logs: ``query obj 71 (6 B) node 0``."""
        if self.kind is Kind.QUERY:
            return f"query obj {self.obj} ({self.length_field} B) node {self.node}"
        if self.is_status:
            return f"{self.kind.name.lower()} status 0x{self.data[0]:02X} node {self.node}"
        return f"{self.kind.name.lower()} obj {self.obj} data {self.data.hex(' ')} node {self.node}"


def query(obj: int, expected_length: int = 1, node: int = 0, *, cast: bool = True) -> Telegram:
    """PC → device: ask for object ``obj``, announcing an answer of ``expected_length`` bytes."""
    return Telegram(make_sd(Kind.QUERY, expected_length, to_device=True, cast=cast), node, obj)


def send(obj: int, data: bytes, node: int = 0, *, cast: bool = True) -> Telegram:
    """PC → device: write ``data`` to object ``obj``."""
    return Telegram(make_sd(Kind.SEND, len(data), to_device=True, cast=cast), node, obj, bytes(data))


def answer(obj: int, data: bytes, node: int = 0) -> Telegram:
    """Device → PC: the data of object ``obj`` (what a simulator sends)."""
    return Telegram(make_sd(Kind.ANSWER, len(data), to_device=False, cast=False), node, obj, bytes(data))


def status_answer(code: int, node: int = 0) -> Telegram:
    """Device → PC: acknowledgement (0) or error code, as the EL sends it (SD 0xC0, OBJ 0xFF)."""
    if not 0 <= code <= 0xFF:
        raise EncodeError(f"error code {code} does not fit in one byte")
    return Telegram(make_sd(Kind.SEND, 1, to_device=False, cast=False), node, ERROR_OBJECT, bytes((code,)))


# -- incremental reader ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Discarded:
    """Bytes the reader skipped: ``reason`` is GARBAGE (no telegram starts here), CHECKSUM (a
    complete telegram whose checksum is wrong) or INCOMPLETE (dropped by :meth:`flush`)."""

    data: bytes
    reason: str


Event = Telegram | Discarded


class TelegramReader:
    """Frames telegrams out of a byte stream, recovering from garbage and corruption.

    ``max_node`` bounds the device-node byte a telegram may carry; together with the direction
    bit it makes random bytes unlikely to pass for a start of telegram.
    """

    def __init__(self, direction: Direction = Direction.FROM_DEVICE, max_node: int = 31) -> None:
        self.direction = direction
        self.max_node = max_node
        self._buf = bytearray()
        kinds = (Kind.ANSWER, Kind.SEND) if direction is Direction.FROM_DEVICE else (Kind.QUERY, Kind.SEND)
        want_dir = SD_TO_DEVICE if direction is Direction.TO_DEVICE else 0
        self._sd_ok = bytes(
            1 if (b >> 6) in kinds and (b & SD_TO_DEVICE) == want_dir else 0 for b in range(256)
        )
        self.telegrams = 0
        self.discarded_bytes = 0
        self.bad_checksums = 0

    @property
    def buffered(self) -> int:
        """Bytes received and not yet handed out."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    def clear(self) -> None:
        """Forget everything buffered (after a timeout, before a retry)."""
        self._buf.clear()

    def flush(self) -> Discarded | None:
        """Give up on a partial telegram (inter-telegram timeout): drop and report it."""
        if not self._buf:
            return None
        return self._discard(len(self._buf), INCOMPLETE)

    def next_event(self) -> Telegram | Discarded | _NeedData:
        buf, n, i = self._buf, len(self._buf), 0
        while i < n:
            if not self._plausible(i):
                i += 1
                continue
            length = frame_length(buf[i])
            if n - i >= length:
                if self._valid(i, length):
                    if i:
                        return self._discard(i, GARBAGE)
                    return self._take(length)
                inner = self._find_frame(i + 1, i + length)
                if inner is not None:
                    i = inner
                    continue
                if i:
                    return self._discard(i, GARBAGE)
                self.bad_checksums += 1
                return self._discard(length, CHECKSUM)
            inner = self._find_frame(i + 1, n)
            if inner is None:
                break
            i = inner
        if i:
            return self._discard(i, GARBAGE)
        return NEED_DATA

    # -- internals ---------------------------------------------------------------------------
    def _plausible(self, i: int) -> bool:
        buf = self._buf
        if not self._sd_ok[buf[i]]:
            return False
        return i + 1 >= len(buf) or buf[i + 1] <= self.max_node

    def _valid(self, i: int, length: int) -> bool:
        buf = self._buf
        end = i + length
        return checksum(memoryview(buf)[i : end - 2]) == (buf[end - 2] << 8 | buf[end - 1])

    def _find_frame(self, start: int, stop: int) -> int | None:
        """First offset in [start, stop) where a complete, checksum-valid telegram lies in the buffer."""
        n = len(self._buf)
        for j in range(start, min(stop, n)):
            if self._plausible(j):
                length = frame_length(self._buf[j])
                if j + length <= n and self._valid(j, length):
                    return j
        return None

    def _take(self, length: int) -> Telegram:
        buf = self._buf
        sd, node, obj = buf[0], buf[1], buf[2]
        data = bytes(buf[3 : length - 2])
        del buf[:length]
        self.telegrams += 1
        return Telegram(sd, node, obj, data)

    def _discard(self, count: int, reason: str) -> Discarded:
        data = bytes(self._buf[:count])
        del self._buf[:count]
        self.discarded_bytes += count
        return Discarded(data, reason)
