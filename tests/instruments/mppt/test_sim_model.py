"""The simulated MPPT's answers, statements and physics — through the real codec, no I/O."""

from __future__ import annotations

import pytest

from benchgui.instruments.mppt.protocol import (
    ClientCodec,
    DeviceCodec,
    Response,
    Statement,
)
from benchgui.instruments.mppt.sim_model import DEFAULT_PUB_IDS, MpptModel, SimOptions
from tests.instruments.mppt.conftest import ManualClock, make_world


def ask(model: MpptModel, line: str) -> Response:
    dev = DeviceCodec()
    dev.feed(line.encode() + b"\n")
    out = model.handle(dev.next_event())  # type: ignore[arg-type]
    client = ClientCodec()
    client.feed(out)
    (ev,) = client.events()
    assert isinstance(ev, Response), out
    return ev


@pytest.fixture
def model(manual_clock: ManualClock) -> MpptModel:
    return MpptModel(make_world(manual_clock, initial_soc=0.6, sun_start_hour=11.0), SimOptions(seed=5))


def test_get_groups_names_and_values(model: MpptModel) -> None:
    r = ask(model, "?/")
    assert r.status == 0x85
    assert {"info", "conf", "input", "output", "rec", "pub"} <= set(r.payload)
    assert ask(model, "?output/").payload[:3] == ["Uptime_s", "Bat_V", "Bat_A"]
    info = ask(model, "?info").payload
    assert info["Manufacturer"] == "Libre Solar"
    assert info["DeviceType"] == "MPPT 1210 HUS"
    assert ask(model, "?pub/serial/IDs").payload == list(DEFAULT_PUB_IDS)
    assert ask(model, "?pub/").payload == ["serial"]
    assert ask(model, "?input").payload == {"LoadEn": True, "UsbEn": True, "DcdcEn": True}


def test_fetch_selected_values(model: MpptModel) -> None:
    assert ask(model, '?conf ["BatNom_Ah","Trickle_V"]').payload == [7.2, 13.8]
    assert ask(model, '?conf "Topping_V"').payload == 14.4


def test_update_and_the_effect(model: MpptModel) -> None:
    assert ask(model, '=conf {"Topping_V":14.2,"BatNom_Ah":50}') == Response(0x84, "Changed")
    assert model.charger.p.topping_v == 14.2
    assert ask(model, '?conf ["Topping_V","BatNom_Ah"]').payload == [14.2, 50.0]
    assert ask(model, '=pub/serial {"Enable":false}').status == 0x84
    assert not model.publication_enabled
    assert ask(model, '=pub/serial {"Period_s":5}').status == 0x84
    assert model.period_s == 5.0
    assert model.period_changed


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("?nosuch", 0xA4),
        ("?output/Nope", 0xA4),
        ('?conf ["Nope"]', 0xA4),
        ("?conf {}", 0xA0),
        ('=conf {"Nope":1}', 0xA4),
        ('=nosuch {"A":1}', 0xA4),
        ('=conf {"BatNom_Ah":"lots"}', 0xA0),
        ('=input {"LoadEn":1}', 0xA0),  # a bool item wants a bool
        ('=conf ["BatNom_Ah"]', 0xA0),
        ("=conf {bad", 0xA0),
        ('=output {"Bat_V":12}', 0xA3),  # read-only
        ('=cal {"DcdcMin_W":2.0}', 0xA1),  # maker only
        ('=pub/serial {"Period_s":0}', 0xA0),
        ("!conf", 0xA5),
        ("!nosuch", 0xA4),
        ('+pub/serial/IDs "Nope"', 0xA4),
        ("+pub/serial/IDs 5", 0xA0),
        ('+conf "x"', 0xA5),
        ('-pub/serial/IDs "Bat_W"', 0xA4),  # not in the list
        ("hello", 0xA0),
    ],
)
def test_error_statuses(model: MpptModel, line: str, status: int) -> None:
    assert ask(model, line).status == status


def test_update_is_all_or_nothing(model: MpptModel) -> None:
    assert ask(model, '=conf {"Topping_V":14.1,"Nope":1}').status == 0xA4
    assert model.tree["conf"]["Topping_V"].value == 14.4


def test_auth_unlocks_maker_items(model: MpptModel) -> None:
    assert ask(model, '!auth "wrong"').status == 0x83
    assert ask(model, '=cal {"DcdcMin_W":2.0}').status == 0xA1
    assert ask(model, '!auth "maker456"').status == 0x83
    assert ask(model, '=cal {"DcdcMin_W":2.0}').status == 0x84


def test_publication_list_create_delete(model: MpptModel) -> None:
    assert ask(model, '+pub/serial/IDs "Bat_degC"') == Response(0x81, "Created")
    assert "Bat_degC" in ask(model, "?pub/serial/IDs").payload
    assert ask(model, '-pub/serial/IDs "Bat_degC"') == Response(0x82, "Deleted")
    assert "Bat_degC" not in model.pub_ids


def test_reset_restarts_uptime_and_prints_a_banner(model: MpptModel, manual_clock: ManualClock) -> None:
    manual_clock.advance(100)
    model.tick()
    assert model.value("Uptime_s") == 100
    assert ask(model, "!exec/reset").status == 0x83
    model.tick()
    assert model.value("Uptime_s") == 0
    assert model.output_queue
    assert b"Booting" in model.output_queue[0]


def _statement(model: MpptModel) -> Statement:
    codec = ClientCodec()
    codec.feed(model.statement())
    (ev,) = codec.events()
    assert isinstance(ev, Statement)
    return ev


def test_statement_forms_and_decimals(manual_clock: ManualClock) -> None:
    world = make_world(manual_clock, initial_soc=0.6)
    old = MpptModel(world, SimOptions(firmware="old"))
    line = old.statement()
    assert line.startswith(b'# {"Uptime_s":0,"Bat_V":')
    assert b'"BatUsable_Ah":7.2,' in line  # one decimal
    st = _statement(old)
    assert list(st.values) == list(DEFAULT_PUB_IDS)  # data-table order
    new = MpptModel(world, SimOptions(firmware="new"))
    assert new.statement().startswith(b'#serial {"Uptime_s":')
    assert ask(new, '+pub/serial/IDs "Bat_degC"').status == 0x81
    assert list(_statement(new).values)[3] == "Bat_degC"  # placed by table order, not appended


def test_values_follow_the_world_with_sensor_errors(manual_clock: ManualClock) -> None:
    world = make_world(manual_clock, initial_soc=0.6, sun=False)
    model = MpptModel(world, SimOptions(seed=3))
    world.set_current("load", -3.0)
    readings = []
    for _ in range(50):
        manual_clock.advance(1.0)
        model.tick()
        readings.append(model.value("Bat_A"))
        assert round(model.value("Bat_V"), 2) == model.value("Bat_V")  # firmware prints 2 decimals
        assert abs(model.value("Bat_V") - world.voltage()) < 0.06
    mean = sum(readings) / len(readings)
    assert -3.1 < mean < -2.95  # gain 1.01 and a +0.02 A offset
    assert len(set(readings)) > 1  # noise
    assert model.value("ChgState") == 0
    assert model.value("Solar_V") == 0.0


def test_sun_charges_the_battery_and_counters_run(manual_clock: ManualClock) -> None:
    world = make_world(manual_clock, initial_soc=0.5, sun_start_hour=11.0)
    model = MpptModel(world)
    soc0 = world.battery.soc
    for _ in range(600):
        manual_clock.advance(10.0)
        model.tick()
    assert world.battery.soc > soc0 + 0.1
    assert model.value("ChgState") in (1, 2, 3)
    assert model.value("Bat_A") > 0
    assert model.value("Solar_V") > model.value("Bat_V")
    assert model.value("SolarInDay_Wh") > model.value("BatChgDay_Wh") > 5.0
    assert model.value("SOC_pct") > 60


def test_own_soc_is_a_coulomb_counter_that_drifts(manual_clock: ManualClock) -> None:
    world = make_world(manual_clock, initial_soc=0.8, sun=False)
    model = MpptModel(world)
    assert model.value("SOC_pct") == 80
    world.set_current("load", -3.6)  # half the capacity in one hour
    for _ in range(360):
        manual_clock.advance(10.0)
        model.tick()
    true_soc = 100 * world.battery.soc
    assert abs(true_soc - 30) < 1
    assert model.value("SOC_pct") < 31  # reads 1 % high on current, so it counts a little more
    assert model.value("Dis_Ah") == pytest.approx(7.2 * (1 - model.value("SOC_pct") / 100), abs=0.05)


def test_load_output_and_low_voltage_disconnect(manual_clock: ManualClock) -> None:
    world = make_world(manual_clock, initial_soc=0.6, sun=False)
    model = MpptModel(world, SimOptions(load_output_a=0.5))
    manual_clock.advance(1)
    model.tick()
    assert model.value("LoadInfo") == 1
    assert 0.45 < model.value("Load_A") < 0.55
    assert world.battery.current < -0.45
    ask(model, '=input {"LoadEn":false}')
    model.tick()
    assert model.value("LoadInfo") == 0
    assert model.value("Load_A") == 0.0
    ask(model, '=input {"LoadEn":true}')
    world.set_current("load", -60.0)  # pull the battery below the disconnect voltage
    manual_clock.advance(1)
    model.tick()
    assert model.value("LoadInfo") == -1
    assert model.value("ErrorFlags") & 0x1
    assert model.value("DeepDisCount") == 1


def test_injected_error_flags_are_published(model: MpptModel) -> None:
    model.force_error_flags = 0x2000
    model.tick()
    assert _statement(model).values["ErrorFlags"] & 0x2000


def test_firmware_without_the_dcdc_switch_keeps_charging(model: MpptModel, manual_clock: ManualClock) -> None:
    """Older firmware and PWM boards have no ``input/DcdcEn``: the simulator plays them (a test
    of the charger interlock removes the item) and must go on ticking, its DC/DC always on."""
    del model.tree["input"]["DcdcEn"]
    model.charger.enabled = False
    manual_clock.advance(1.0)
    model.tick()
    assert model.charger.enabled is True
    assert "DcdcEn" not in ask(model, "?input").payload
