"""The report: JSON keyed by quantity and source, self-contained HTML with parseable SVG plots."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from benchgui.config.schema import VerifySection
from benchgui.verify import svg
from benchgui.verify.analysis import analyse
from benchgui.verify.report import ReportMeta, render_html
from benchgui.verify.report_json import to_json
from tests.verify import synth


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return analyse(
        synth.session(seed=11, v_load=synth.Sensor(offset=0.01, noise=0.004, period_s=0.5)), VerifySection()
    )


META = ReportMeta(
    session_id="20260101-120000-abcd",
    started_ns=synth.T0_NS,
    ended_ns=synth.T0_NS + int(synth.duration_s() * 1e9),
    kind="import",
    operator="tester",
    battery_id="BAT-7",
    info={"instruments": synth.INSTRUMENTS, "source_file": "bench.csv"},
)


def test_json_is_keyed_by_quantity_and_source(result) -> None:  # type: ignore[no-untyped-def]
    out = to_json(result, META)
    text = json.dumps(out, allow_nan=False)  # strict JSON: no NaN anywhere
    back = json.loads(text)
    mppt_i = back["battery.current"]["mppt"]
    for key in ("gain", "offset", "rms", "max_abs", "n"):
        assert key in mppt_i
    assert mppt_i["reference"] == "labjack"
    assert mppt_i["gain_ci"][0] <= mppt_i["gain"] <= mppt_i["gain_ci"][1]
    assert set(back["battery.voltage"]) == {"mppt", "load", "mppt-vs-load"}
    assert back["battery.voltage"]["mppt-vs-load"]["reference"] == "load"
    assert back["session"]["id"] == META.session_id
    assert back["instruments"]["labjack"]["serial"] == "470000001"
    assert back["verdict"] in ("pass", "fail")
    assert back["tolerances"]["current"]["gain_error_pct"] == 2.0
    assert "rest" in mppt_i["regions"]
    assert mppt_i["regions"]["rest"]["gain"] is None  # not observable at rest: null, not NaN
    assert "-5…-2 A" in mppt_i["bins"]


def test_html_holds_everything_an_engineer_attaches(result) -> None:  # type: ignore[no-untyped-def]
    html = render_html(result, META)
    for text in ("20260101-120000-abcd", "470000001", "ABC123", "v0.10", "BAT-7", "Tolerances", "Verdict"):
        assert text in html
    assert "<script" not in html  # self-contained and static
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 3 * len(result.comparisons)
    for s in svgs:
        ET.fromstring(s)  # each plot is well-formed SVG
    assert 'class="bad"' in html or 'class="ok"' in html


def test_html_reports_missing_comparisons() -> None:
    channels = synth.session(seed=12)
    res = analyse(channels, VerifySection())
    html = render_html(res, ReportMeta(session_id="x"))
    assert "Not compared" in html
    assert "battery.voltage.load" in html


def test_svg_points_are_drawn_once_per_pixel() -> None:
    x = np.random.default_rng(0).normal(size=200_000)
    one = svg.scatter([svg.PointSet(x, x, "#000", "all")], [], title="t", xlabel="x", ylabel="y")
    assert len(one) < 200_000  # far fewer bytes than points
    ET.fromstring(one)


def test_nice_ticks() -> None:
    assert svg.nice_ticks(0, 10, 5) == [0, 2, 4, 6, 8, 10]
    assert svg.nice_ticks(-0.013, 0.021, 4)[0] >= -0.013
    assert svg.nice_ticks(1, 1) == [1]
    assert svg.nice_ticks(math.nan, 1) == []


def test_empty_histogram_and_lines_outside_the_box() -> None:
    ET.fromstring(svg.histogram(np.array([np.nan]), title="t", xlabel="x"))
    s = svg.scatter(
        [svg.PointSet(np.array([0.0, 1.0]), np.array([0.0, 1.0]), "#000")],
        [svg.Line(0.0, 50.0, "#f00", "far above")],
        title="t",
        xlabel="x",
        ylabel="y",
    )
    assert "#f00" not in s.split("<g>")[1].split("</g>")[0]  # not drawn inside the plot
