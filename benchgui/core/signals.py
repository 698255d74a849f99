"""Re-export: the core's observer is :class:`benchgui.signals.Signal` (a foundation module, so
instruments can announce changes with the same class)."""

from benchgui.signals import Signal

__all__ = ["Signal"]
