"""The wire-trace format: what the writer writes, the reader reads back; bad files are one line."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from benchgui.instruments.trace import MAGIC, Record, TraceError, TraceWriter, parse_trace, read_trace


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_written_records_read_back_exactly(tmp_path: Path) -> None:
    clock = FakeClock()
    w = TraceWriter(tmp_path / "t.trace", clock=clock)
    hook = w.device("load", {"port": "/dev/ttyUSB0", "kind": "serial", "baud": 57600, "parity": "O"})
    clock.t = 100.25
    hook(True, b"\x75\x00\x47\x00\xbc")
    clock.t = 100.5
    hook(False, b"\x85\x01")
    hook(False, b"")  # an empty read is not a record
    w.mark_session("20261205-000000-abcd")
    w.close()
    text = (tmp_path / "t.trace").read_text()
    assert text.splitlines()[0] == MAGIC
    assert "0.250000 load > 75 00 47 00 bc" in text
    t = read_trace(tmp_path / "t.trace")
    assert t.devices == {"load": {"port": "/dev/ttyUSB0", "kind": "serial", "baud": "57600", "parity": "O"}}
    assert t.records == [
        Record(0.25, "load", True, bytes.fromhex("75004700bc")),
        Record(0.5, "load", False, b"\x85\x01"),
    ]
    assert t.sessions == ["20261205-000000-abcd"]
    assert [r.describe() for r in w.since("load", 0.3)] == ["got  85 01"]
    assert (tmp_path / "t.trace").stat().st_mode & 0o777 == 0o600


def test_hooks_from_several_threads_write_whole_lines(tmp_path: Path) -> None:
    w = TraceWriter(tmp_path / "t.trace")
    hooks = [w.device(f"d{i}", {"kind": "tcp"}) for i in range(4)]

    def spam(h) -> None:  # type: ignore[no-untyped-def]
        for _ in range(500):
            h(True, bytes(range(40)))

    threads = [threading.Thread(target=spam, args=(h,)) for h in hooks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    w.close()
    t = read_trace(tmp_path / "t.trace")
    assert len(t.records) == 2000
    assert all(r.data == bytes(range(40)) for r in t.records)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["hello"], "line 1|:1: not a benchgui wire trace"),
        ([MAGIC, "0.1 load > 70"], ":2: device 'load' was not declared"),
        ([MAGIC, "@device load kind=serial", "0.1 load ? 70"], ":3: direction must be > or <"),
        ([MAGIC, "@device load kind=serial", "0.1 load > 7g"], ":3: non-hexadecimal"),
        ([MAGIC, "@device load kind=serial", "x load > 70"], ":3: could not convert"),
        ([MAGIC, "@device load baud"], ":2: device setting 'baud' is not key=value"),
        ([MAGIC, "@bogus"], ":2: unknown directive @bogus"),
        ([MAGIC, "@device load kind=serial", "0.1 load >"], ":3: a record needs"),
        ([], "empty file"),
    ],
)
def test_a_malformed_trace_is_one_line_naming_the_line(lines: list[str], message: str) -> None:
    with pytest.raises(TraceError) as err:
        parse_trace(lines, "bad.trace")
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("bad.trace")
    assert any(m in text for m in message.split("|")), text


def test_an_unreadable_trace_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read the trace"):
        read_trace(tmp_path / "missing.trace")
    (tmp_path / "bin.trace").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TraceError, match="cannot read the trace"):
        read_trace(tmp_path / "bin.trace")


def test_an_unwritable_trace_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot write the trace"):
        TraceWriter(tmp_path / "no" / "such" / "dir" / "t.trace")


def test_a_retargeted_port_is_declared_again(tmp_path: Path) -> None:
    """The port picker moves the load to another adapter: its records go under the new port."""
    from types import SimpleNamespace

    from benchgui.core.wire_trace import trace_source
    from benchgui.instruments.transport import SerialSettings, SerialTransport

    w = TraceWriter(tmp_path / "t.trace")
    transport = SerialTransport("/dev/ttyUSB0", SerialSettings(57600, 8, "O", 1))
    assert trace_source(SimpleNamespace(id="load", transport=transport), w)  # type: ignore[arg-type]
    transport._trace(True, b"\x70")
    transport.retarget("/dev/ttyUSB1")
    transport._trace(True, b"\x71")
    w.close()
    text = (tmp_path / "t.trace").read_text()
    assert text.count("@device load port=") == 2
    assert text.index("port=/dev/ttyUSB1") < text.index(" load > 71")
    assert read_trace(tmp_path / "t.trace").devices["load"]["port"] == "/dev/ttyUSB1"
