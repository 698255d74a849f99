"""Editing the interlock limits while the bench runs — the ``bench.services.safety_settings``
service behind the GUI's Safety limits dialog.

A change is validated exactly as the config file would be (same ranges, same messages), applied
to the supervisor at once (it records a ``safety.limits`` event with old and new values), and
then saved into ``[safety]`` of the configuration file so the next start uses it too. Applying
comes first: a limit the operator tightened protects the battery even if the file cannot be
written (no config file in use, read-only disk); the save error is reported, not hidden.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchgui.config.schema import Config, SafetySection
from benchgui.config.validate import from_dict, to_dict
from benchgui.config.writer import ConfigFile
from benchgui.core.limits import Limits
from benchgui.core.safety import Supervisor
from benchgui.errors import ConfigError


class SafetySettings:
    def __init__(self, supervisor: Supervisor, config: Config, config_file: ConfigFile | None) -> None:
        self.supervisor = supervisor
        self.config = config
        self.config_file = config_file

    @property
    def section(self) -> SafetySection:
        """The ``[safety]`` settings as configured (0 = derived from the battery)."""
        return self.config.safety

    @property
    def effective(self) -> Limits:
        """What the supervisor judges by now (derived values resolved)."""
        return self.supervisor.limits

    def validate(self, values: Mapping[str, Any]) -> SafetySection:
        """The ``[safety]`` section with ``values`` changed; raises ConfigError naming the key."""
        merged = {**to_dict(self.section), **values}
        return from_dict(SafetySection, merged, prefix="safety")

    def apply(self, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
        """Validate and hand the new limits to the supervisor; returns what changed."""
        section = self.validate(values)
        self.config = dataclasses.replace(self.config, safety=section)
        return self.supervisor.set_limits(Limits.from_config(self.config))

    async def apply_and_save(self, values: Mapping[str, Any]) -> Path:
        """:meth:`apply`, then write the changed keys into ``[safety]`` of the config file.

        Raises ConfigError when there is no file to save to — after the limits took effect.
        """
        self.apply(values)
        if self.config_file is None:
            raise ConfigError("", "no configuration file in use; the limits apply until the app exits")
        return await self.config_file.update_table_async("safety", dict(values), create=True)
