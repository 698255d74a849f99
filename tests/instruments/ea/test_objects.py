"""Device profiles: loading, validation with key-naming errors, corrections without code changes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from benchgui.errors import ConfigError
from benchgui.instruments.ea.loader import PROFILE_DIR, available_profiles, load_profile, parse_profile
from benchgui.instruments.ea.objects import NotSupported, ProfileError


def el3000_data() -> dict:  # type: ignore[type-arg]
    with (PROFILE_DIR / "el3000.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_shipped_profiles_load() -> None:
    assert {"el3000", "ps2000b"} <= set(available_profiles())
    el = load_profile("el3000")
    assert el.obj("actual").number == 71
    assert [f.name for f in el.obj("actual").fields] == [
        "voltage",
        "current",
        "power",
    ]
    assert el.obj("ah_counter").query_length == 4  # SD 0x73, as the real device wants
    assert el.obj("device_type").query_length == 1  # SD 0x70 worked for strings
    assert el.status is not None
    assert el.status.object == "device_state"
    assert not el.status.confirmed
    assert el.control is not None
    assert el.control.action("remote_on") == (0x10, 0x10)
    ps = load_profile("ps2000b")
    assert ps.status is not None
    assert ps.status.object == "actual"
    assert not ps.has("ah_counter")
    with pytest.raises(NotSupported):
        ps.obj("ah_counter")


def test_aliases_and_the_config_default_resolve() -> None:
    assert load_profile("el3160-60").name == "el3000"  # EaSection.profile's default
    assert load_profile("EL3000A").name == "el3000"


def test_unconfirmed_objects_are_listed() -> None:
    listed = " ".join(load_profile("el3000").unconfirmed())
    for role in ("set_current (object 51)", "set_power (object 52)", "control (object 54)", "device_state"):
        assert role in listed
    assert "actual" not in listed
    assert "ah_counter" not in listed


def test_unknown_profile_names_the_key() -> None:
    with pytest.raises(ProfileError) as info:
        load_profile("el9999")
    assert info.value.key == "instruments.ea.profile"
    assert "el3000" in str(info.value)
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["objects"]["set_current"].update(number=300), "objects.set_current.number"),
        (lambda d: d["objects"]["set_current"].update(number=50), "objects.set_current.number"),
        (lambda d: d["objects"]["actual"].update(length=4), "objects.actual.length"),
        (
            lambda d: d["objects"]["actual"]["fields"][1].update(scale="amps"),
            "objects.actual.fields[1].scale",
        ),
        (lambda d: d["objects"]["nominal_power"].update(type="double"), "objects.nominal_power.type"),
        (lambda d: d["objects"]["nominal_power"].update(length=8), "objects.nominal_power.length"),
        (lambda d: d["objects"]["serial"].update(colour="red"), "objects.serial.colour"),
        (lambda d: d["status"]["input_on"].update(field="nope"), "status.input_on.field"),
        (lambda d: d["status"].update(object="serial"), "status.object"),
        (lambda d: d["control"].update(input_on=[0x01, 0x03]), "control.input_on"),
        (lambda d: d["control"].update(object="actual"), "control.object"),
        (lambda d: d.update(extra={}), "extra"),
        (lambda d: d["status"]["mode"]["values"].update(x="CC"), "status.mode.values.x"),
    ],
)
def test_invalid_profiles_name_the_key(edit, key: str) -> None:  # type: ignore[no-untyped-def]
    data = el3000_data()
    edit(data)
    with pytest.raises(ProfileError) as info:
        parse_profile(data, "test.toml")
    assert info.value.key == key
    assert "test.toml" in str(info.value)


def test_broken_toml_file_is_a_profile_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[profile\nname=")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(str(bad))


def test_a_corrected_copy_changes_the_object_without_code_changes(tmp_path: Path) -> None:
    text = (PROFILE_DIR / "el3000.toml").read_text()
    fixed = text.replace("[objects.set_current]\nnumber = 51", "[objects.set_current]\nnumber = 61")
    assert fixed != text
    path = tmp_path / "my-el3000.toml"
    path.write_text(fixed)
    assert load_profile(str(path)).obj("set_current").number == 61
