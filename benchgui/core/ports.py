"""Which serial port each instrument uses: list the ports present, switch an instrument to one.

Registered as ``bench.services.ports`` by the assembly. On the bench Pi, udev rules give the
instruments stable names (``/dev/ea-load``, ``/dev/mppt``); when a cable lands on another
adapter, or on a laptop without those rules, the operator picks the port here instead of
editing the configuration file.

Listing reads sysfs (pyserial's ``list_ports``), so it runs in an executor and its result is
announced through :attr:`PortService.ports_changed`; widgets never list ports themselves.
:meth:`PortService.set_port` first saves the choice through the ``config_file`` service (a
choice that cannot be saved changes nothing), then restarts that instrument's source on the new
port. Restarting the load's source switches the old load's input off first (cancelling a
source leaves its device safe), so a port change stops a running discharge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchgui.config.writer import ConfigFile
from benchgui.core.bench import Bench
from benchgui.errors import ConfigError
from benchgui.instruments.base import OnTransport
from benchgui.instruments.transport import SerialTransport, list_serial_ports
from benchgui.signals import Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SerialPort:
    """A serial port present on this machine: device path and USB description (may be empty)."""

    device: str
    description: str = ""

    @property
    def label(self) -> str:
        return f"{self.device} — {self.description}" if self.description else self.device


@dataclass(frozen=True)
class PortTarget:
    """An instrument on a serial port: its config table key, bench source id and a label."""

    key: str  # instruments.<key> in the configuration file
    source_id: str
    label: str


#: the bench's instruments on serial lines (the LabJack is on USB through LJM, or on TCP)
SERIAL_INSTRUMENTS = (PortTarget("ea", "load", "EA load"), PortTarget("mppt", "mppt", "MPPT charger"))


class PortService:
    def __init__(
        self,
        bench: Bench,
        config_file: ConfigFile,
        targets: Sequence[PortTarget] = SERIAL_INSTRUMENTS,
        lister: Callable[[], list[tuple[str, str]]] = list_serial_ports,
    ) -> None:
        self.bench = bench
        self.config_file = config_file
        self._targets = {t.key: t for t in targets if t.source_id in bench.sources}
        self._lister = lister
        self.ports: list[SerialPort] = []
        #: the ports found by the latest :meth:`refresh`
        self.ports_changed: Signal[[list[SerialPort]]] = Signal("ports.ports_changed")
        #: (instrument key, new port) after :meth:`set_port` switched an instrument
        self.port_set: Signal[[str, str]] = Signal("ports.port_set")

    @property
    def targets(self) -> list[PortTarget]:
        return list(self._targets.values())

    def current_port(self, key: str) -> str:
        """The port the instrument's source opens (its transport's name)."""
        source = self.bench.sources[self._target(key).source_id]
        return source.transport.name if isinstance(source, OnTransport) else ""

    async def refresh(self) -> list[SerialPort]:
        """List the serial ports present now (off the event loop) and announce them."""
        found = await asyncio.get_running_loop().run_in_executor(None, self._lister)
        self.ports = [SerialPort(dev, desc) for dev, desc in found]
        self.ports_changed.emit(list(self.ports))
        return self.ports

    async def set_port(self, key: str, port: str) -> bool:
        """Save ``port`` as ``instruments.<key>.port`` and reconnect the instrument there.

        Returns True when the source now uses the port, False when it was saved only (the
        instrument is reached over TCP: the new port applies at the next start). Raises
        :class:`~benchgui.errors.ConfigError` when it cannot be saved; then nothing changed.
        """
        target = self._target(key)
        port = port.strip()
        if not port:
            raise ConfigError(f"instruments.{key}.port", "must name a serial port, e.g. /dev/ttyUSB0")
        await self.config_file.update_table_async(f"instruments.{key}", {"port": port})
        source = self.bench.sources[target.source_id]
        transport = source.transport if isinstance(source, OnTransport) else None
        if not isinstance(transport, SerialTransport) or port.startswith("tcp://"):
            log.info("%s: port %s saved; it applies at the next start", target.label, port)
            return False
        old = transport.name

        def retarget() -> None:
            transport.retarget(port)

        await self.bench.restart_source(target.source_id, before_start=retarget)
        self.bench.record_event(
            "instrument.port", f"{target.label}: port {old} → {port}", {"instrument": key, "port": port}
        )
        self.port_set.emit(key, port)
        return True

    def _target(self, key: str) -> PortTarget:
        try:
            return self._targets[key]
        except KeyError:
            known = ", ".join(self._targets) or "none on this bench"
            raise ConfigError(f"instruments.{key}", f"not a serial instrument here ({known})") from None
