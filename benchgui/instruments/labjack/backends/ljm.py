"""LJM backend: LabJack's own library (USB as on the bench, or Ethernet/WiFi).

``labjack-ljm`` on PyPI is only a ctypes wrapper; the native library (libLabJackM) comes from
LabJack's installer. Without it the wrapper still imports — it prints a complaint to stdout and
leaves its library handle empty — so :func:`load_ljm` checks for that, keeps the wrapper quiet,
and raises :class:`LjmUnavailable` with what to install. Nothing imports this module until a
source configured with ``backend = "ljm"`` connects.

The LJM calls block (USB transfers), so each runs in this backend's own single worker thread:
the asyncio loop (and the GUI) never waits on them, and calls on one handle stay in order.

**Not exercised on hardware by the tests**: they run this backend against a stand-in for the
``ljm`` module and assert the calls and register names it uses (``openS("T7", "USB", "ANY")``,
``eReadNames``, ``eWriteNames``, ``close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from benchgui.errors import TransportError
from benchgui.instruments.labjack.backends.base import (
    LJM_INSTALLER_URL,
    DeviceInfo,
    LabJackBackend,
    LjmUnavailable,
    T7Refused,
)
from benchgui.instruments.labjack.registers import AinSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

INSTALL_HINT = (
    f"install LabJack's LJM library from {LJM_INSTALLER_URL} (the Python package labjack-ljm "
    'is only a wrapper around it), or use backend = "modbus" for a T7 on Ethernet/WiFi'
)


def load_ljm() -> Any:
    """The ``labjack.ljm`` module, ready to use — or :class:`LjmUnavailable` saying what is missing."""
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet):  # the wrapper prints when the library is missing
            from labjack import ljm
    except ImportError as exc:
        raise LjmUnavailable(
            f"LabJack LJM backend unavailable: the Python package labjack-ljm is not installed "
            f"(pip install labjack-ljm); also {INSTALL_HINT}"
        ) from exc
    except Exception as exc:  # anything the vendor wrapper raises while loading
        raise LjmUnavailable(f"LabJack LJM backend unavailable ({exc}): {INSTALL_HINT}") from exc
    inner = sys.modules.get("labjack.ljm.ljm")
    if inner is not None and getattr(inner, "_staticLib", True) is None:
        said = quiet.getvalue().strip().rpartition(">: ")[2]  # drop the wrapper's "<class …>: "
        raise LjmUnavailable(
            "LabJack LJM backend unavailable: the native LJM library (libLabJackM) is not installed "
            f"on this machine; {INSTALL_HINT}" + (f" [{said}]" if said else "")
        )
    return ljm


class LjmBackend(LabJackBackend):
    kind = "ljm"

    def __init__(
        self,
        connection: str = "USB",
        identifier: str = "ANY",
        device_type: str = "T7",
        ljm_module: Any = None,
    ) -> None:
        self.connection, self.identifier, self.device_type = connection, identifier, device_type
        self._ljm = ljm_module  # a stand-in in tests; loaded on open otherwise
        self._handle: int | None = None
        self._pool: ThreadPoolExecutor | None = None

    @property
    def where(self) -> str:
        return f"ljm {self.connection} {self.identifier}"

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="benchgui-ljm")
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _error_types(self) -> tuple[type[BaseException], ...]:
        err = getattr(self._ljm, "LJMError", None)
        return (err,) if isinstance(err, type) else ()

    async def open(self) -> DeviceInfo:
        if self._ljm is None:
            self._ljm = load_ljm()  # raises LjmUnavailable with the install hint
        await self.close()
        ljm = self._ljm
        try:
            handle = await self._call(ljm.openS, self.device_type, self.connection, self.identifier)
        except self._error_types() as exc:
            raise TransportError(
                f"LJM cannot open a {self.device_type} ({self.connection}, {self.identifier}): {exc}"
            ) from exc
        self._handle = handle
        names = ["PRODUCT_ID", "HARDWARE_VERSION", "FIRMWARE_VERSION", "SERIAL_NUMBER"]
        values = await self._read_names(names)
        return DeviceInfo(
            product_id=round(values[0]),
            hardware=float(values[1]),
            firmware=float(values[2]),
            serial=round(values[3]),
            via=self.where,
        )

    async def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and self._ljm is not None:
            with contextlib.suppress(Exception):
                await self._call(self._ljm.close, handle)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    async def _read_names(self, names: Sequence[str]) -> list[float]:
        if self._handle is None:
            raise TransportError(f"{self.where}: not open")
        try:
            values = await self._call(self._ljm.eReadNames, self._handle, len(names), list(names))
        except self._error_types() as exc:
            await self.close()
            raise TransportError(f"{self.where}: reading {', '.join(names)} failed: {exc}") from exc
        return [float(v) for v in values]

    async def read_ains(self, ains: Sequence[int]) -> list[float]:
        # eReadNames packs every name into one Modbus packet: one transaction per poll
        return await self._read_names([f"AIN{a}" for a in ains])

    async def write_settings(self, settings: AinSettings) -> None:
        if self._handle is None:
            raise TransportError(f"{self.where}: not open")
        values = settings.names()
        try:
            await self._call(
                self._ljm.eWriteNames, self._handle, len(values), list(values), list(values.values())
            )
        except self._error_types() as exc:
            shown = ", ".join(f"{k} = {v:g}" for k, v in values.items())
            raise T7Refused(f"T7 refused {shown}: {exc}") from exc

    async def write_many(self, settings: Sequence[AinSettings]) -> None:
        """One ``eWriteNames`` for every input (LJM packs it into as few packets as it can)."""
        if self._handle is None:
            raise TransportError(f"{self.where}: not open")
        values = {k: v for s in settings for k, v in s.names().items()}
        try:
            await self._call(
                self._ljm.eWriteNames, self._handle, len(values), list(values), list(values.values())
            )
        except self._error_types() as exc:
            shown = ", ".join(f"{k} = {v:g}" for k, v in values.items())
            raise T7Refused(f"T7 refused {shown}: {exc}") from exc

    async def read_many(self, ains: Sequence[int]) -> list[AinSettings]:
        names = [n for a in ains for n in setting_names(a)]
        v = await self._read_names(names)
        return [
            AinSettings(a, v[4 * i] or 10.0, round(v[4 * i + 1]), round(v[4 * i + 2]), v[4 * i + 3])
            for i, a in enumerate(ains)
        ]

    async def read_settings(self, ain: int) -> AinSettings:
        return (await self.read_many([ain]))[0]


def setting_names(ain: int) -> list[str]:
    return [f"AIN{ain}_RANGE", f"AIN{ain}_NEGATIVE_CH", f"AIN{ain}_RESOLUTION_INDEX", f"AIN{ain}_SETTLING_US"]
