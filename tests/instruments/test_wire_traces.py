"""Every trace under tests/traces/ through the codecs and, for EA and MPPT, the replaying simulator.

A trace added to tests/traces/ (a bench capture, a bug report) is checked here without editing
this file: each of its links must frame into valid telegrams / lines / Modbus frames with not a
byte left over, and a driver-side transport talking to ``sim ea|mppt --replay`` must get back
exactly what the recorded device answered, request by request.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchgui.instruments.ea.protocol import NEED_DATA, Direction, Telegram, TelegramReader
from benchgui.instruments.ea.replay_sim import EaReplayBook, EaReplaySimulator
from benchgui.instruments.mppt.protocol import Request, Response, Statement, parse_device_line, parse_request
from benchgui.instruments.mppt.replay_sim import MpptReplayBook, MpptReplaySimulator
from benchgui.instruments.trace import Record, Trace, read_trace
from benchgui.instruments.transport import SerialSettings, SerialTransport

pytestmark = pytest.mark.timeout(60)

TRACES = sorted((Path(__file__).resolve().parents[1] / "traces").glob("*.trace"))
LINKS = [(p, dev) for p in TRACES for dev in read_trace(p).devices if read_trace(p).of(dev)]


def _ids(item: tuple[Path, str]) -> str:
    return f"{item[0].stem}:{item[1]}"


def test_the_reference_captures_are_traces() -> None:
    names = {p.name for p in TRACES}
    assert {"ea-el3160-reference.trace", "mppt-thingset-reference.trace"} <= names


def _ea_frames(records: list[Record], to_device: bool) -> list[Telegram]:
    reader = TelegramReader(Direction.TO_DEVICE if to_device else Direction.FROM_DEVICE, max_node=255)
    out: list[Telegram] = []
    for r in records:
        if r.to_device == to_device:
            reader.feed(r.data)
            while (ev := reader.next_event()) is not NEED_DATA:
                assert isinstance(ev, Telegram), f"{ev} in a recorded {'request' if to_device else 'answer'}"
                out.append(ev)
    assert reader.buffered == 0, "bytes left over after the last telegram"
    return out


def _mbap_frames(records: list[Record], to_device: bool) -> list[bytes]:
    """Modbus TCP frames by their MBAP length field (transaction, protocol 0, length, unit, PDU)."""
    buf = b"".join(r.data for r in records if r.to_device == to_device)
    frames = []
    while buf:
        assert len(buf) >= 7, "a frame is cut short"
        assert buf[2:4] == b"\0\0", f"not an MBAP header: {buf[:8].hex(' ')}"
        end = 6 + int.from_bytes(buf[4:6], "big")
        assert len(buf) >= end, "a frame is cut short"
        frames.append(buf[:end])
        buf = buf[end:]
    return frames


@pytest.mark.parametrize("link", LINKS, ids=_ids)
def test_every_recorded_byte_decodes(link: tuple[Path, str]) -> None:
    path, device = link
    trace = read_trace(path)
    records = trace.of(device)
    kind = trace.devices[device].get("kind", "")
    if device in ("load", "ea"):
        requests, answers = _ea_frames(records, True), _ea_frames(records, False)
        assert requests
        assert answers
        assert all(t.to_device for t in requests)
        assert not any(t.to_device for t in answers)
    elif device == "mppt":
        text = b"".join(r.data for r in records if not r.to_device)
        lines = [ln for ln in text.split(b"\n")[:-1] if ln.strip()]
        events = [parse_device_line(ln + b"\n") for ln in lines]
        assert events
        assert all(isinstance(e, Response | Statement) for e in events), events
        sent = b"".join(r.data for r in records if r.to_device).decode().splitlines()
        assert sent
        assert all(isinstance(parse_request(s), Request) for s in sent if s)
    elif kind == "modbus-tcp":
        asks, answers_m = _mbap_frames(records, True), _mbap_frames(records, False)
        assert {a[:2] for a in answers_m} <= {q[:2] for q in asks}, "an answer to no request"
    else:
        pytest.fail(f"no codec check for device {device!r} ({kind})")


async def _read_telegram(t: SerialTransport, reader: TelegramReader) -> Telegram:
    while (ev := reader.next_event()) is NEED_DATA:
        reader.feed(await t.read())
    assert isinstance(ev, Telegram)
    return ev


EA_LINKS = [link for link in LINKS if link[1] in ("load", "ea")]
MPPT_LINKS = [link for link in LINKS if link[1] == "mppt"]


@pytest.mark.parametrize("link", EA_LINKS, ids=_ids)
async def test_the_ea_replay_answers_as_recorded(link: tuple[Path, str]) -> None:
    path, device = link
    book = EaReplayBook.from_trace(read_trace(path), device)
    sim = EaReplaySimulator(book, timing=False)
    port = await sim.start()
    t = SerialTransport(port, SerialSettings(57600, 8, "O", 1))
    await t.open()
    reader = TelegramReader(Direction.FROM_DEVICE, max_node=255)
    try:
        for request, answer in list(book.recorded)[:60]:
            await t.write(request)
            got = await asyncio.wait_for(_read_telegram(t, reader), 20)
            assert got.encode() == answer, f"asked {request.hex(' ')}"
    finally:
        await t.close()
        await sim.stop()


async def test_the_el3160_capture_replays_its_refusal_of_a_length_0_query() -> None:
    """The captured EL answers object 69 asked with SD 0x70 with error 0x08; a replay must too."""
    trace = read_trace(Path(TRACES[0]).with_name("ea-el3160-reference.trace"))
    book = EaReplayBook.from_trace(trace)
    found = book.answer(Telegram(0x70, 0, 0x45))
    assert found is not None
    assert found[0] == bytes.fromhex("c0 01 ff 08 01 c8")
    assert book.answer(Telegram(0x70, 0, 0x33)) is None  # never recorded: no answer
    assert book.misses[bytes.fromhex("70 00 33 00 a3")] == 1


async def _read_line(t: SerialTransport, buf: bytearray, prefix: bytes) -> str:
    while True:
        while b"\n" in buf:
            i = buf.index(b"\n")
            line = bytes(buf[:i])
            del buf[: i + 1]
            if line.startswith(prefix):
                return line.decode()
        buf += await t.read()


@pytest.mark.parametrize("link", MPPT_LINKS, ids=_ids)
async def test_the_mppt_replay_answers_and_publishes_as_recorded(link: tuple[Path, str]) -> None:
    path, device = link
    book = MpptReplayBook.from_trace(read_trace(path), device)
    sim = MpptReplaySimulator(book)
    port = await sim.start()
    t = SerialTransport(port, SerialSettings(115200))
    await t.open()
    buf = bytearray()
    try:
        for request, response in book.recorded[:40]:
            await t.write(request.encode() + b"\n")
            assert await asyncio.wait_for(_read_line(t, buf, b":"), 20) == response, request
        if book.publications:
            assert await asyncio.wait_for(_read_line(t, buf, b"#"), 20) in book.publications
    finally:
        await t.close()
        await sim.stop()


def test_a_trace_without_the_device_is_one_clear_error() -> None:
    from benchgui.instruments.trace import TraceError

    trace = Trace(path="x.trace", devices={"labjack": {}})
    with pytest.raises(TraceError, match="no load or ea device in this trace"):
        EaReplayBook.from_trace(trace)
