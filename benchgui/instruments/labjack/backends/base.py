"""The one driver interface both LabJack backends implement, and their errors.

A backend is a connection to one T7: open it (learning the device identity), configure analog
inputs, read a set of AINs in one transaction, close it. Everything is async; a backend whose
library blocks (LJM) runs its calls in an executor. Failures surface as the bench's error tree:
:class:`~benchgui.errors.TransportError` (gone — reconnect), :class:`T7Refused` (the device said
no to a value), :class:`LjmUnavailable` (cannot work here at all).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchgui.errors import DeviceRefused, ValueOutOfRange
from benchgui.instruments.base import SourceUnavailable
from benchgui.instruments.labjack.registers import T7_PRODUCT_ID, AinSettings, float32, range_or_none

LJM_INSTALLER_URL = "https://labjack.com/support/software/installers/ljm"


class T7Refused(DeviceRefused):
    """The T7 refused a register write or read (Modbus exception / LJM error)."""


class LjmUnavailable(SourceUnavailable):
    """LabJack's LJM library cannot be used on this machine (not installed): the source says so
    and does not retry."""


@dataclass(frozen=True)
class DeviceInfo:
    product_id: int
    firmware: float
    serial: int
    hardware: float | None = None
    via: str = ""  # backend and address, for status lines
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return "T7" if self.product_id == T7_PRODUCT_ID else f"LabJack product {self.product_id}"

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "model": self.model,
            "product_id": self.product_id,
            "serial": str(self.serial),
            "firmware": f"{self.firmware:.4f}",
            "via": self.via,
        }
        if self.hardware is not None:
            d["hardware"] = f"{self.hardware:.2f}"
        return d


class LabJackBackend(abc.ABC):
    """One connection to one T7."""

    #: ``modbus`` or ``ljm``
    kind: str = ""
    #: where a wire trace wants the raw bytes ``(to_device, data)``; only a backend that sees
    #: them (Modbus TCP) records anything — LJM keeps its bytes inside the native library
    trace: Callable[[bool, bytes], None] | None = None

    @property
    @abc.abstractmethod
    def where(self) -> str:
        """Backend and address for messages (``modbus 127.0.0.1:5020``, ``ljm USB ANY``)."""

    @abc.abstractmethod
    async def open(self) -> DeviceInfo:
        """Connect and read PRODUCT_ID, FIRMWARE_VERSION and SERIAL_NUMBER."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def read_ains(self, ains: Sequence[int]) -> list[float]:
        """Volts of ``ains`` (in that order), read in one transaction."""

    @abc.abstractmethod
    async def write_settings(self, settings: AinSettings) -> None:
        """Write AIN#_RANGE, _NEGATIVE_CH, _RESOLUTION_INDEX and _SETTLING_US."""

    @abc.abstractmethod
    async def read_settings(self, ain: int) -> AinSettings:
        """Read the four settings back from the device."""

    async def configure(self, settings: Sequence[AinSettings]) -> None:
        """Write every input's settings and check that the device holds them.

        Values a T7 would refuse are refused here, before anything is sent.
        """
        for s in settings:
            problems = s.problems()
            if problems:
                raise ValueOutOfRange("; ".join(problems))
        await self.write_many(settings)
        held = await self.read_many([s.ain for s in settings])
        for s, got in zip(settings, held, strict=True):
            if not _same(got, s):
                raise T7Refused(f"AIN{s.ain} holds {got} after writing {s}")

    async def write_many(self, settings: Sequence[AinSettings]) -> None:
        """Write several inputs' settings (a backend may batch them)."""
        for s in settings:
            await self.write_settings(s)

    async def read_many(self, ains: Sequence[int]) -> list[AinSettings]:
        return [await self.read_settings(a) for a in ains]


def _same(a: AinSettings, b: AinSettings) -> bool:
    return (
        range_or_none(a.range_v) == range_or_none(b.range_v)
        and a.negative_ch == b.negative_ch
        and a.resolution_index == b.resolution_index
        and abs(a.settling_us - float32(b.settling_us)) <= 1e-3
    )
