"""What a panel module's ``create_panel(window, bench)`` needs of the window it joins.

The main window provides both; a test may hand a panel module a small stand-in instead.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QWidget


class PanelHost(Protocol):
    """A window that takes instrument and tool panels as docks."""

    def add_panel(self, title: str, widget: QWidget) -> object: ...


class ViewHost(Protocol):
    """A window that takes full-size views as tabs beside the live plots."""

    def add_view(self, title: str, widget: QWidget) -> None: ...
