"""The simulated device's answers, byte for byte, against the real EL 3160-60A and its rules."""

from __future__ import annotations

import pytest

from benchgui.instruments.ea import protocol as p
from benchgui.instruments.ea.objects import Profile
from benchgui.instruments.ea.simdevice import SimEaDevice, SimIdentity
from benchgui.simbench.world import SimWorld
from tests.instruments.ea import golden as g


@pytest.fixture
def dev(world: SimWorld, profile: Profile) -> SimEaDevice:
    return SimEaDevice(world, profile, SimIdentity(serial="2649810226"))


def ask(dev: SimEaDevice, wire: bytes) -> bytes:
    reader = p.TelegramReader(p.Direction.TO_DEVICE, max_node=255)
    reader.feed(wire)
    ev = reader.next_event()
    reply = dev.on_discarded(ev) if isinstance(ev, p.Discarded) else dev.handle(ev)  # type: ignore[arg-type]
    assert reply is not None
    return reply.encode()


def code(dev: SimEaDevice, t: p.Telegram) -> int | None:
    reply = dev.handle(t)
    assert reply is not None
    return reply.error_code


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (g.Q_TYPE, g.A_TYPE),
        (g.Q_SERIAL, g.A_SERIAL),
        (g.Q_FIRMWARE, g.A_FIRMWARE),
        (g.Q_AH_WRONG_LENGTH, g.A_LENGTH_ERROR),
    ],
)
def test_answers_match_the_captures(dev: SimEaDevice, query: bytes, expected: bytes) -> None:
    assert ask(dev, query) == expected


def test_actual_values_and_ah_have_the_captured_shape(dev: SimEaDevice) -> None:
    actual = ask(dev, g.Q_ACTUAL)
    assert actual[:3] == bytes.fromhex("850147")
    assert len(actual) == 11
    ah = ask(dev, g.Q_AH)
    assert ah[:3] == bytes.fromhex("830145")
    assert len(ah) == 9


def test_checksum_wrong_answer(dev: SimEaDevice) -> None:
    assert ask(dev, g.Q_TYPE[:-1] + b"\x71") == p.status_answer(0x03, 1).encode()


def test_remote_rules(dev: SimEaDevice) -> None:
    set_2a5 = p.send(51, (1067).to_bytes(2, "big"))
    input_on = p.send(54, b"\x01\x01")
    assert code(dev, set_2a5) == 0x09  # set values refused unless remote
    assert code(dev, input_on) == 0x09
    assert not dev.input_on
    assert dev.setpoint("current") == 0
    assert code(dev, p.send(54, b"\x10\x10")) == 0  # remote on is always allowed
    assert code(dev, set_2a5) == 0
    assert code(dev, input_on) == 0
    assert dev.input_on
    assert dev.setpoint("current") == pytest.approx(2.5, abs=0.003)
    dev.stage.update()
    assert dev.stage.sink_a == pytest.approx(2.5, abs=0.003)
    assert code(dev, p.send(54, b"\x01\x00")) == 0  # input off → no current
    dev.stage.update()
    assert dev.stage.sink_a == 0
    dev.force_local()
    assert code(dev, set_2a5) == 0x09


def test_error_answers(dev: SimEaDevice) -> None:
    assert code(dev, p.send(54, b"\x10\x10")) == 0
    assert code(dev, p.send(51, (25601).to_bytes(2, "big"))) == 0x30  # above 100 %
    assert code(dev, p.query(200, 1)) == 0x07  # undefined object
    assert code(dev, p.query(71, 1)) == 0x08  # fixed-length object, wrong length field
    assert code(dev, p.send(51, b"\x01")) == 0x08  # wrong data length
    assert code(dev, p.send(2, b"\x00\x00\x00\x00")) == 0x09  # nominal voltage is read-only
    assert code(dev, p.query(0, 1, node=7)) == 0x05  # another device's node
    assert dev.refusals == 6


def test_modes_via_the_control_object(dev: SimEaDevice) -> None:
    for t in (p.send(54, b"\x10\x10"), p.send(54, b"\x0e\x04"), p.send(52, (6400).to_bytes(2, "big"))):
        assert code(dev, t) == 0
    assert dev.mode == "CP"
    assert dev.setpoint("power") == 100.0
    assert code(dev, p.send(54, b"\x01\x01")) == 0
    dev.stage.update()
    assert dev.stage.sink_a * dev.world.voltage() == pytest.approx(100.0, rel=0.01)
    state = ask(dev, p.query(70, 2).encode())
    assert state[3] & 0x03 == 0x01
    assert state[4] & 0x01
    assert (state[4] >> 1) & 0x03 == 3
