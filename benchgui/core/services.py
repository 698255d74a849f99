"""The core services a bench carries, by name and type: what widgets and the CLI may look up.

The assembly attaches them; a bench built for a test or a replay carries only some (the others
are ``None``). A typed record instead of a ``dict[str, Any]``: a misspelt service is a type error,
and every user sees what it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the services import the bench; the bench only names them
    from benchgui.config.writer import ConfigFile
    from benchgui.core.ain_settings import AinSettings
    from benchgui.core.forwarder import ForwarderService
    from benchgui.core.ports import PortService
    from benchgui.core.programs.runner import ProgramRunner
    from benchgui.core.replay import ReplayService
    from benchgui.core.safety import Supervisor
    from benchgui.core.safety_settings import SafetySettings
    from benchgui.core.soc_service import SocService
    from benchgui.core.verification import VerificationService


@dataclass
class BenchServices:
    """Services attached to one bench (``bench.services``); ``None`` where not attached."""

    #: the configuration file panels persist their settings through
    config_file: ConfigFile | None = None
    #: serial-port discovery and re-targeting (the port picker)
    ports: PortService | None = None
    #: live and stored-session sensor verification
    verify: VerificationService | None = None
    #: the safety supervisor (interlocks, E-stop)
    supervisor: Supervisor | None = None
    #: editing the interlock limits while the bench runs
    safety_settings: SafetySettings | None = None
    #: editing the reference DAQ's analog inputs and their calibration while the bench runs
    ain_settings: AinSettings | None = None
    #: the discharge-program runner
    programs: ProgramRunner | None = None
    #: the live SOC estimator (``[soc] enabled``)
    soc: SocService | None = None
    #: store-and-forward to InfluxDB (when a target is configured)
    forwarder: ForwarderService | None = None
    #: the replay of a stored session (a replay bench only)
    replay: ReplayService | None = None
