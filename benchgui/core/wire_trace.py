"""Record every instrument link of a bench into one wire trace, attached to its sessions.

The assembly calls :func:`attach_trace` for ``--trace FILE``. Each source's link declares itself
(``@device`` with its port and serial settings) and records through its transport's trace hook
(``Transport.trace``; the LabJack's Modbus client through pymodbus' packet trace). The trace is
attached to every session started while it runs, both ways: the session's stored info gets
``wire_trace`` (path, devices) and a ``trace.attached`` event, and the trace gets an
``@session ID`` line — the simplest honest link that survives copying the store or the trace.
"""

from __future__ import annotations

import logging
from typing import Any

from benchgui.core.bench import Bench
from benchgui.core.session import Session
from benchgui.instruments.base import Source
from benchgui.instruments.trace import TraceHook, TraceWriter
from benchgui.instruments.transport import SerialTransport, TcpTransport, Transport

log = logging.getLogger(__name__)


def transport_settings(transport: Transport) -> dict[str, object]:
    """What a trace header says about a link: its port and, for serial, the line settings."""
    if isinstance(transport, SerialTransport):
        s = transport.settings
        return {
            "port": transport.port,
            "kind": "serial",
            "baud": s.baud,
            "bytesize": s.bytesize,
            "parity": s.parity,
            "stopbits": s.stopbits,
        }
    kind = "tcp" if isinstance(transport, TcpTransport) else type(transport).__name__
    return {"port": transport.name, "kind": kind}


def trace_source(source: Source, writer: TraceWriter) -> bool:
    """Hook ``source``'s link into ``writer``; False when its link carries no bytes we can see."""
    transport = getattr(source, "transport", None)
    if isinstance(transport, Transport):
        transport.trace = _declaring_hook(source.id, transport, writer)
        return True
    set_trace = getattr(source, "set_wire_trace", None)  # the LabJack: pymodbus' packet trace
    if callable(set_trace):
        where = getattr(source, "wire_address", "")
        hook: TraceHook = writer.device(source.id, {"port": where or "?", "kind": "modbus-tcp"})
        return bool(set_trace(hook))
    return False


def _declaring_hook(name: str, transport: Transport, writer: TraceWriter) -> TraceHook:
    """Record through ``writer``; declare the link again when the operator picked another port
    (the port picker retargets the transport), so every record sits under its real port."""
    port = transport.name
    inner = writer.device(name, transport_settings(transport))

    def hook(to_device: bool, data: bytes) -> None:
        nonlocal port, inner
        if transport.name != port:
            port = transport.name
            inner = writer.device(name, transport_settings(transport))
        inner(to_device, data)

    return hook


def attach_trace(bench: Bench, writer: TraceWriter) -> TraceWriter:
    """Trace every link of ``bench`` into ``writer`` (its path checked by the caller: not an input)."""
    traced = [sid for sid, src in bench.sources.items() if trace_source(src, writer)]
    untraced = [sid for sid in bench.sources if sid not in traced]
    if untraced:
        log.warning("wire trace: no byte-level link to trace for %s", ", ".join(untraced))
    log.info("wire trace of %s to %s", ", ".join(traced) or "nothing", writer.path)

    def on_session(session: Session | None) -> None:
        if session is None or "wire_trace" in session.info:
            return
        info: dict[str, Any] = {"path": str(writer.path.resolve()), "devices": writer.devices}
        session.info["wire_trace"] = info
        if bench.recorder is not None:
            bench.recorder.update_session(info={"wire_trace": info})
        writer.mark_session(session.id)
        bench.record_event("trace.attached", f"wire trace {writer.path}", info)

    bench.session_changed.connect(on_session)
    if bench.session is not None:
        on_session(bench.session)
    return writer
