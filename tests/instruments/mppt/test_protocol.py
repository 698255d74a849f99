"""The ThingSet text codec against the reference's lines, both ways, and under any chunking."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchgui.errors import DeviceRefused, LocalProtocolError
from benchgui.instruments.mppt import protocol as p
from benchgui.instruments.mppt.protocol import (
    NEED_DATA,
    ClientCodec,
    DeviceCodec,
    Fixed,
    InvalidRequest,
    LineSplitter,
    LineTooLong,
    MalformedResponse,
    Method,
    Noise,
    Request,
    Response,
    Statement,
)

# -- requests: reference §2, §4, §7 and the library's test cases -------------------------------------

GOLDEN_REQUESTS = [
    (b'=pub/serial {"Enable":true}\n', Request(Method.UPDATE, "pub/serial", {"Enable": True})),
    (b'=pub/serial {"Enable":false}\n', Request(Method.UPDATE, "pub/serial", {"Enable": False})),
    (b"?output/\n", Request(Method.GET, "output/")),
    (b"?/\n", Request(Method.GET, "/")),
    (b"?conf\n", Request(Method.GET, "conf")),
    (b'?conf ["BatNom_Ah","Trickle_V"]\n', Request(Method.FETCH, "conf", ["BatNom_Ah", "Trickle_V"])),
    (b'?conf ["BatNom_Ah"]\n', Request(Method.FETCH, "conf", ["BatNom_Ah"])),
    (b'?conf "BatNom_Ah"\n', Request(Method.FETCH, "conf", "BatNom_Ah")),
    (b'=conf {"BatNom_Ah":50}\n', Request(Method.UPDATE, "conf", {"BatNom_Ah": 50})),
    (b'=input {"LoadEn":false}\n', Request(Method.UPDATE, "input", {"LoadEn": False})),
    (b"!exec/reset\n", Request(Method.EXEC, "exec/reset")),
    (b'!auth "password"\n', Request(Method.EXEC, "auth", "password")),
    (b'+pub/serial/IDs "Bat_degC"\n', Request(Method.CREATE, "pub/serial/IDs", "Bat_degC")),
    (b'-pub/serial/IDs "Bat_degC"\n', Request(Method.DELETE, "pub/serial/IDs", "Bat_degC")),
    (b"?pub/serial/IDs\n", Request(Method.GET, "pub/serial/IDs")),
]


@pytest.mark.parametrize(("wire", "request_"), GOLDEN_REQUESTS)
def test_requests_encode_and_parse_byte_exact(wire: bytes, request_: Request) -> None:
    assert p.encode_request(request_) == wire
    dev = DeviceCodec()
    dev.feed(wire)
    assert dev.next_event() == request_
    assert dev.next_event() is NEED_DATA


def test_crlf_request_is_accepted_by_the_device_side() -> None:
    dev = DeviceCodec()
    dev.feed(b'=pub/serial {"Enable":true}\r\n?conf\r\n')
    assert dev.next_event() == Request(Method.UPDATE, "pub/serial", {"Enable": True})
    assert dev.next_event() == Request(Method.GET, "conf")
    assert dev.next_event() is NEED_DATA


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"hello\n", "unknown request prefix"),
        (b"=conf {bad json}\n", "payload is not JSON"),
        (b"?\n", "missing or invalid path"),
        (b"\xff\xfe\n", "not UTF-8"),
    ],
)
def test_invalid_requests_are_events_with_bad_request_status(line: bytes, reason: str) -> None:
    dev = DeviceCodec()
    dev.feed(line)
    ev = dev.next_event()
    assert isinstance(ev, InvalidRequest)
    assert reason in ev.reason
    assert ev.status == 0xA0


def test_overlong_request_is_refused_as_too_large() -> None:
    dev = DeviceCodec(max_line=16)
    dev.feed(b"?" + b"a" * 40 + b"\n?conf\n")
    ev = dev.next_event()
    assert isinstance(ev, InvalidRequest)
    assert ev.status == 0xAD
    assert dev.next_event() == Request(Method.GET, "conf")


@pytest.mark.parametrize(
    "bad",
    [
        Request(Method.GET, "conf", ["x"]),  # GET has no payload
        Request(Method.FETCH, "conf", {"a": 1}),
        Request(Method.UPDATE, "conf", ["BatNom_Ah"]),
        Request(Method.UPDATE, "conf", {}),
        Request(Method.CREATE, "pub/serial/IDs"),
        Request(Method.UPDATE, "conf", {"BatNom_Ah": float("nan")}),
        Request(Method.UPDATE, "conf", {"BatNom_Ah": object()}),
        Request(Method.GET, "out put"),
        Request(Method.GET, "conf\n=input"),
        Request(Method.GET, ""),
        Request(Method.GET, "?conf"),
    ],
)
def test_requests_that_cannot_be_sent_raise_local_protocol_error(bad: Request) -> None:
    with pytest.raises(LocalProtocolError):
        p.encode_request(bad)


# -- responses: reference §3 ---------------------------------------------------------------------

GOLDEN_RESPONSES = [
    (
        b':85 Content. {"Bat_V":14.10,"Bat_A":5.13,"Ambient_degC":22}\n',
        Response(0x85, "Content", {"Bat_V": 14.1, "Bat_A": 5.13, "Ambient_degC": 22}),
    ),
    (b':85 Content. ["serial","can"]\n', Response(0x85, "Content", ["serial", "can"])),
    (b":84 Changed.\n", Response(0x84, "Changed")),
    (b":A4 Not Found.\n", Response(0xA4, "Not Found")),
    (b":85 Content. [50.0]\n", Response(0x85, "Content", [50.0])),
    (b":83 Valid.\n", Response(0x83, "Valid")),
    (b":81 Created.\n", Response(0x81, "Created")),
    (b":82 Deleted.\n", Response(0x82, "Deleted")),
    (b":A0 Bad Request.\n", Response(0xA0, "Bad Request")),
    (b":AD Request Entity Too Large.\n", Response(0xAD, "Request Entity Too Large")),
    (b":AF Unsupported Content-Format.\n", Response(0xAF, "Unsupported Content-Format")),
    (b":E1 Error.\n", Response(0xE1, "Error")),
    (b":85.\n", Response(0x85, "")),  # library built without verbose status texts
    (b":85. [50.0]\n", Response(0x85, "", [50.0])),
    (b":a4 Not Found.\r\n", Response(0xA4, "Not Found")),
]


@pytest.mark.parametrize(("wire", "event"), GOLDEN_RESPONSES)
def test_responses_parse(wire: bytes, event: Response) -> None:
    codec = ClientCodec()
    codec.feed(wire)
    assert codec.events() == [event]


def test_responses_encode_like_the_firmware() -> None:
    assert p.encode_response(0x84) == b":84 Changed.\n"
    assert p.encode_response(0xA4) == b":A4 Not Found.\n"
    assert p.encode_response(0x85, ["serial", "can"]) == b':85 Content. ["serial","can"]\n'
    assert p.encode_response(0x85, [Fixed(50.0, 1)]) == b":85 Content. [50.0]\n"
    assert p.encode_response(0x85, [50.0], verbose=False) == b":85. [50.0]\n"
    assert p.encode_response(0xE1) == b":E1 Error.\n"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (0xA0, p.BadRequest),
        (0xA1, p.Unauthorized),
        (0xA3, p.Forbidden),
        (0xA4, p.NotFound),
        (0xA5, p.MethodNotAllowed),
        (0xA8, p.RequestIncomplete),
        (0xA9, p.Conflict),
        (0xAD, p.RequestTooLarge),
        (0xAF, p.UnsupportedFormat),
        (0xC0, p.InternalServerError),
        (0xC1, p.NotImplementedStatus),
        (0xE1, p.ResponseTooLarge),
        (0xA7, p.ClientError),  # unknown client error
        (0xC7, p.ServerError),  # unknown server error
    ],
)
def test_error_statuses_map_to_typed_device_refusals(status: int, cls: type[Exception]) -> None:
    err = p.error_for(Response(status, "whatever"), "?conf")
    assert type(err) is cls
    assert isinstance(err, DeviceRefused)
    assert f":{status:02X}" in str(err)
    assert "?conf" in str(err)


def test_not_found_is_also_a_lookup_error() -> None:
    assert isinstance(p.error_for(Response(0xA4)), LookupError)


def test_success_and_error_by_code() -> None:
    assert Response(0x85).ok
    assert Response(0x81).ok
    assert not Response(0xA0).ok
    assert not Response(0xC0).ok


@pytest.mark.parametrize(
    "wire",
    [b':85 Content. {"Bat_V":14.1\n', b":85 Content. [1,\n", b":85x\n", b":85 Content. [[[[[[[[[[\n"],
)
def test_broken_responses_are_reported_not_raised(wire: bytes) -> None:
    codec = ClientCodec()
    codec.feed(wire)
    (ev,) = codec.events()
    assert isinstance(ev, MalformedResponse)
    assert ev.status == 0x85
    assert codec.malformed == 1


# -- statements: reference §4, §5, §7 -----------------------------------------------------------------

OLD_STATEMENT = (
    b'# {"Uptime_s":1234,"Bat_V":13.21,"Bat_A":2.15,"SOC_pct":87,"ChgState":1,"DCDCState":1,'
    b'"Solar_V":18.40,"Solar_A":1.62,"Load_A":0.00,"LoadInfo":1,"UsbInfo":1,"ErrorFlags":0,'
    b'"DeepDisCount":0,"BatUsable_Ah":7.2,"SolarInDay_Wh":12.50,"LoadOutDay_Wh":0.00,'
    b'"BatChgDay_Wh":11.80,"BatDisDay_Wh":0.00,"Dis_Ah":1}\n'
)


def test_old_statement_form() -> None:
    codec = ClientCodec()
    codec.feed(OLD_STATEMENT)
    (ev,) = codec.events()
    assert isinstance(ev, Statement)
    assert ev.path == ""
    assert ev.values["Bat_V"] == 13.21
    assert ev.values["Dis_Ah"] == 1
    assert next(iter(ev.values)) == "Uptime_s"
    assert len(ev.values) == 19


def test_new_statement_form() -> None:
    codec = ClientCodec()
    codec.feed(b'#serial {"Bat_V":13.21,"Bat_A":-1.05}\n')
    assert codec.events() == [Statement("serial", {"Bat_V": 13.21, "Bat_A": -1.05})]


def test_statement_encoding_uses_fixed_decimals() -> None:
    values = {"Bat_V": Fixed(14.1, 2), "Dis_Ah": Fixed(3.4, 0), "BatUsable_Ah": Fixed(7.2, 1), "SOC_pct": 87}
    assert p.encode_statement(values) == b'# {"Bat_V":14.10,"Dis_Ah":3,"BatUsable_Ah":7.2,"SOC_pct":87}\n'
    assert p.encode_statement({"Bat_V": Fixed(14.1, 2)}, "serial") == b'#serial {"Bat_V":14.10}\n'


def test_old_spellings_are_tolerated() -> None:
    from benchgui.instruments.mppt.items import canonical_values

    codec = ClientCodec()
    codec.feed(b'# {"Timestamp_s":99,"SOC_%":55,"Bat_V":12.50}\n')
    (ev,) = codec.events()
    assert isinstance(ev, Statement)
    assert canonical_values(ev.values) == {"Uptime_s": 99, "SOC_pct": 55, "Bat_V": 12.5}


def test_printf_nan_from_a_broken_sensor_becomes_null() -> None:
    codec = ClientCodec()
    codec.feed(b'# {"Bat_degC":nan,"Bat_V":12.00,"Int_degC":-inf}\n')
    assert codec.events() == [Statement("", {"Bat_degC": None, "Bat_V": 12.0, "Int_degC": None})]


@pytest.mark.parametrize(
    "wire",
    [
        b"*** Booting Zephyr OS build v2.5.0  ***\n",
        b"[00:00:01.004,000] <inf> bat_charger: Charger state: bulk\n",
        b"#\n",
        b"# [1,2]\n",
        b'# {"Bat_V":\n',
        b"#serial\n",
        b"\xff\xfe\x00garbage\n",
        b":ZZ hello\n",
        b"Bat_V 12.3\n",
    ],
)
def test_noise_lines_are_counted_and_skipped(wire: bytes) -> None:
    codec = ClientCodec()
    codec.feed(wire + b":84 Changed.\n")
    events = codec.events()
    assert isinstance(events[0], Noise)
    assert events[1:] == [Response(0x84, "Changed")]
    assert codec.noise == 1
    assert codec.skipped == 1


# -- the line splitter ------------------------------------------------------------------------------


def _lines(splitter: LineSplitter) -> list[object]:
    out = []
    while (x := splitter.next_line()) is not NEED_DATA:
        out.append(x)
    return out


def test_line_ends_lf_cr_crlf_and_blank_lines() -> None:
    s = LineSplitter()
    s.feed(b"a\nb\rc\r\nd\n\n\r\n\re")
    assert _lines(s) == [b"a", b"b", b"c", b"d"]
    assert s.buffered == 1  # "e" waits for its line end
    s.feed(b"\n")
    assert _lines(s) == [b"e"]


def test_overlong_line_is_cut_reported_once_and_the_next_line_survives() -> None:
    s = LineSplitter(max_line=10)
    s.feed(b"0123456789")  # exactly the limit: still fine once it ends
    s.feed(b"\n")
    assert _lines(s) == [b"0123456789"]
    s.feed(b"x" * 25)
    assert _lines(s) == [LineTooLong(b"x" * 10, 10)]
    s.feed(b"y" * 25)  # still the same over-long line: no second report
    assert _lines(s) == []
    assert s.buffered == 0  # memory stays bounded
    s.feed(b"zz\r\nok\n")
    assert _lines(s) == [b"ok"]


def test_codec_reports_overlong_lines() -> None:
    codec = ClientCodec(max_line=32)
    codec.feed(b"# {" + b'"a":1,' * 20 + b"}\n:84 Changed.\n")
    events = codec.events()
    assert isinstance(events[0], LineTooLong)
    assert events[1] == Response(0x84, "Changed")
    assert codec.overlong == 1


STREAM_LINES = [wire.rstrip(b"\n") for wire, _ in GOLDEN_RESPONSES] + [
    OLD_STATEMENT.rstrip(b"\n"),
    b'#serial {"Bat_V":13.21}',
    b"*** Booting Zephyr ***",
    b"#",
    b"x" * 600,  # over-long at max_line=512
]


def _events_of(stream: bytes, cuts: list[int], max_line: int = 512) -> list[object]:
    codec = ClientCodec(max_line=max_line)
    out: list[object] = []
    prev = 0
    for cut in [*sorted(cuts), len(stream)]:
        codec.feed(stream[prev:cut])
        prev = cut
        out += codec.events()
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.sampled_from(range(len(STREAM_LINES))), min_size=1, max_size=12),
    ends=st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\n"]), min_size=12, max_size=12),
    data=st.data(),
)
def test_any_chunking_gives_the_same_events(picks: list[int], ends: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(STREAM_LINES[i] + ends[k] for k, i in enumerate(picks))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30))
    whole = _events_of(stream, [])
    assert _events_of(stream, cuts) == whole
    assert _events_of(stream, list(range(len(stream)))) == whole  # one byte at a time
    assert len(whole) == len(picks)  # every line gives exactly one event


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=10))
def test_random_bytes_never_raise(blob: bytes, cuts: list[int]) -> None:
    codec = ClientCodec(max_line=100)
    dev = DeviceCodec(max_line=100)
    client_kinds = (p.Response, p.MalformedResponse, p.Statement, p.Noise, p.LineTooLong)
    prev = 0
    n_events = 0
    for cut in [*sorted(c for c in cuts if c <= len(blob)), len(blob)]:
        codec.feed(blob[prev:cut])
        dev.feed(blob[prev:cut])
        prev = cut
        for ev in codec.events():
            assert isinstance(ev, client_kinds)
            n_events += 1
        while (ev := dev.next_event()) is not NEED_DATA:
            assert isinstance(ev, p.Request | p.InvalidRequest | p.LineTooLong)
    # no more events than lines: each is a line, or the one report of an over-long line
    assert n_events <= blob.count(b"\n") + blob.count(b"\r") + len(blob) // 100 + 1


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
        max_size=120,
    )
)
def test_random_text_lines_are_classified_without_raising(text: str) -> None:
    codec = ClientCodec()
    codec.feed(text.encode("utf-8") + b"\n")
    for ev in codec.events():
        assert isinstance(ev, Response | MalformedResponse | Statement | Noise | LineTooLong)
