"""Line protocol: escaping per element, values, and a property test against a reference reader."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgui.recording.lineprotocol import (
    UnrepresentableValue,
    escape_key,
    escape_measurement,
    escape_string,
    format_line,
    format_value,
    join_lines,
)


def test_escaping_follows_the_rules_of_each_element() -> None:
    assert escape_measurement("my meas,x=y") == "my\\ meas\\,x=y"  # '=' is fine in a measurement
    assert escape_key("a b,c=d") == "a\\ b\\,c\\=d"
    assert escape_string('say "hi" \\ ok, x=1') == 'say \\"hi\\" \\\\ ok, x=1'
    # backslashes cannot be written portably in names: they become '/'; control chars spaces
    assert escape_key("C:\\temp") == "C:/temp"
    assert escape_key("two\nlines\ttab") == "two\\ lines\\ tab"


def test_values() -> None:
    assert format_value(12.5) == "12.5"
    assert format_value(1e-5) == "1e-05"
    assert format_value(-0.0) == "-0.0"
    assert format_value(3) == "3i"
    assert format_value(True) == "true"
    assert format_value("x\ny\r") == '"x\\ny\\r"'  # one point, one line
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(UnrepresentableValue):
            format_value(bad)


def test_line_sorts_tags_and_drops_empty_ones() -> None:
    line = format_line(
        "battery", {"source": "mppt", "battery_id": "", "device": "MPPT 1210"}, {"voltage_v": 12.0}, 5
    )
    assert line == "battery,device=MPPT\\ 1210,source=mppt voltage_v=12.0 5"
    with pytest.raises(UnrepresentableValue):
        format_line("battery", {}, {}, 1)
    with pytest.raises(UnrepresentableValue):
        format_line("", {}, {"x": 1.0}, 1)


def test_body_is_utf8_one_line_per_point() -> None:
    assert join_lines(["a x=1.0 1", "b,t=ü x=2.0 2"]) == "a x=1.0 1\nb,t=ü x=2.0 2".encode()


# -- a reference reader for the parts we write ----------------------------------------------------
_UNESC = re.compile(r"\\(.)", re.S)


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` not preceded by a backslash escape (names never hold a raw backslash)."""
    out, cur, i = [], "", 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur += text[i : i + 2]
            i += 2
            continue
        if c == sep:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur)
    return out


def _unescape(s: str) -> str:
    return _UNESC.sub(r"\1", s)


def _read(line: str) -> tuple[str, dict[str, str], str, str, str]:
    series, rest = _split(line, " ")[0], " ".join(_split(line, " ")[1:])
    head = _split(series, ",")
    tags = dict((_unescape(a), _unescape(b)) for a, b in (_split(t, "=") for t in head[1:]))
    field, _, ts = rest.rpartition(" ")
    key, value = _split(field, "=")[0], "=".join(_split(field, "=")[1:])
    return _unescape(head[0]), tags, _unescape(key), value, ts


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


def _expected_name(s: str) -> str:
    return s.replace("\\", "/").replace("\n", " ").replace("\r", " ").replace("\t", " ")


@settings(deadline=None)  # no timing luck on a loaded machine
@given(m=names, tk=names, tv=names, fk=names, value=st.floats(allow_nan=False, allow_infinity=False))
def test_any_names_survive_a_round_trip(m: str, tk: str, tv: str, fk: str, value: float) -> None:
    line = format_line(m, {tk: tv}, {fk: value}, 123)
    assert "\n" not in line
    meas, tags, key, val, ts = _read(line)
    assert meas == _expected_name(m)
    assert tags == {_expected_name(tk): _expected_name(tv)}
    assert key == _expected_name(fk)
    assert float(val) == value
    assert ts == "123"


@settings(deadline=None)  # no timing luck on a loaded machine
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=50))
def test_string_fields_round_trip(text: str) -> None:
    line = format_line("annotations", {"session": "s"}, {"text": text}, 1)
    assert "\n" not in line
    assert "\r" not in line
    inner = line[line.index('text="') + 6 : line.rindex('" ')]
    unescaped = re.sub(r'\\(["\\nr])', lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), inner)
    assert unescaped == text
