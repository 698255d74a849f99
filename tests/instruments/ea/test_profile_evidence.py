"""The profiles follow the evidence: a PS 2000 B client's length-0 queries, the EL's object 69.

The client below talks to ``benchgui sim ea`` (a separate process, a real pty) the way widely used
PS 2000 B client code does — PyPI ``ea-psu-controller`` 1.1.0, ``psu_ea.py`` (tested by its
authors on a PS 2042-06B and a PS 2342-10B): every query is ``[0x70, output, obj]`` + checksum,
SD length field 0 whatever the object, and the answer is read as SD DN OBJ DATA CS. It is
written here from the telegram layout (reference §2), not copied.
"""

from __future__ import annotations

import select
import signal
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from benchgui.instruments.ea.loader import load_profile
from benchgui.instruments.ea.protocol import query
from benchgui.instruments.ea.simdevice import SimEaDevice
from benchgui.simbench.world import SimWorld, WorldParams
from tests.helpers import spawn_cli

pytestmark = pytest.mark.timeout(60)

SD_QUERY_LENGTH_0 = 0x70  # query (0x40) + cast (0x20) + to device (0x10), length field 0


class LengthZeroClient:
    """A minimal PS 2000 B client: SD 0x70 for every query, answers read by their SD length."""

    def __init__(self, port: str) -> None:
        # 8N1 here: a pty carries no parity (the 8O1 path is tested in test_transport_8o1.py)
        self.port = serial.Serial(port, 57600, timeout=5.0)

    def close(self) -> None:
        self.port.close()

    def ask(self, obj: int, output: int = 0) -> tuple[int, bytes]:
        """(answer OBJ, data) for a length-0 query of ``obj``."""
        body = bytes((SD_QUERY_LENGTH_0, output, obj))
        self.port.write(body + (sum(body) & 0xFFFF).to_bytes(2, "big"))
        head = self.port.read(3)
        assert len(head) == 3, f"no answer to object {obj}"
        n = (head[0] & 0x0F) + 1
        rest = self.port.read(n + 2)
        assert len(rest) == n + 2, f"short answer to object {obj}: {head.hex(' ')} {rest.hex(' ')}"
        frame = head + rest
        assert int.from_bytes(frame[-2:], "big") == sum(frame[:-2]) & 0xFFFF, frame.hex(" ")
        return head[2], rest[:n]

    def float_of(self, obj: int) -> float:
        got_obj, data = self.ask(obj)
        assert got_obj == obj, f"object {obj} refused: OBJ 0x{got_obj:02X} code {data.hex()}"
        return float(struct.unpack(">f", data)[0])

    def string_of(self, obj: int) -> str:
        got_obj, data = self.ask(obj)
        assert got_obj == obj, f"object {obj} refused: OBJ 0x{got_obj:02X} code {data.hex()}"
        return data.split(b"\0", 1)[0].decode("ascii")


def first_line(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the simulator printed nothing"
    return proc.stdout.readline().strip()


def serve(link: Path, *args: str) -> Iterator[LengthZeroClient]:
    proc = spawn_cli(["sim", "ea", "--link", str(link), *args])
    client = None
    try:
        line = first_line(proc)
        assert str(link) in line, line
        client = LengthZeroClient(str(link))
        yield client
    finally:
        if client is not None:
            client.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def ps2000b(tmp_path: Path) -> Iterator[LengthZeroClient]:
    yield from serve(tmp_path / "ps.pty", "--profile", "ps2000b", "--model", "PS 2042-06B")


@pytest.fixture
def el3000(tmp_path: Path) -> Iterator[LengthZeroClient]:
    yield from serve(tmp_path / "el.pty")


def test_a_ps2000b_client_reads_nominals_and_status_with_length_0_queries(ps2000b: LengthZeroClient) -> None:
    """The issue's reproduction: such a client failed at its first float (object 2 → error 0x08)."""
    assert ps2000b.string_of(0) == "PS 2042-06B"
    assert ps2000b.float_of(2) == pytest.approx(42.0)  # the profile's nominals, not the EL's
    assert ps2000b.float_of(3) == pytest.approx(6.0)
    assert ps2000b.float_of(4) == pytest.approx(100.0)
    obj, data = ps2000b.ask(71)  # status + actual values, 6 bytes
    assert obj == 71
    assert len(data) == 6
    assert data[0] & 0x03 == 0  # not in remote: nobody asked for it
    assert data[1] & 0x01 == 0  # output off
    obj, data = ps2000b.ask(19)  # device class, a u16
    assert obj == 19
    assert len(data) == 2


def test_the_el3000_keeps_the_captured_object_69_refusal(el3000: LengthZeroClient) -> None:
    """Capture [S1]: ``70 00 45 00 B5`` → ``C0 01 FF 08 01 C8``; strings answer SD 0x70."""
    assert el3000.string_of(0) == "EL 3160-60A"
    el3000.port.write(bytes.fromhex("70 00 45 00 B5"))
    assert el3000.port.read(6) == bytes.fromhex("C0 01 FF 08 01 C8")


@pytest.mark.parametrize("name", ["el3000", "ps2000b"])
def test_other_length_fields_are_refused_on_both(name: str) -> None:
    """Inference on both profiles (marked in the TOML): a length field that is neither 0 nor the
    object's length → 0x08. The EL refuses length 0 for floats, the PS 2000 B answers it."""
    dev = SimEaDevice(SimWorld(WorldParams(sun=False)), load_profile(name))
    wrong = dev.handle(query(2, 2))  # a float announced as 2 bytes
    assert wrong is not None
    assert wrong.data == b"\x08"
    assert wrong.is_status
    zero = dev.handle(query(2, 1))
    assert zero is not None
    assert (zero.obj, zero.is_status) == ((0xFF, True) if name == "el3000" else (2, False))


def test_accept_length_0_is_validated_and_overridable(tmp_path: Path) -> None:
    from benchgui.instruments.ea.objects import ProfileError

    base = Path(load_profile("ps2000b").path).read_text()
    head = "[objects.nominal_voltage]\nnumber = 2"
    strict = base.replace(head, head + "\naccept_length_0 = false")
    path = tmp_path / "strict.toml"
    path.write_text(strict)
    p = load_profile(str(path))
    assert not p.objects["nominal_voltage"].accepts_query(1)
    assert p.objects["nominal_current"].accepts_query(1)  # the profile's default still holds
    path.write_text(base.replace("accept_length_0 = true", 'accept_length_0 = "yes"'))
    with pytest.raises(ProfileError, match=r"profile\.accept_length_0"):
        load_profile(str(path))
