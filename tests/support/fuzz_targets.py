"""Fuzz targets: every codec of the bench, fed arbitrary bytes, with its invariants checked.

A target takes one input (bytes) and either returns, or raises one of the codec's own error
types (counted as an *error*: the codec refused the input, as it should). Anything else —
another exception type, or an invariant that does not hold (``AssertionError``) — is a *crash*:
a bug. Used by the short fuzz run in ``make test`` (``tests/support/test_fuzz_run.py``) and by
``make fuzz`` (``benchmarks/fuzz.py``, 10^6 inputs per target).

Stream codecs are fed in chunks whose size comes from the input's first byte, so one input
also tests one chunking. The CSV importer is a target when ``benchgui.recording.csv_import``
exists (the recording feature); without it the list simply has no ``csv_import`` entry. The
config loader, the program loader and the command line are targets too
(:mod:`tests.support.fuzz_inputs`).
"""

from __future__ import annotations

import importlib
import math
import struct
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from benchgui.instruments.ea import protocol as ea
from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.values import decode as ea_decode
from benchgui.instruments.labjack import registers as reg
from benchgui.instruments.mppt import protocol as ts
from benchgui.instruments.mppt.lines import LineSplitter, LineTooLong


@dataclass
class Target:
    name: str
    seeds: list[bytes]
    run: Callable[[bytes], None]
    #: the codec's own error types: refusing an input with one of these is correct behaviour
    errors: tuple[type[BaseException], ...] = ()
    #: the fraction of a run's inputs this target gets (a slow one, like a whole command line, less)
    share: float = 1.0

    def inputs_of(self, n: int) -> int:
        return max(1, round(n * self.share))


@dataclass
class Outcome:
    """Counts of one fuzz run of one target."""

    target: str
    inputs: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, bytes]] = field(default_factory=list)  # first crashing inputs
    seconds: float = 0.0

    @property
    def crash_count(self) -> int:
        return sum(self.crashes.values())


def feed_one(target: Target, data: bytes, out: Outcome, keep: int = 5) -> None:
    """Run one input and count what came out."""
    out.inputs += 1
    try:
        target.run(data)
    except target.errors as exc:
        out.errors[type(exc).__name__] += 1
    except Exception as exc:  # a crash: anything else, including a failed invariant
        key = f"{type(exc).__name__}: {str(exc)[:80]}"
        out.crashes[key] += 1
        if len(out.examples) < keep:
            out.examples.append((key, data))


def chunks(data: bytes) -> Iterable[bytes]:
    size = 1 + (data[0] % 23 if data else 0)
    return (data[i : i + size] for i in range(0, len(data), size))


# -- EA telegrams --------------------------------------------------------------------------------
EA_PROFILE = load_profile("el3000")
EA_SCALING = EA_PROFILE.scaling({"voltage": 160.0, "current": 60.0, "power": 400.0})
EA_SPECS = {s.number: s for s in EA_PROFILE.objects.values()}


def _ea_reader(direction: ea.Direction) -> Callable[[bytes], None]:
    reader = ea.TelegramReader(direction, max_node=31)  # one for all inputs, as in a driver

    def run(data: bytes) -> None:
        reader.clear()  # an earlier input that crashed may have left bytes behind
        out_bytes = 0
        for chunk in chunks(data):
            reader.feed(chunk)
            while (ev := reader.next_event()) is not ea.NEED_DATA:
                if isinstance(ev, ea.Telegram):
                    raw = ev.encode()
                    assert len(raw) == ea.frame_length(ev.sd), "telegram length differs from its SD"
                    assert ev.to_device == (direction is ea.Direction.TO_DEVICE), "wrong direction"
                    out_bytes += len(raw)
                    if direction is ea.Direction.FROM_DEVICE:
                        _ea_interpret(ev)
                else:
                    assert isinstance(ev, ea.Discarded), f"unexpected event {ev!r}"
                    assert ev.data, "empty discard"
                    out_bytes += len(ev.data)
            assert reader.buffered < ea.MAX_FRAME, f"{reader.buffered} bytes held after NEED_DATA"
        rest = reader.flush()
        out_bytes += len(rest.data) if rest is not None else 0
        assert reader.buffered == 0
        assert out_bytes == len(data), f"{out_bytes} bytes came out of {len(data)}"

    return run


def _ea_interpret(t: ea.Telegram) -> None:
    """What the driver does with an answer: decode the object, or turn a code into an error."""
    if t.obj == ea.ERROR_OBJECT and t.is_status:
        code = t.error_code
        assert code is not None
        err = ea.device_error(code, "fuzz")
        assert isinstance(err, ea.EaDeviceError)
        return
    spec = EA_SPECS.get(t.obj)
    if spec is not None:
        ea_decode(spec, t.data, EA_SCALING)


def _ea_seeds() -> list[bytes]:
    noms = {"voltage": 160.0, "current": 60.0, "power": 400.0}
    answers = [
        ea.answer(0, b"EL 3160-60A\0"),
        ea.answer(71, bytes.fromhex("0c80 0640 1900")),
        ea.answer(2, struct.pack(">f", noms["voltage"])),
        ea.status_answer(0),
        ea.status_answer(0x09),
    ]
    queries = [ea.query(71, 6), ea.query(0, 1), ea.send(50, b"\x10\x00"), ea.send(54, b"\x10\x10")]
    frames = [t.encode() for t in answers + queries]
    return [*frames, b"".join(frames[:3]), b"".join(frames[5:]), b"\x00\xff" + frames[1] + frames[1][:4]]


# -- ThingSet text -------------------------------------------------------------------------------
MPPT_MAX_LINE = 128  # small, so that over-long lines are exercised by short inputs

TS_SEEDS = [
    b':85 Content. {"Bat_V":12.85,"Bat_A":-1.03,"Solar_V":0.0}\n',
    b'# {"Bat_V":12.84,"Bat_A":1.2,"ChgState":3,"ErrorFlags":0}\r\n',
    b'#serial {"Bat_V":12.8,"Bat_degC":nan}\n',
    b":84 Changed.\n:A4 Not Found.\n:85.\n",
    b"*** Booting Zephyr OS ***\r\n\n",
    b'?info\n=pub/serial {"Enable":true}\n+pub/serial/IDs "Bat_degC"\n',
    b'?meas ["Bat_V","Bat_A"]\n!reset\n-pub/serial/IDs "Int_degC"\n?conf/\n',
]
CLIENT_EVENTS = (ts.Response, ts.MalformedResponse, ts.Statement, ts.Noise, LineTooLong)


def _ts_client(data: bytes) -> None:
    codec = ts.ClientCodec(max_line=MPPT_MAX_LINE)
    for chunk in chunks(data):
        codec.feed(chunk)
        for ev in codec.events():
            assert isinstance(ev, CLIENT_EVENTS), f"unexpected event {ev!r}"
            if isinstance(ev, ts.Statement):
                assert isinstance(ev.values, dict)
            elif isinstance(ev, ts.Response):
                assert 0 <= ev.status <= 0xFF
                if not ev.ok:
                    assert isinstance(ts.error_for(ev, "fuzz"), ts.ThingSetError)
        assert codec._lines.buffered <= MPPT_MAX_LINE, "the line buffer grew past max_line"


def _ts_device(data: bytes) -> None:
    codec = ts.DeviceCodec(max_line=MPPT_MAX_LINE)
    for chunk in chunks(data):
        codec.feed(chunk)
        while (ev := codec.next_event()) is not ts.NEED_DATA:
            if isinstance(ev, ts.InvalidRequest):
                continue
            assert isinstance(ev, ts.Request), f"unexpected event {ev!r}"
            raw = ts.encode_request(ev)  # may refuse: LocalProtocolError
            again = ts.parse_request(raw.decode("utf-8"))
            assert again == ev, f"{ev!r} re-encoded as {raw!r} reads back as {again!r}"


def _lines(data: bytes) -> None:
    splitter = LineSplitter(max_line=16)
    got: list[bytes] = []
    for chunk in chunks(data):
        splitter.feed(chunk)
        while (line := splitter.next_line()) is not ts.NEED_DATA:
            if isinstance(line, LineTooLong):
                assert len(line.head) == 16
                got.append(b"<long>")
                continue
            assert isinstance(line, bytes)
            assert line
            assert b"\r" not in line
            assert b"\n" not in line
            assert len(line) <= 16
            got.append(line)
        assert splitter.buffered <= 16
    *complete, tail = data.replace(b"\r", b"\n").split(b"\n")
    if all(len(p) <= 16 for p in complete) and len(tail) <= 16:  # no over-long line: a plain split
        assert got == [p for p in complete if p], "lines differ from a plain split"


# -- LabJack registers ---------------------------------------------------------------------------
def _labjack_t7():  # type: ignore[no-untyped-def]
    from benchgui.instruments.labjack.simdevice import SimT7, Wiring
    from benchgui.simbench.world import SimWorld, WorldParams

    return SimT7(SimWorld(WorldParams(sun=False)), Wiring.bench())


def _labjack(data: bytes) -> None:
    """Register arithmetic and coding, both sides: the client's decoding and the simulated T7's
    checks of register writes (the device side of the same map)."""
    if len(data) < 3:
        return
    op, body = data[0] % 5, data[1:]
    words = [int.from_bytes(body[i : i + 2], "big") for i in range(0, len(body) - 1, 2)]
    if op == 0:  # a block read: pick AINs out of it
        start = body[0] % 20
        ains = [start + (b % 8) for b in body[1:4]]
        values = reg.pick_ains(words, start, ains)  # ValueError for a block too short
        assert len(values) == len(ains)
    elif op == 1:  # FLOAT32 both ways
        for hi, lo in zip(words[::2], words[1::2], strict=False):
            x = reg.decode_float32(hi, lo)
            if not math.isnan(x):
                assert reg.encode_float32(x) == (hi, lo)
        (d,) = struct.unpack(">d", (body + bytes(8))[:8])
        if math.isfinite(d) and abs(d) < 3.4e38:
            assert reg.float32(reg.float32(d)) == reg.float32(d)
        reg.encode_float32(d)  # ValueError when it does not fit
    elif op == 2:  # UINT32 both ways
        n = int.from_bytes(body[:5], "big", signed=True)
        assert reg.decode_uint32(*reg.encode_uint32(n)) == n  # ValueError outside 0…2^32−1
    elif op == 3:  # what a T7 does with a register write
        address = words[0] if words else 0
        code = T7.check_write(address, words[1:])
        assert code in (None, 2, 3), f"exception code {code}"
    else:  # settings as the client reads them back
        for i in range(0, len(words) - 5, 6):
            ain = words[i] % 16
            settings = reg.AinSettings(
                ain,
                reg.decode_float32(words[i + 1], words[i + 2]),
                words[i + 3] % 256,
                words[i + 4] % 16,
                reg.decode_float32(words[i + 5], 0),
            )
            assert all(isinstance(p, str) for p in settings.problems())
            reg.ain_span([ain, settings.negative_ch % 250])


T7 = _labjack_t7()
LABJACK_SEEDS = [
    bytes([0]) + b"".join(struct.pack(">f", v) for v in (12.8, -1.02, 0.0, 2.56)),
    bytes([1]) + struct.pack(">ff", 0.1, float("inf")) + struct.pack(">d", 1e39),
    bytes([2]) + (470099999).to_bytes(5, "big"),
    bytes([3]) + (40004).to_bytes(2, "big") + struct.pack(">f", 1.0),
    bytes([3]) + (41002).to_bytes(2, "big") + (199).to_bytes(2, "big") + (3).to_bytes(2, "big"),
    bytes([4]) + (2).to_bytes(2, "big") + struct.pack(">f", 10.0) + bytes([0, 199, 0, 8, 0x47, 0x43]),
]


# -- the CSV importer (recording feature) ----------------------------------------------------------
CSV_SEEDS = [
    b'Time,"Bat_voltage {device=""470023670"", name=""V""}","Bat_A {device=""mppt-1210-hus"", name=""A""}"\n'
    b"1622238915000,12.909520149231,-1.03\n1622238991000,12.9091825485229,\n",
    b'\xef\xbb\xbfsep=,\n"Time","Bat_V {device=""EA-EL-3060"", name=""V""}"\n'
    b"2021-05-28 23:55:15,13\n2021-05-28 23:56:31,null\n",
    b"Time;Bat_V\r\n2021-05-28T23:55:15Z;12,9\r\n",
]


def csv_target() -> Target | None:
    """The importer as a target, when this build has it."""
    try:
        mod = importlib.import_module("benchgui.recording.csv_import")
    except ModuleNotFoundError:
        return None
    parse = getattr(mod, "parse_grafana_csv", None)
    error = getattr(mod, "ImportFormatError", None)
    if parse is None or error is None:
        return None
    from datetime import UTC

    def run(data: bytes) -> None:
        parsed = parse(data, tz=UTC)
        times = [s.t_ns for s in parsed.samples]
        assert times == sorted(times), "samples not sorted by time"
        assert all(isinstance(s.value, float) for s in parsed.samples)

    return Target("csv_import", CSV_SEEDS, run, (error,))


def targets() -> list[Target]:
    out = [
        Target(
            "ea.telegrams.from_device", _ea_seeds(), _ea_reader(ea.Direction.FROM_DEVICE), (ea.MalformedData,)
        ),
        Target("ea.telegrams.to_device", _ea_seeds(), _ea_reader(ea.Direction.TO_DEVICE)),
        Target("mppt.thingset.client", TS_SEEDS, _ts_client),
        Target("mppt.thingset.device", TS_SEEDS, _ts_device, (ts.LocalProtocolError,)),
        Target("mppt.lines", TS_SEEDS, _lines),
        Target("labjack.registers", LABJACK_SEEDS, _labjack, (ValueError,)),
    ]
    csv = csv_target()
    if csv is not None:
        out.append(csv)
    from tests.support import fuzz_inputs  # config, program and command-line inputs (issue 22)

    return out + fuzz_inputs.targets()
