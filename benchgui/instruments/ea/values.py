"""What the bytes of an EA object mean: object specs and the value codec (pure, stdlib only).

The object table is data (``profiles/*.toml``, loaded by :mod:`.objects`) because several
EL 3000 objects are not confirmed by any public document. This module only knows value *types*:

* ``string`` — ASCII, NUL/EOL-terminated (the EL sends ``"EL 3160-60A\\0"``);
* ``float`` — IEEE-754 single, big-endian (nominals, the Ah counter);
* ``u8`` / ``u16`` — unsigned big-endian; a ``u16`` with a ``scale`` of ``voltage``/``current``/
  ``power``/``resistance`` is a set or actual value in "percent × 256" of that nominal
  (``full_scale`` = 25600 = 100 %);
* ``mask`` — a control byte written as (mask, value); read back as (meaningless mask, value);
* ``struct`` — several named ``u8``/``u16``/``float`` fields (object 71: U, I, P).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from benchgui.instruments.ea.protocol import EncodeError, MalformedData

TYPES: Final = ("string", "float", "u8", "u16", "mask", "struct", "bytes")
FIELD_TYPES: Final = ("u8", "u16", "float")
SCALES: Final = ("voltage", "current", "power", "resistance")
ACCESS: Final = ("ro", "rw", "wo")
_SIZES: Final = {"u8": 1, "u16": 2, "float": 4}
_FORMATS: Final = {"u8": ">B", "u16": ">H", "float": ">f"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    scale: str | None = None

    @property
    def size(self) -> int:
        return _SIZES[self.type]


@dataclass(frozen=True)
class ObjectSpec:
    """One object of a device's object list.

    ``length`` is the data length (for strings: the maximum); ``query_length`` is what a query
    announces in its SD length field (the EL wants the object length for fixed-length objects
    and accepts 1 for strings). ``accept_length_0`` says the device also answers a query whose
    SD length field is 0 (SD ``0x70``, what PS 2000 B clients send for every object); the EL
    answers that with 0x08 for object 69. ``confirmed`` is False where no EA document confirms
    the object for this device family.
    """

    role: str
    number: int
    type: str
    length: int
    access: str = "ro"
    query_length: int = 1
    scale: str | None = None
    max_raw: int | None = None  # writes above are refused by the device (0x30); None: no limit
    fields: tuple[FieldSpec, ...] = ()
    confirmed: bool = True
    description: str = ""
    accept_length_0: bool = False

    @property
    def readable(self) -> bool:
        return self.access in ("ro", "rw")

    @property
    def writable(self) -> bool:
        return self.access in ("rw", "wo")

    @property
    def fixed_length(self) -> bool:
        return self.type != "string"

    def accepts_query(self, length_field: int) -> bool:
        """Whether the device answers a query announcing ``length_field`` data bytes (else 0x08)."""
        if not self.fixed_length or length_field == self.length:
            return True
        return self.accept_length_0 and length_field == 1  # SD length bits 0 announce 1 byte

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


Nominals = Mapping[str, float]


@dataclass(frozen=True)
class Scaling:
    """Conversion between physical values and "percent × 256" raw words."""

    nominals: Mapping[str, float] = field(default_factory=dict)
    full_scale: int = 25600

    def to_physical(self, raw: int, scale: str | None) -> float:
        if scale is None:
            return float(raw)
        return raw * self._nominal(scale) / self.full_scale

    def to_raw(self, value: float, scale: str | None) -> int:
        if not math.isfinite(value):
            raise EncodeError(f"cannot encode {value!r}")
        return round(value if scale is None else value * self.full_scale / self._nominal(scale))

    def _nominal(self, scale: str) -> float:
        nom = self.nominals.get(scale)
        if not nom:
            raise EncodeError(f"nominal {scale} unknown (identify the device first)")
        return float(nom)


def decode(spec: ObjectSpec, data: bytes, scaling: Scaling | None = None) -> Any:
    """Decode an answer's data for ``spec``; :class:`MalformedData` if it does not fit."""
    scaling = scaling or Scaling()
    t = spec.type
    if t == "string":
        if len(data) > spec.length:
            raise _length_error(spec, data, f"at most {spec.length}")
        text = data.split(b"\0", 1)[0].decode("latin-1")
        return text.replace("\r", "").replace("\n", "").strip()
    if t == "bytes":
        return bytes(data)
    if len(data) != spec.length:
        raise _length_error(spec, data, str(spec.length))
    if t == "mask":
        return data[-1]  # a read answers (mask, value); the mask byte carries no information
    if t == "struct":
        out: dict[str, float] = {}
        offset = 0
        for f in spec.fields:
            (raw,) = struct.unpack_from(_FORMATS[f.type], data, offset)
            offset += f.size
            out[f.name] = _scaled(raw, f.type, f.scale, scaling)
        return out
    (raw,) = struct.unpack(_FORMATS[t], data)
    return _scaled(raw, t, spec.scale, scaling)


def encode(spec: ObjectSpec, value: Any, scaling: Scaling | None = None) -> bytes:
    """Encode ``value`` as the data of a write (or of a simulator's answer) for ``spec``.

    ``mask`` objects take a ``(mask, value)`` pair; ``struct`` objects a mapping of field names.
    """
    scaling = scaling or Scaling()
    t = spec.type
    try:
        if t == "string":
            raw = str(value).encode("latin-1") + b"\0"
            if len(raw) > spec.length:
                raise EncodeError(f"{spec.role}: {value!r} is longer than {spec.length - 1} characters")
            return raw
        if t == "bytes":
            data = bytes(value)
        elif t == "mask":
            mask, bits = value
            data = bytes((int(mask), int(bits)))
        elif t == "struct":
            data = b"".join(
                struct.pack(_FORMATS[f.type], _raw(value[f.name], f.type, f.scale, scaling))
                for f in spec.fields
            )
        else:
            data = struct.pack(_FORMATS[t], _raw(value, t, spec.scale, scaling))
    except (struct.error, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"{spec.role}: cannot encode {value!r} as {t}: {exc}") from exc
    if len(data) != spec.length:
        raise EncodeError(f"{spec.role}: encoded {len(data)} bytes, the object has {spec.length}")
    return data


def _scaled(raw: int | float, t: str, scale: str | None, scaling: Scaling) -> float:
    if t == "float":
        return float(raw)
    return scaling.to_physical(int(raw), scale)


def _raw(value: Any, t: str, scale: str | None, scaling: Scaling) -> int | float:
    if t == "float":
        return float(value)
    return scaling.to_raw(float(value), scale)


def _length_error(spec: ObjectSpec, data: bytes, expected: str) -> MalformedData:
    return MalformedData(
        f"object {spec.number} ({spec.role}) answered {len(data)} data bytes, the profile expects "
        f"{expected} — check the profile (data: {data.hex(' ')})"
    )
