"""The telegram codec against captured bytes, fed whole, byte by byte and with junk; properties."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgui.errors import DeviceRefused, LocalProtocolError, ProtocolError
from benchgui.instruments.ea import protocol as p
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.values import decode, encode
from tests.instruments.ea import golden as g


def events(reader: p.TelegramReader, data: bytes = b"") -> list[p.Telegram | p.Discarded]:
    reader.feed(data)
    out = []
    while (ev := reader.next_event()) is not p.NEED_DATA:
        assert isinstance(ev, p.Telegram | p.Discarded)
        out.append(ev)
    return out


def telegrams(evs: list[p.Telegram | p.Discarded]) -> list[p.Telegram]:
    return [e for e in evs if isinstance(e, p.Telegram)]


# -- encoding: what the PC sends ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("built", "wire"),
    [
        (p.query(0, 1, 0), g.Q_TYPE),
        (p.query(1, 1, 0), g.Q_SERIAL),
        (p.query(9, 1, 0), g.Q_FIRMWARE),
        (p.query(69, 1, 0), g.Q_AH_WRONG_LENGTH),
        (p.query(69, 4, 0), g.Q_AH),
        (p.query(71, 6, 0), g.Q_ACTUAL),
        (p.query(71, 6, 1, cast=False), g.Q_ACTUAL_NODE1_NOCAST),
        (p.send(54, b"\x10\x10", 0), g.W_REMOTE_ON),
    ],
)
def test_requests_encode_to_captured_bytes(built: p.Telegram, wire: bytes) -> None:
    assert built.encode() == wire


@pytest.mark.parametrize(
    ("built", "wire"),
    [
        (p.answer(0, b"EL 3160-60A\0", 1), g.A_TYPE),
        (p.answer(1, b"2649810226\0", 1), g.A_SERIAL),
        (p.answer(71, bytes.fromhex("64001E005000"), 1), g.A_ACTUAL),
        (p.status_answer(0x08, 1), g.A_LENGTH_ERROR),
    ],
)
def test_answers_encode_to_captured_bytes(built: p.Telegram, wire: bytes) -> None:
    """The simulator builds answers with these functions: they must match the real device."""
    assert built.encode() == wire


def test_checksums_of_the_captures() -> None:
    for wire, expected in (
        (g.A_TYPE, 0x02DB),
        (g.A_SERIAL, 0x0294),
        (g.A_LENGTH_ERROR, 0x01C8),
        (g.A_ACTUAL, 0x019F),
    ):
        assert p.checksum(wire[:-2]) == expected == int.from_bytes(wire[-2:], "big")


def test_start_delimiter_fields() -> None:
    t = p.Telegram(0x75, 0, 71)
    assert (t.kind, t.cast, t.to_device, t.length_field) == (p.Kind.QUERY, True, True, 6)
    err = p.Telegram(0xC0, 1, 0xFF, b"\x08")
    assert (err.kind, err.to_device, err.is_status, err.error_code) == (p.Kind.SEND, False, True, 8)
    assert p.frame_length(0x70) == 5
    assert p.frame_length(0x8B) == 17
    assert p.frame_length(0xF1) == 7


@pytest.mark.parametrize(
    "bad",
    [
        lambda: p.query(0, 0),
        lambda: p.query(0, 17),
        lambda: p.send(51, b""),
        lambda: p.send(51, bytes(17)),
        lambda: p.query(256, 1),
        lambda: p.query(0, 1, node=300),
        lambda: p.Telegram(0x75, 0, 71, b"\x01").encode(),
        lambda: p.Telegram(0xF1, 0, 51, b"\x01").encode(),
        lambda: p.status_answer(256),
    ],
)
def test_what_the_protocol_cannot_express_is_a_local_error(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(p.EncodeError) as info:
        bad()
    assert isinstance(info.value, LocalProtocolError)


# -- decoding: what the device answers ------------------------------------------------------------


def test_captured_answers_decode() -> None:
    prof = load_profile("el3000")
    scaling = prof.scaling({"voltage": 160.0, "current": 60.0, "power": 400.0})
    reader = p.TelegramReader()
    (t_type, t_serial, t_fw, t_err, t_act) = events(
        reader, g.A_TYPE + g.A_SERIAL + g.A_FIRMWARE + g.A_LENGTH_ERROR + g.A_ACTUAL
    )
    assert decode(prof.obj("device_type"), t_type.data) == "EL 3160-60A"  # type: ignore[union-attr]
    assert t_type.node == 1  # answers carry DN 1 although the query said DN 0
    assert decode(prof.obj("serial"), t_serial.data) == "2649810226"  # type: ignore[union-attr]
    assert decode(prof.obj("firmware"), t_fw.data) == "V5.05 02.08.12"  # type: ignore[union-attr]
    assert t_err == p.Telegram(0xC0, 1, 0xFF, b"\x08")
    assert isinstance(p.device_error(t_err.error_code), p.ObjectLengthWrong)  # type: ignore[arg-type, union-attr]
    actual = decode(prof.obj("actual"), t_act.data, scaling)  # type: ignore[union-attr]
    assert actual == {"voltage": 160.0, "current": 18.0, "power": 320.0}


def test_requests_decode_on_the_device_side() -> None:
    reader = p.TelegramReader(p.Direction.TO_DEVICE)
    evs = events(reader, g.Q_TYPE + g.Q_AH + g.Q_ACTUAL_NODE1_NOCAST + g.W_REMOTE_ON)
    assert evs == [
        p.Telegram(0x70, 0, 0),
        p.Telegram(0x73, 0, 69),
        p.Telegram(0x55, 1, 71),
        p.Telegram(0xF1, 0, 54, b"\x10\x10"),
    ]


STREAM = g.A_TYPE + g.A_ACTUAL + g.A_LENGTH_ERROR


def test_fed_whole_and_one_byte_at_a_time_give_the_same_events() -> None:
    whole = events(p.TelegramReader(), STREAM)
    reader = p.TelegramReader()
    bytewise = []
    for b in STREAM:
        bytewise += events(reader, bytes([b]))
    assert whole == bytewise
    assert [t.obj for t in telegrams(whole)] == [0, 71, 0xFF]
    assert reader.buffered == 0


def test_leading_garbage_is_discarded_and_reported() -> None:
    evs = events(p.TelegramReader(), b"\x00\x13\x37hello" + g.A_ACTUAL)
    assert evs[-1] == p.Telegram(0x85, 1, 71, bytes.fromhex("64001E005000"))
    assert all(isinstance(e, p.Discarded) and e.reason == p.GARBAGE for e in evs[:-1])
    assert sum(len(e.data) for e in evs[:-1]) == 8  # type: ignore[union-attr]


def test_garbage_that_looks_like_a_long_telegram_does_not_swallow_the_answer() -> None:
    """0x8F 0x00 announces 16 data bytes (21 in all); the real 11-byte answer follows at once."""
    reader = p.TelegramReader()
    evs = events(reader, b"\x8f\x00\x47" + g.A_ACTUAL)
    assert telegrams(evs) == [p.Telegram(0x85, 1, 71, bytes.fromhex("64001E005000"))]
    assert reader.buffered == 0


def test_a_corrupted_answer_is_reported_whole_and_the_next_one_is_found() -> None:
    bad = bytearray(g.A_ACTUAL)
    bad[5] ^= 0x40
    reader = p.TelegramReader()
    evs = events(reader, bytes(bad) + g.A_TYPE)
    assert evs[0] == p.Discarded(bytes(bad), p.CHECKSUM)
    assert telegrams(evs) == [p.Telegram(0x8B, 1, 0, b"EL 3160-60A\0")]
    assert reader.bad_checksums == 1


def test_partial_telegram_waits_and_flush_drops_it() -> None:
    reader = p.TelegramReader()
    assert events(reader, g.A_TYPE[:7]) == []
    assert reader.buffered == 7
    assert reader.flush() == p.Discarded(g.A_TYPE[:7], p.INCOMPLETE)
    assert reader.flush() is None
    assert telegrams(events(reader, g.A_ACTUAL)) != []


def test_direction_filters_echoes() -> None:
    """A driver's reader ignores requests (e.g. an echo), a device's reader ignores answers."""
    assert telegrams(events(p.TelegramReader(p.Direction.FROM_DEVICE), g.Q_ACTUAL)) == []
    assert telegrams(events(p.TelegramReader(p.Direction.TO_DEVICE), g.A_ACTUAL)) == []


# -- error codes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (0x03, p.ChecksumWrong),
        (0x04, p.StartDelimiterWrong),
        (0x05, p.WrongNode),
        (0x07, p.ObjectUndefined),
        (0x08, p.ObjectLengthWrong),
        (0x09, p.AccessDenied),
        (0x0F, p.DeviceLocked),
        (0x15, p.DeviceLocked),
        (0x30, p.UpperLimitExceeded),
        (0x31, p.LowerLimitExceeded),
    ],
)
def test_error_codes_map_to_specific_refusals(code: int, cls: type[p.EaDeviceError]) -> None:
    err = p.device_error(code, "write set_current")
    assert type(err) is cls
    assert isinstance(err, DeviceRefused)
    assert err.code == code
    assert f"0x{code:02X}" in str(err)
    assert "write set_current" in str(err)


def test_unknown_error_code_keeps_its_number() -> None:
    err = p.device_error(0x42)
    assert type(err) is p.EaDeviceError
    assert err.code == 0x42
    assert "0x42" in str(err)


# -- properties ---------------------------------------------------------------------------------------

nodes = st.integers(0, 31)
objs = st.integers(0, 254)
payloads = st.binary(min_size=1, max_size=16)
any_telegram = st.one_of(
    st.builds(p.answer, objs, payloads, nodes),
    st.builds(p.status_answer, st.integers(0, 255), nodes),
    st.builds(
        lambda o, d, n: p.Telegram(p.make_sd(p.Kind.SEND, len(d), to_device=False, cast=False), n, o, d),
        objs,
        payloads,
        nodes,
    ),
)
requests = st.one_of(
    st.builds(p.query, objs, st.integers(1, 16), nodes, cast=st.booleans()),
    st.builds(p.send, objs, payloads, nodes, cast=st.booleans()),
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(deadline=None)  # no timing luck on a loaded machine
@given(st.lists(any_telegram, min_size=1, max_size=6), st.lists(st.integers(0, 200), max_size=10))
def test_round_trip_answers_in_any_chunks(tgs: list[p.Telegram], cuts: list[int]) -> None:
    reader = p.TelegramReader(p.Direction.FROM_DEVICE)
    out = []
    for chunk in chunked(b"".join(t.encode() for t in tgs), cuts):
        out += events(reader, chunk)
    assert out == tgs


@settings(deadline=None)  # no timing luck on a loaded machine
@given(st.lists(requests, min_size=1, max_size=6), st.lists(st.integers(0, 200), max_size=10))
def test_round_trip_requests_in_any_chunks(tgs: list[p.Telegram], cuts: list[int]) -> None:
    reader = p.TelegramReader(p.Direction.TO_DEVICE)
    out = []
    for chunk in chunked(b"".join(t.encode() for t in tgs), cuts):
        out += events(reader, chunk)
    assert out == tgs


# bytes that can never start an answer: bit 7 clear (types 00/01) or the to-device bit set
non_starts = st.binary(max_size=40).map(lambda b: bytes(x & 0x7F for x in b))


@settings(deadline=None)  # no timing luck on a loaded machine
@given(non_starts, any_telegram, st.lists(st.integers(0, 200), max_size=6))
def test_resync_after_garbage(garbage: bytes, t: p.Telegram, cuts: list[int]) -> None:
    reader = p.TelegramReader()
    out = []
    for chunk in chunked(garbage + t.encode(), cuts):
        out += events(reader, chunk)
    assert telegrams(out) == [t]
    assert sum(len(e.data) for e in out if isinstance(e, p.Discarded)) == len(garbage)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.sampled_from(list(p.Direction)))
def test_random_bytes_never_raise_hang_or_grow(chunks: list[bytes], direction: p.Direction) -> None:
    reader = p.TelegramReader(direction)
    total = emitted = 0
    for chunk in chunks:
        reader.feed(chunk)
        total += len(chunk)
        for _ in range(total + 2):  # every event consumes at least one byte: it must end
            ev = reader.next_event()
            if ev is p.NEED_DATA:
                break
            emitted += len(ev.data) if isinstance(ev, p.Discarded) else len(ev.encode())  # type: ignore[union-attr]
        else:
            pytest.fail("reader did not come back to NEED_DATA")
        assert reader.buffered < p.MAX_FRAME
    assert emitted + reader.buffered == total  # no byte is lost or invented


PROFILES = (load_profile("el3000"), load_profile("ps2000b"))


@settings(deadline=None)  # no timing luck on a loaded machine
@given(st.binary(max_size=20))
def test_decoding_any_data_raises_only_codec_errors(data: bytes) -> None:
    for prof in PROFILES:
        scaling = prof.scaling()
        for spec in prof.objects.values():
            with contextlib.suppress(ProtocolError):
                decode(spec, data, scaling)


@settings(deadline=None)  # no timing luck on a loaded machine
@given(st.floats(0, 60), st.floats(0, 400))
def test_scaled_values_round_trip_within_one_lsb(amps: float, watts: float) -> None:
    prof = PROFILES[0]
    scaling = prof.scaling({"voltage": 160.0, "current": 60.0, "power": 400.0})
    for role, value, nominal in (("set_current", amps, 60.0), ("set_power", watts, 400.0)):
        spec = prof.obj(role)
        back = decode(spec, encode(spec, value, scaling), scaling)
        assert abs(back - value) <= nominal / 25600 / 2 + 1e-12
