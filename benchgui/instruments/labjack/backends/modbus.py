"""Modbus TCP backend: a T7 on Ethernet or WiFi (port 502), or the simulator — no native library.

pymodbus' ``AsyncModbusTcpClient`` carries the transactions; its own reconnect is switched off
(``reconnect_delay=0``) because reconnecting is the source's job, with the bench's back-off, and
its retries too (``retries=0``) because a poll that fails is simply the next poll. Register
arithmetic and value coding live in :mod:`..registers`; this module only moves registers.

A poll reads every requested AIN in one holding-register read spanning them (FLOAT32,
most significant word first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from benchgui.errors import InstrumentTimeout, TransportError
from benchgui.instruments.labjack import registers as reg
from benchgui.instruments.labjack.backends.base import DeviceInfo, LabJackBackend, T7Refused
from benchgui.instruments.labjack.registers import AinSettings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
MODBUS_EXCEPTIONS = {
    1: "ILLEGAL FUNCTION",
    2: "ILLEGAL DATA ADDRESS",
    3: "ILLEGAL DATA VALUE",
    4: "SERVER DEVICE FAILURE",
    6: "SERVER DEVICE BUSY",
}


class ModbusBackend(LabJackBackend):
    kind = "modbus"

    def __init__(self, host: str, port: int = 502, timeout_s: float = 1.0, unit_id: int = 1) -> None:
        self.host, self.port, self.timeout_s, self.unit_id = host, port, timeout_s, unit_id
        self._client: Any = None
        self._lock = asyncio.Lock()  # one transaction at a time, whoever asks (poll loop, panel)

    @property
    def where(self) -> str:
        return f"modbus {self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    async def open(self) -> DeviceInfo:
        from pymodbus.client import AsyncModbusTcpClient

        await self.close()
        # pymodbus uses one timeout for connecting and for answers; a connect gets at least
        # CONNECT_TIMEOUT_S (a GUI loop busy with its first paint must not fail it), answers
        # get timeout_s from the first transaction on.
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            timeout=max(self.timeout_s, CONNECT_TIMEOUT_S),
            retries=0,
            reconnect_delay=0,
            trace_packet=self._trace_packet,
        )
        try:
            ok = await asyncio.wait_for(client.connect(), max(self.timeout_s, CONNECT_TIMEOUT_S) + 1.0)
        except (OSError, TimeoutError) as exc:
            ok = False
            log.debug("connect to %s failed: %s", self.where, exc)
        if not ok:
            client.close()
            raise TransportError(f"no T7 answers at {self.host}:{self.port} (Modbus TCP)")
        params = getattr(getattr(client, "ctx", None), "comm_params", None)  # pymodbus 3.x internals
        if params is not None and hasattr(params, "timeout_connect"):
            params.timeout_connect = self.timeout_s  # answers: the configured timeout
        self._client = client
        head = await self.read_registers(reg.PRODUCT_ID, 6, "PRODUCT_ID…FIRMWARE_VERSION")
        serial = await self.read_registers(reg.SERIAL_NUMBER, 2, "SERIAL_NUMBER")
        return DeviceInfo(
            product_id=round(reg.decode_float32(head[0], head[1])),
            hardware=reg.decode_float32(head[2], head[3]),
            firmware=reg.decode_float32(head[4], head[5]),
            serial=reg.decode_uint32(serial[0], serial[1]),
            via=self.where,
        )

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        """pymodbus hands every raw frame here (a wire trace records it); it must be returned."""
        if self.trace is not None:
            self.trace(sending, bytes(data))
        return data

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    # -- raw register access (public for tests and diagnostics) --------------------------------
    async def read_registers(self, address: int, count: int, what: str) -> list[int]:
        from pymodbus.exceptions import ModbusException, ModbusIOException

        async with self._lock:
            client = self._client
            if client is None:
                raise TransportError(f"{self.where}: not connected")
            try:
                rr = await client.read_holding_registers(address, count=count, device_id=self.unit_id)
            except ModbusIOException as exc:
                await self._drop()
                raise InstrumentTimeout(f"{self.where}: no answer reading {what} ({exc})") from exc
            except ModbusException as exc:
                await self._drop()
                raise TransportError(f"{self.where}: connection lost reading {what}") from exc
        if rr.isError():
            raise T7Refused(f"T7 refused reading {what}: {_describe(rr)}")
        if len(rr.registers) != count:
            raise TransportError(f"{self.where}: {len(rr.registers)} registers for {what}, expected {count}")
        return list(rr.registers)

    async def write_registers(self, address: int, values: Sequence[int], what: str) -> None:
        """Write registers as they are — no check on our side (the device decides)."""
        from pymodbus.exceptions import ModbusException, ModbusIOException

        async with self._lock:
            client = self._client
            if client is None:
                raise TransportError(f"{self.where}: not connected")
            try:
                rr = await client.write_registers(address, list(values), device_id=self.unit_id)
            except ModbusIOException as exc:
                await self._drop()
                raise InstrumentTimeout(f"{self.where}: no answer writing {what} ({exc})") from exc
            except ModbusException as exc:
                await self._drop()
                raise TransportError(f"{self.where}: connection lost writing {what}") from exc
        if rr.isError():
            raise T7Refused(f"T7 refused {what}: {_describe(rr)}")

    async def _drop(self) -> None:
        """After a failed transaction the connection is not trusted any more."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    # -- the driver interface --------------------------------------------------------------------
    async def read_ains(self, ains: Sequence[int]) -> list[float]:
        start, count = reg.ain_span(ains)
        regs = await self.read_registers(start, count, f"AIN{min(ains)}…AIN{max(ains)}")
        return reg.pick_ains(regs, min(ains), ains)

    async def write_settings(self, settings: AinSettings) -> None:
        n = settings.ain
        values = settings.names()
        for (address, regs), name in zip(settings.writes(), values, strict=True):
            await self.write_registers(address, regs, f"{name} = {values[name]:g}")
        log.debug("AIN%d configured: %s", n, settings)

    async def write_many(self, settings: Sequence[AinSettings]) -> None:
        """Four writes per run of consecutive AINs (one per setting register array), not four
        per AIN: at connect, each transaction costs a round trip through a busy GUI loop."""
        by_ain = {s.ain: s for s in settings}
        for run in runs(list(by_ain)):
            lo = run[0]
            group = [by_ain[a] for a in run]
            span = f"AIN{lo}…AIN{run[-1]}" if len(run) > 1 else f"AIN{lo}"
            shown = ", ".join(f"{s.range_v:g}" for s in group)
            await self.write_registers(
                reg.range_address(lo),
                [w for s in group for w in reg.encode_float32(s.range_v)],
                f"{span}_RANGE = {shown}",
            )
            await self.write_registers(
                reg.negative_ch_address(lo),
                [s.negative_ch for s in group],
                f"{span}_NEGATIVE_CH = {', '.join(str(s.negative_ch) for s in group)}",
            )
            await self.write_registers(
                reg.resolution_index_address(lo),
                [s.resolution_index for s in group],
                f"{span}_RESOLUTION_INDEX = {', '.join(str(s.resolution_index) for s in group)}",
            )
            await self.write_registers(
                reg.settling_us_address(lo),
                [w for s in group for w in reg.encode_float32(s.settling_us)],
                f"{span}_SETTLING_US = {', '.join(f'{s.settling_us:g}' for s in group)}",
            )

    async def read_many(self, ains: Sequence[int]) -> list[AinSettings]:
        held: dict[int, AinSettings] = {}
        for run in runs(ains):
            lo, n = run[0], len(run)
            span = f"AIN{lo}…AIN{run[-1]}"
            rng = await self.read_registers(reg.range_address(lo), 2 * n, f"{span}_RANGE")
            neg = await self.read_registers(reg.negative_ch_address(lo), n, f"{span}_NEGATIVE_CH")
            res = await self.read_registers(reg.resolution_index_address(lo), n, f"{span}_RESOLUTION_INDEX")
            settle = await self.read_registers(reg.settling_us_address(lo), 2 * n, f"{span}_SETTLING_US")
            for i, a in enumerate(run):
                r = reg.decode_float32(rng[2 * i], rng[2 * i + 1])
                held[a] = AinSettings(
                    a,
                    reg.range_or_none(r) or r,
                    neg[i],
                    res[i],
                    reg.decode_float32(settle[2 * i], settle[2 * i + 1]),
                )
        return [held[a] for a in ains]

    async def read_settings(self, ain: int) -> AinSettings:
        rng = await self.read_registers(reg.range_address(ain), 2, f"AIN{ain}_RANGE")
        neg = await self.read_registers(reg.negative_ch_address(ain), 1, f"AIN{ain}_NEGATIVE_CH")
        res = await self.read_registers(reg.resolution_index_address(ain), 1, f"AIN{ain}_RESOLUTION_INDEX")
        settle = await self.read_registers(reg.settling_us_address(ain), 2, f"AIN{ain}_SETTLING_US")
        return AinSettings(
            ain,
            reg.range_or_none(reg.decode_float32(*rng)) or reg.decode_float32(*rng),
            neg[0],
            res[0],
            reg.decode_float32(*settle),
        )


def runs(ains: Sequence[int]) -> list[list[int]]:
    """Sorted AIN numbers split into runs of consecutive inputs ([1, 2, 5] → [[1, 2], [5]])."""
    out: list[list[int]] = []
    for a in sorted(set(ains)):
        if out and a == out[-1][-1] + 1:
            out[-1].append(a)
        else:
            out.append([a])
    return out


def _describe(rr: Any) -> str:
    code = getattr(rr, "exception_code", None)
    name = MODBUS_EXCEPTIONS.get(code, "unknown") if isinstance(code, int) else "error"
    return f"Modbus exception {code} ({name})"
