"""Model files: the shipped ones load, files round-trip, and mistakes name their key."""

from pathlib import Path

import numpy as np
import pytest

from benchgui.soc.modelfile import (
    ModelFileError,
    builtin_model_names,
    dump_model,
    find_model,
    load_model,
    parse_model,
)

GOOD = """
format = "benchgui-esc-1"
name = "tiny"
cells_in_series = 2
capacity_ah = 2.0
r0_ohm = 0.01
[[rc]]
r_ohm = 0.005
tau_s = 30.0
[ocv]
soc_pct = [0, 50, 100]
voltage_v = [[3.0, 3.5, 4.0]]
"""


def test_shipped_models_load_and_match_the_bench() -> None:
    assert {"lead-acid-6s", "lifepo4-4s"} <= set(builtin_model_names())
    la = load_model("lead-acid-6s")
    assert la.cells_in_series == 6
    assert la.capacity_ah == pytest.approx(7.2)
    # the bench battery rests at about 12.9 V when full
    assert 6 * la.curve().ocv1(1.0) == pytest.approx(12.9, abs=0.05)
    lfp = load_model("lifepo4-4s")
    assert lfp.cells_in_series == 4
    assert lfp.chemistry == "lifepo4"


def test_round_trip_is_stable() -> None:
    m = load_model("lifepo4-4s")
    again = parse_model(dump_model(m, "header\nlines"))
    assert parse_model(dump_model(again)) == again
    assert again.ocv.voltage_v == pytest.approx(m.ocv.voltage_v, abs=1e-5)
    assert again.rc == m.rc


def test_minimal_file_gets_defaults() -> None:
    m = parse_model(GOOD)
    assert m.coulombic_efficiency == 1.0
    assert m.hysteresis_m_v == 0.0
    assert m.uncertainty.rest_v.shape == (1,)


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (
            ("voltage_v = [[3.0, 3.5, 4.0]]", "voltage_v = [[3.0, 3.6, 3.5]]"),
            "ocv.voltage_v[0]",
            "increase strictly",
        ),
        (("soc_pct = [0, 50, 100]", "soc_pct = [0, 50, 90]"), "ocv.soc_pct", "0 … 100"),
        (("capacity_ah = 2.0", "capacity_ah = -2.0"), "capacity_ah", "must be within"),
        (("r0_ohm = 0.01", "r0_ohm = 'low'"), "r0_ohm", "finite number"),
        (("cells_in_series = 2", "cells_in_series = 2.5"), "cells_in_series", "integer"),
        (("tau_s = 30.0", "tau_s = 0.0"), "rc[0].tau_s", "0.01"),
        (('name = "tiny"', 'name = "tiny"\ncapacity = 3'), "capacity", "unknown key"),
        (("voltage_v = [[3.0, 3.5, 4.0]]", "voltage_v = [[3.0, 3.5]]"), "ocv.voltage_v[0]", "3 numbers"),
        (('format = "benchgui-esc-1"', 'format = "other"'), "format", "must be"),
    ],
)
def test_mistakes_name_the_key(change: tuple[str, str], key: str, problem: str) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(ModelFileError) as info:
        parse_model(text, "m.toml")
    assert info.value.key == key
    assert problem in str(info.value)
    assert str(info.value).startswith("m.toml: ")


def test_missing_and_invalid_toml() -> None:
    with pytest.raises(ModelFileError, match="missing"):
        parse_model(GOOD.replace("r0_ohm = 0.01\n", ""))
    with pytest.raises(ModelFileError, match="not valid TOML"):
        parse_model("name = ")


def test_find_model_by_path_or_name(tmp_path: Path) -> None:
    p = tmp_path / "mine.toml"
    p.write_text(GOOD)
    assert find_model(str(p)) == p
    assert find_model("lead-acid-6s").name == "lead-acid-6s.toml"
    assert find_model("mine", (tmp_path,)) == p
    with pytest.raises(ModelFileError, match="lead-acid-6s"):
        find_model("no-such-model")


def test_uncertainty_table_is_validated() -> None:
    extra = "\n[uncertainty]\nsoc_pct = [10, 90]\nrest_v = [0.002, 0.003]\ndynamic_fraction = [0.2]\n"
    with pytest.raises(ModelFileError, match="equal lengths"):
        parse_model(GOOD + extra)
    ok = extra.replace("[0.2]", "[0.2, 0.3]")
    m = parse_model(GOOD + ok)
    rest, dyn = m.uncertainty.tables()
    assert rest[10] == pytest.approx(0.002)
    assert dyn[50] == pytest.approx(0.25)
    assert np.all(np.diff(m.ocv.voltage_v) > 0)


def test_resistance_limits_follow_the_cell() -> None:
    # a 5 mAh cell with 13 Ω in a branch is a real cell (issue 18: it was refused at 0…10)
    small = GOOD.replace("capacity_ah = 2.0", "capacity_ah = 0.005")
    small = small.replace("r_ohm = 0.005", "r_ohm = 13.0952")
    assert parse_model(small).rc[0].r_ohm == pytest.approx(13.0952)
    # what no cell of that size can have: 10 V dropped at 1C
    with pytest.raises(ModelFileError, match=r"rc\[0\]\.r_ohm: must be within 0…2000 Ω for a 0.005 Ah cell"):
        parse_model(small.replace("r_ohm = 13.0952", "r_ohm = 2500.0"))
    with pytest.raises(ModelFileError, match=r"r0_ohm: must be within 0…5 Ω for a 2 Ah cell"):
        parse_model(GOOD.replace("r0_ohm = 0.01", "r0_ohm = 6.0"))


def test_identification_of_a_small_cell_writes_a_file_its_loader_accepts(tmp_path: Path) -> None:
    from benchgui.cli import main
    from tests.soc.synthetic import characterisation, nmc_like

    truth = nmc_like(cells=1, capacity_ah=0.005)  # 20 Ω R0, 10 + 15 Ω in the branches
    run, _ = characterisation(truth, current_noise_a=5e-6)
    csv = tmp_path / "small.csv"
    rows = np.column_stack([run.t_s, run.current_a, run.voltage_v])
    np.savetxt(csv, rows, delimiter=",", header="time_s,current_a,voltage_v", comments="", fmt="%.9g")
    out = tmp_path / "small.toml"
    assert main(["soc", "identify", str(csv), "--cells", "1", "--output", str(out)]) == 0
    model = load_model(out)  # was: "r0_ohm: must be within 0…10, got 20.…"
    assert model.capacity_ah == pytest.approx(0.005, rel=0.03)
    assert model.r0_ohm + sum(b.r_ohm for b in model.rc) > 10.0


def test_an_old_file_loads_without_a_charge_resistance() -> None:
    # files written before ΔR⁺ existed (and the shipped ones) have neither key: one R0, one fraction
    for m in (parse_model(GOOD), load_model("lead-acid-6s"), load_model("lifepo4-4s")):
        assert m.r0_charge_extra_ohm == 0.0
        assert m.uncertainty.charge_fraction is None
        assert m.uncertainty.charge_table() is None
    # and a model without them is written without them (files of lithium models do not change)
    text = dump_model(load_model("lifepo4-4s"))
    assert "r0_charge_extra_ohm" not in text
    assert "charge_fraction" not in text


def test_charge_resistance_and_charge_row_round_trip_and_follow_the_cell() -> None:
    extra = (
        "\n[uncertainty]\nsoc_pct = [10, 90]\nrest_v = [0.002, 0.003]\n"
        "dynamic_fraction = [0.2, 0.3]\ncharge_fraction = [1.5, 2.5]\n"
    )
    text = GOOD.replace("r0_ohm = 0.01", "r0_ohm = 0.01\nr0_charge_extra_ohm = 0.05") + extra
    m = parse_model(text)
    assert m.r0_charge_extra_ohm == pytest.approx(0.05)
    chg = m.uncertainty.charge_table()
    assert chg is not None
    assert chg[50] == pytest.approx(2.0)
    assert parse_model(dump_model(m)) == m
    # ΔR⁺ follows the cell like R0: 10 V at 1C is the limit, for a 2 Ah cell 5 Ω
    with pytest.raises(ModelFileError, match=r"r0_charge_extra_ohm: must be within 0…5 Ω for a 2 Ah cell"):
        parse_model(text.replace("r0_charge_extra_ohm = 0.05", "r0_charge_extra_ohm = 6.0"))
    small = text.replace("capacity_ah = 2.0", "capacity_ah = 0.005").replace("0.05\n", "300.0\n", 1)
    assert parse_model(small).r0_charge_extra_ohm == pytest.approx(300.0)
    with pytest.raises(ModelFileError, match="charge_fraction"):
        parse_model(text.replace("[1.5, 2.5]", "[1.5]"))
    with pytest.raises(ModelFileError, match="charge_fraction"):
        parse_model(text.replace("[1.5, 2.5]", "[1.5, 12.0]"))


def test_the_rest_row_round_trips_and_is_validated() -> None:
    extra = (
        "\n[uncertainty]\nsoc_pct = [10, 90]\nrest_v = [0.002, 0.003]\n"
        "dynamic_fraction = [0.8, 0.8]\nrest_fraction = [0.2, 0.4]\n"
    )
    m = parse_model(GOOD + extra)
    rst = m.uncertainty.rest_fraction_table()
    assert rst is not None
    assert rst[50] == pytest.approx(0.3)
    assert parse_model(dump_model(m)) == m
    assert m != parse_model(GOOD + extra.replace("rest_fraction = [0.2, 0.4]\n", ""))
    for bad in ("[0.2]", "[0.2, 11.0]"):
        with pytest.raises(ModelFileError, match="rest_fraction"):
            parse_model(GOOD + extra.replace("[0.2, 0.4]", bad))
    # files without it (every shipped one) load and are written without it
    assert load_model("lead-acid-6s").uncertainty.rest_fraction_table() is None
    assert "rest_fraction" not in dump_model(load_model("lifepo4-4s"))
