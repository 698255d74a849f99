"""The register map against the reference's address examples, and the value coding."""

from __future__ import annotations

import math
import struct

import pytest

from benchgui.instruments.labjack import registers as reg


def test_addresses_match_the_reference_examples() -> None:
    assert reg.ain_address(1) == 2
    assert reg.ain_address(2) == 4
    assert reg.range_address(1) == 40002
    assert reg.negative_ch_address(1) == 41001
    assert reg.resolution_index_address(1) == 41501
    assert reg.settling_us_address(1) == 42002
    assert (reg.PRODUCT_ID, reg.FIRMWARE_VERSION, reg.SERIAL_NUMBER) == (60000, 60004, 60028)


def test_a_nonexistent_ain_is_refused() -> None:
    with pytest.raises(ValueError, match="AIN250"):
        reg.ain_address(250)


def test_float32_is_big_endian_most_significant_word_first() -> None:
    assert reg.encode_float32(10.0) == (0x4120, 0x0000)  # 10.0f = 0x41200000
    assert reg.encode_float32(-2.5) == (0xC020, 0x0000)
    assert reg.decode_float32(0x4120, 0x0000) == 10.0
    hi, lo = reg.encode_float32(0.1)
    assert struct.pack(">HH", hi, lo) == struct.pack(">f", 0.1)
    assert math.isclose(reg.decode_float32(hi, lo), 0.1, rel_tol=1e-7)


def test_uint32_serial_number() -> None:
    assert reg.encode_uint32(470023670) == (470023670 >> 16, 470023670 & 0xFFFF)
    assert reg.decode_uint32(*reg.encode_uint32(470023670)) == 470023670
    with pytest.raises(ValueError, match="UINT32"):
        reg.encode_uint32(-1)


def test_one_contiguous_read_spans_every_requested_ain() -> None:
    assert reg.ain_span([1, 2]) == (2, 4)
    assert reg.ain_span([0, 1, 2, 3]) == (0, 8)
    assert reg.ain_span([3, 0]) == (0, 8)
    block = [w for v in (1.0, 2.0, 3.0) for w in reg.encode_float32(v)]  # AIN1..AIN3
    assert reg.pick_ains(block, 1, [3, 1]) == [3.0, 1.0]
    with pytest.raises(ValueError, match="no AIN"):
        reg.ain_span([])


@pytest.mark.parametrize(
    ("written", "selected"),
    [(0.0, 10.0), (10.0, 10.0), (1.0, 1.0), (reg.float32(0.1), 0.1), (reg.float32(0.01), 0.01)],
)
def test_valid_ranges(written: float, selected: float) -> None:
    assert reg.range_or_none(written) == selected


@pytest.mark.parametrize("written", [5.0, 2.0, 0.001, -10.0, 100.0])
def test_invalid_ranges(written: float) -> None:
    assert reg.range_or_none(written) is None


def test_differential_pairs_follow_the_t7_rules() -> None:
    assert reg.negative_ch_ok(2, 199)
    assert reg.negative_ch_ok(3, 199)
    assert reg.negative_ch_ok(0, 1)
    assert reg.negative_ch_ok(12, 13)
    assert not reg.negative_ch_ok(1, 2)  # positive must be even
    assert not reg.negative_ch_ok(2, 4)  # negative must be positive + 1
    assert not reg.negative_ch_ok(13, 14)
    assert "even" in (reg.negative_ch_problem(3, 4) or "")


def test_settings_problems_name_every_refusal() -> None:
    ok = reg.AinSettings(2, 1.0, 3, 8, 100.0)
    assert ok.problems() == []
    bad = reg.AinSettings(3, 5.0, 4, 13, 60000.0)
    text = "; ".join(bad.problems())
    assert "AIN3_RANGE 5" in text
    assert "differential" in text
    assert "RESOLUTION_INDEX 13" in text
    assert "SETTLING_US 60000" in text


def test_settings_as_writes_and_names() -> None:
    s = reg.AinSettings(1, 0.1, 199, 4, 50.0)
    assert [a for a, _ in s.writes()] == [40002, 41001, 41501, 42002]
    assert s.writes()[1][1] == [199]
    assert s.names() == {
        "AIN1_RANGE": 0.1,
        "AIN1_NEGATIVE_CH": 199.0,
        "AIN1_RESOLUTION_INDEX": 4.0,
        "AIN1_SETTLING_US": 50.0,
    }


def test_lsb_and_over_range() -> None:
    assert reg.lsb_v(10.0) == pytest.approx(305.18e-6, rel=1e-4)
    assert reg.lsb_v(1.0) == pytest.approx(30.518e-6, rel=1e-4)
    assert reg.over_range(0.98, 1.0)
    assert reg.over_range(-9.9, 10.0)
    assert not reg.over_range(0.979, 1.0)


def test_the_register_module_is_pure_standard_library() -> None:
    import ast
    import sys
    from pathlib import Path

    tree = ast.parse(Path(reg.__file__).read_text())
    imported = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    top = {m.split(".")[0] for m in imported}
    assert top <= set(sys.stdlib_module_names) | {"__future__"}, top
