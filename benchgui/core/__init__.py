"""The domain core: bench, sessions, recorder, display buffers — no Qt widgets, no wire protocols."""

from benchgui.core.bench import Bench
from benchgui.core.recorder import Recorder
from benchgui.core.ringbuffer import RingBuffer, decimate_minmax
from benchgui.core.session import Session
from benchgui.model import Channel, Event, Sample

__all__ = ["Bench", "Channel", "Event", "Recorder", "RingBuffer", "Sample", "Session", "decimate_minmax"]
