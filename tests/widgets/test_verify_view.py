"""The verification view, offscreen: tables coloured by tolerance, plots, exports, report."""

from __future__ import annotations

import csv
import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor

from benchgui.clock import WallClock
from benchgui.config.schema import CurrentTolerance, ToleranceSection, VerifySection
from benchgui.core.bench import Bench
from benchgui.core.verification import LIVE, VerificationService, verify_session
from benchgui.model import SessionMeta
from benchgui.verify import regions as rg
from benchgui.verify.align import Aligned
from benchgui.verify.analysis import ComparisonResult
from benchgui.verify.report_json import to_json
from benchgui.widgets.verify_plots import MAX_DRAWN, VerifyPlots, thin
from benchgui.widgets.verify_view import GREEN, RED, VerifyView, create_panel
from tests.core.test_verification import publish_session
from tests.verify import synth

SETTINGS = dataclasses.replace(VerifySection(), live_interval_s=3600)


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, str]:
    store = tmp_path / "s.sqlite3"
    # the device every 3 s: fewer points keep the SVG/PNG exports quick
    dev_i = synth.Sensor(gain=1.03, offset=0.02, noise=0.01, period_s=3.0, phase_s=0.37)
    dev_v = synth.Sensor(offset=-0.03, noise=0.005, period_s=3.0, phase_s=0.37)
    sid = synth.store_session(
        store,
        synth.session(
            seed=41,
            ref_period_s=0.5,
            i_dev=dev_i,
            v_dev=dev_v,
            v_load=synth.Sensor(offset=0.01, noise=0.004, period_s=0.5),
        ),
    )
    return store, sid


@pytest.fixture
def service(stored):  # type: ignore[no-untyped-def]
    svc = VerificationService(Bench(WallClock(), [], None), SETTINGS, stored[0])
    yield svc
    svc.close()


def make_view(qtbot, service) -> VerifyView:  # type: ignore[no-untyped-def]
    view = VerifyView(service)
    qtbot.addWidget(view)
    view.resize(1300, 900)
    view.show()
    return view


def show_stored(qtbot, view: VerifyView, sid: str) -> None:  # type: ignore[no-untyped-def]
    view.source_combo.setCurrentIndex(view.source_combo.findData(sid))
    view.show_origin(sid)
    qtbot.waitUntil(lambda: view.current is not None and view.current.origin == sid, timeout=60_000)


def test_stored_session_shows_the_same_numbers_as_the_report(qtbot, service, stored) -> None:  # type: ignore[no-untyped-def]
    store, sid = stored
    view = make_view(qtbot, service)
    assert view.source_combo.findData(sid) > 0
    show_stored(qtbot, view, sid)
    res = view.current.result
    assert view.table.rowCount() == len(res.comparisons) == 4
    # the report's JSON, computed independently from the store, matches the table's text
    stats = to_json(verify_session(store, sid, SETTINGS).result, view.current.meta)
    row = next(i for i, c in enumerate(res.comparisons) if c.quantity == "battery.current")
    gain_col = 4
    assert (
        view.table.item(row, gain_col)
        .text()
        .startswith(f"{stats['battery.current']['mppt']['gain_error_pct']:.3f}")
    )
    assert view.table.item(row, 2).text() == str(stats["battery.current"]["mppt"]["n"])
    # 3 % gain error against a 2 % tolerance: red; the offset is within tolerance: green
    assert view.table.item(row, gain_col).background().color() == RED
    assert view.table.item(row, 3).background().color() == GREEN
    assert view.table.item(row, 9).text() == "fail"
    assert "FAIL" in view.status.text()


def test_tolerances_from_the_config_turn_cells_green(qtbot, stored) -> None:  # type: ignore[no-untyped-def]
    store, sid = stored
    loose = dataclasses.replace(
        SETTINGS, tolerance=ToleranceSection(current=CurrentTolerance(gain_error_pct=5.0))
    )
    svc = VerificationService(Bench(WallClock(), [], None), loose, store)
    try:
        view = make_view(qtbot, svc)
        show_stored(qtbot, view, sid)
        row = next(
            i for i, c in enumerate(view.current.result.comparisons) if c.quantity == "battery.current"
        )
        assert view.table.item(row, 4).background().color() == QColor(GREEN)
    finally:
        svc.close()


def test_plots_show_the_selected_comparison_and_export(qtbot, service, stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, sid = stored
    view = make_view(qtbot, service)
    show_stored(qtbot, view, sid)
    idx = next(i for i, c in enumerate(view.current.result.comparisons) if c.quantity == "battery.current")
    view.table.setCurrentCell(idx, 0)  # choosing a row picks the plotted comparison
    assert view.comparison_combo.currentIndex() == idx
    c = view.selected()
    assert c is not None
    assert c.quantity == "battery.current"
    n_points = sum(
        0 if (x := item.getData()[0]) is None else len(x) for item in view.plots.scatter_items.values()
    )
    assert n_points == c.summary.n
    fx, fy = view.plots.fit.getData()
    assert fy[1] - fy[0] == pytest.approx(c.summary.gain.value * (fx[1] - fx[0]))
    assert view.regions.rowCount() == len(c.by_region) + len(c.by_bin)
    files = view.export_plots(str(tmp_path / "plots"))
    assert len(files) == 9
    for f in files:
        assert f.stat().st_size > 0, f
        if f.suffix == ".svg":
            ET.parse(f)  # well-formed, and pyqtgraph's exporter survived Qt's "Z" (pg_compat)
            assert not re.search(r"Z[-\d]", f.read_text())
    with (tmp_path / "plots" / "mppt-vs-labjack-battery.current-scatter.csv").open() as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    regions = [
        j
        for j, h in enumerate(header)
        if h.endswith("_x") and h[:-2] in ("rest", "zero", "charge", "discharge")
    ]
    assert sum(1 for r in body for j in regions if j < len(r) and r[j]) == c.summary.n  # every pair


def test_report_from_the_gui_is_written_by_the_service(qtbot, service, stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, sid = stored
    view = make_view(qtbot, service)
    show_stored(qtbot, view, sid)
    view.write_report(str(tmp_path / "out" / "report.html"))
    qtbot.waitUntil(lambda: "report written" in view.status.text(), timeout=60_000)
    assert sid in (tmp_path / "out" / "report.html").read_text()
    assert (tmp_path / "out" / "report.json").exists()


def test_live_results_appear_while_a_session_runs(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bench = Bench(WallClock(), [], None)
    live = dataclasses.replace(SETTINGS, live_interval_s=0.5)
    svc = VerificationService(bench, live, tmp_path / "none.sqlite3")
    try:
        view = make_view(qtbot, svc)  # watching: the service's timer recomputes by itself
        assert view.shown_origin == LIVE
        bench.start_session(SessionMeta(operator="op"))
        publish_session(bench, synth.session(seed=42))  # all at once, then no more samples
        # nobody presses Refresh: a result covering every sample comes from the timer
        qtbot.waitUntil(
            lambda: svc.live_up_to_date and view.current is not None and view.current is svc.latest.get(LIVE),
            timeout=60_000,
        )
        assert view.current.live
        assert bench.session.id in view.status.text()
        assert view.table.rowCount() == 2  # the load is not on this bench
        t = view.plots.residual_items["rest"].getData()[0]
        assert t is not None
        assert np.all(np.diff(t) > 0)
    finally:
        svc.close()


def test_create_panel_adds_a_view_when_the_service_exists(qtbot, service) -> None:  # type: ignore[no-untyped-def]
    added = []

    class Window:
        def add_view(self, title, widget):  # type: ignore[no-untyped-def]
            added.append((title, widget))
            qtbot.addWidget(widget)

    bench = service.bench
    bench.services.verify = service
    view = create_panel(Window(), bench)
    assert added == [("Verification", view)]
    assert create_panel(Window(), Bench(WallClock(), [], None)) is None


def test_a_report_onto_the_store_is_refused(qtbot, service, stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 22 for the GUI: a slip in the file dialog must not replace the store with HTML."""
    store, sid = stored
    before = store.read_bytes()
    view = make_view(qtbot, service)
    show_stored(qtbot, view, sid)
    link = tmp_path / "looks-harmless.html"
    link.symlink_to(store)
    for target in (store, link):
        view.status.setText("")
        view.write_report(str(target))
        qtbot.waitUntil(lambda: "report failed" in view.status.text(), timeout=60_000)
        assert "is the session store; refusing to write over it" in view.status.text()
    assert store.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp*"))  # no temporary file left behind


def test_plots_built_on_first_show_draw_what_was_computed_while_hidden(qtbot, service, stored) -> None:  # type: ignore[no-untyped-def]
    """The view starts behind the live plots; its plots are built when it is first shown (issue
    19: not before the GUI's first frame) and then draw the comparison chosen meanwhile."""
    _, sid = stored
    view = VerifyView(service)
    qtbot.addWidget(view)
    view.resize(1300, 900)
    show_stored(qtbot, view, sid)  # a result arrives while the view is hidden
    assert view.findChildren(VerifyPlots) == []
    idx = next(i for i, c in enumerate(view.current.result.comparisons) if c.quantity == "battery.current")
    view.table.setCurrentCell(idx, 0)
    view.show()
    qtbot.waitExposed(view)
    (plots,) = view.findChildren(VerifyPlots)
    assert plots.isVisible()
    c = view.selected()
    assert c is not None
    assert c.quantity == "battery.current"
    n_points = sum(0 if (x := item.getData()[0]) is None else len(x) for item in plots.scatter_items.values())
    assert n_points == c.summary.n
    assert plots.height() > 100  # in the room the placeholder held, not squeezed


def big_comparison(base: ComparisonResult, n: int = 100_000) -> ComparisonResult:
    """``base`` with ``n`` pairs of a current swinging through charge and discharge, plus one outlier."""
    rng = np.random.default_rng(7)
    t = 1.7e9 + 0.5 * np.arange(n)
    ref = 5.0 * np.sin(2 * np.pi * (t - t[0]) / 3600.0) + rng.normal(0.0, 0.01, n)
    dev = 1.03 * ref + 0.02 + rng.normal(0.0, 0.01, n)
    dev[n // 3] += 3.0  # one reading far off: it must stay visible
    labels = np.where(ref > 0.2, rg.CHARGE, np.where(ref < -0.2, rg.DISCHARGE, rg.REST))
    return dataclasses.replace(base, aligned=Aligned(t, ref, dev, "reference", 0), labels=labels, current=ref)


def test_plots_of_100k_pairs_draw_a_bounded_number_of_points(qtbot, service, stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: a long stored session put every aligned pair into the scatter (144 k for 20 h)."""
    store, sid = stored
    base = next(
        c for c in verify_session(store, sid, SETTINGS).result.comparisons if c.quantity == "battery.current"
    )
    c = big_comparison(base)
    a = c.aligned
    plots = VerifyPlots()
    qtbot.addWidget(plots)
    plots.resize(1200, 700)
    plots.show()
    plots.show_comparison(c)
    assert 0 < plots.drawn_scatter <= MAX_DRAWN
    assert 0 < plots.drawn_residual <= MAX_DRAWN

    def drawn(items: dict[str, pg.PlotDataItem]) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = zip(
            *(item.getData() for item in items.values() if item.getData()[0] is not None), strict=True
        )
        return np.concatenate(xs), np.concatenate(ys)

    sx, sy = drawn(plots.scatter_items)
    assert len(sx) == plots.drawn_scatter
    assert np.max(sy - sx) == pytest.approx(np.max(a.error))  # the outlier is drawn
    assert np.min(sx) == pytest.approx(np.min(a.ref), abs=np.ptp(a.ref) / 100)  # the whole range
    assert np.max(sx) == pytest.approx(np.max(a.ref), abs=np.ptp(a.ref) / 100)
    rt, re_ = drawn(plots.residual_items)
    assert np.max(re_) == pytest.approx(np.max(a.error))
    assert np.min(rt) == pytest.approx(a.t[0], abs=np.ptp(a.t) / 100)
    assert np.max(rt) == pytest.approx(a.t[-1], abs=np.ptp(a.t) / 100)
    for region in ("charge", "discharge", "rest"):  # each region keeps its points and colour
        x, _ = plots.scatter_items[region].getData()
        assert x is not None
        assert len(x) > 0
    # what is computed stays on every pair: the histogram counts them all, the fit spans them all
    _, counts = plots.bars.getData()
    assert int(np.sum(counts)) == len(a) == 100_000
    fx, _ = plots.fit.getData()
    assert (fx[0], fx[1]) == (float(np.min(a.ref)), float(np.max(a.ref)))
    files = plots.export(tmp_path)  # the CSV holds every pair, the plots stay thinned after it
    with next(f for f in files if f.name.endswith("-scatter.csv")).open() as fh:
        rows = list(csv.reader(fh))
    xcols = [
        j for j, h in enumerate(rows[0]) if h.endswith("_x") and h[:-2] in ("rest", "charge", "discharge")
    ]
    assert sum(1 for r in rows[1:] for j in xcols if j < len(r) and r[j]) == len(a)
    assert len(drawn(plots.scatter_items)[0]) == plots.drawn_scatter


def test_thin_keeps_every_point_below_the_limit_and_one_per_cell_above() -> None:
    x = np.arange(10.0)
    assert list(thin(x, x, np.zeros(10))) == list(range(10))
    n = 50_000
    x = np.repeat(np.arange(100.0), n // 100)  # 100 distinct points, each 500 times
    keep = thin(x, x, np.zeros(n), grid=(100, 100), limit=1000)
    assert sorted(x[keep]) == list(np.arange(100.0))
    keep = thin(x, x, np.zeros(n), grid=(100, 100), limit=30)  # too many cells: a coarser grid
    assert 0 < len(keep) <= 30
    assert np.all(np.diff(keep) > 0)  # the order is kept


def test_plots_redraw_only_when_visible_and_changed(qtbot, service, stored) -> None:  # type: ignore[no-untyped-def]
    _, sid = stored
    view = make_view(qtbot, service)
    assert service.live_enabled  # shown: the live statistics are kept fresh
    show_stored(qtbot, view, sid)
    plots = view.plots
    draws = plots.draws
    v = view.current
    view.on_result(v)  # the same result again: nothing new to draw
    assert plots.draws == draws
    view.hide()
    assert not service.live_enabled  # hidden: nobody reads them, none computed
    fresh = dataclasses.replace(
        v,
        result=dataclasses.replace(
            v.result, comparisons=[dataclasses.replace(c) for c in v.result.comparisons]
        ),
    )
    view.on_result(fresh)  # a new result while hidden: the tables follow, the plots wait
    assert view.current is fresh
    assert plots.draws == draws
    view.show()
    qtbot.waitExposed(view)
    assert plots.draws == draws + 1
    assert plots.comparison is view.selected()
    assert service.live_enabled
