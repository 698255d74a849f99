"""The main window on a bench fed by hand: traces, readouts, status, sessions, cross-hair, layout."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from benchgui.clock import ScaledClock
from benchgui.core.bench import Bench
from benchgui.core.catalog import SessionCatalog
from benchgui.core.recorder import Recorder
from benchgui.model import Channel, InstrumentState, InstrumentStatus, Sample, SessionMeta
from benchgui.widgets.main_window import MainWindow

CHANNELS = [
    Channel.of("battery.voltage", "labjack", "V", rate_hz=10),
    Channel.of("battery.voltage", "mppt", "V"),
    Channel.of("battery.current", "labjack", "A", rate_hz=10),
    Channel.of("battery.power", "labjack", "W", rate_hz=10),
]


class _NoSource:
    pass


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    b = Bench(ScaledClock(1.0), [], Recorder(tmp_path / "s.sqlite3", flush_interval_s=0.02))
    b.add_channels(CHANNELS)
    b.recorder.start()  # type: ignore[union-attr]
    yield b
    b.recorder.close()  # type: ignore[union-attr]


@pytest.fixture
def window(qtbot, bench: Bench, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    w = MainWindow(bench, catalog=SessionCatalog(bench.recorder.store_path), settings=settings)  # type: ignore[union-attr]
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def feed(bench: Bench, seconds: float = 30.0, rate: float = 10.0) -> None:
    now = bench.clock.now_ns()
    t = now - np.arange(int(seconds * rate))[::-1] * int(1e9 / rate)
    for i, ti in enumerate(t.tolist()):
        bench.publish(
            [
                Sample("battery.voltage.labjack", ti, 12.5 + 0.01 * np.sin(i / 10)),
                Sample("battery.current.labjack", ti, -3.0),
                Sample("battery.power.labjack", ti, -37.5),
            ]
        )


def test_traces_follow_channels_and_data(window: MainWindow, bench: Bench) -> None:
    assert set(window.plots.curves) == {c.name for c in CHANNELS}
    feed(bench)
    window.redraw()
    t, v = window.plots.curves["battery.voltage.labjack"].getData()
    assert t is not None
    assert len(t) > 10
    assert v.min() > 12.4
    # a channel that appears later gets its trace
    bench.add_channels([Channel.of("battery.voltage", "load", "V")])
    assert "battery.voltage.load" in window.plots.curves
    assert float(window.readouts.readouts["battery.voltage.labjack"].value.text()) == pytest.approx(
        12.5, abs=0.02
    )


def test_window_choice_sets_the_visible_range(window: MainWindow, bench: Bench) -> None:
    feed(bench)
    window.window_combo.setCurrentIndex(0)  # 1 min
    t0, t1 = window.visible_range()
    assert t1 - t0 == pytest.approx(60.0)
    window.redraw()
    x0, x1 = window.plots.plots[0].getViewBox().viewRange()[0]
    assert x1 - x0 == pytest.approx(60.0, rel=0.05)


def test_pause_freezes_the_axis(window: MainWindow, bench: Bench) -> None:
    feed(bench)
    window.redraw()
    window.act_pause.setChecked(True)
    before = window.plots.plots[0].getViewBox().viewRange()[0]
    feed(bench, 5)
    window.redraw()
    assert window.plots.plots[0].getViewBox().viewRange()[0] == before
    assert window.act_pause.text() == "Resume"


def test_status_indicator_shows_reconnecting(window: MainWindow, bench: Bench, qtbot) -> None:  # type: ignore[no-untyped-def]
    bench.set_status(InstrumentStatus("mppt", InstrumentState.RECONNECTING, "port vanished", 3))
    qtbot.waitUntil(lambda: "reconnecting (3)" in window.status_panel.text_of("mppt"), timeout=30_000)


def test_session_start_stop_and_annotation(window: MainWindow, bench: Bench, qtbot) -> None:  # type: ignore[no-untyped-def]
    s = bench.start_session(SessionMeta("ana", "B1"))
    qtbot.waitUntil(lambda: s.id in window.session_label.text(), timeout=30_000)
    bench.annotate("cells balanced")
    window.stop_session()
    qtbot.waitUntil(lambda: "Not recording" in window.session_label.text(), timeout=30_000)
    assert bench.recorder is not None
    assert bench.recorder.flush(30)
    events = window.catalog.events(s.id)  # type: ignore[union-attr]
    assert [e.kind for e in events] == ["session.start", "annotation", "session.stop"]


def test_crosshair_reads_values_at_time(window: MainWindow, bench: Bench) -> None:
    feed(bench)
    window.redraw()
    t, _ = window.plots.curves["battery.current.labjack"].getData()
    vals = window.plots.values_at(float(t[len(t) // 2]))
    assert vals["battery.current.labjack"] == pytest.approx(-3.0)
    window.plots.show_cursor(float(t[len(t) // 2]))
    assert "battery.current (labjack): -3.000 A" in window.plots.readout.textItem.toPlainText()


def test_layout_persists(window: MainWindow, tmp_path: Path, bench: Bench, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.window_combo.setCurrentIndex(2)  # 15 min
    window.close()
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    again = MainWindow(bench, settings=settings)
    qtbot.addWidget(again)
    assert again.window_s == 900.0
    assert settings.value("geometry") is not None


def test_stored_session_opens_in_a_viewer(window: MainWindow, bench: Bench, qtbot) -> None:  # type: ignore[no-untyped-def]
    s = bench.start_session(SessionMeta())
    feed(bench, 20)
    bench.stop_session()
    assert bench.recorder is not None
    assert bench.recorder.flush(30)
    viewer = window.open_session_viewer(s.id)
    assert viewer is not None
    qtbot.addWidget(viewer)

    def has_data() -> bool:
        t, _ = viewer.panel.curves["battery.voltage.labjack"].getData()
        return t is not None and len(t) > 10

    qtbot.waitUntil(has_data, timeout=60_000)


def test_closing_while_recording_asks_and_no_keeps_the_window(  # type: ignore[no-untyped-def]
    window: MainWindow, bench: Bench, qtbot
) -> None:
    """Issue 23: one click must not end a run. The question names the session; No keeps the
    window (and the recording); Yes closes as before."""
    from PySide6.QtWidgets import QMessageBox

    closed: list[bool] = []
    window.closing.connect(lambda: closed.append(True))
    s = bench.start_session(SessionMeta("ana", "B1"))
    assert window.what_stops() == [f"the recording of session {s.id}"]
    window.close()
    box = window.close_box
    assert box is not None
    assert f"the recording of session {s.id}" in box.text()
    assert window.isVisible()
    assert not closed
    box.button(QMessageBox.StandardButton.No).click()
    assert window.close_box is None
    assert window.isVisible()
    assert not closed
    assert bench.session is s
    assert s.running

    window.close()
    box = window.close_box
    assert box is not None
    box.button(QMessageBox.StandardButton.Yes).click()
    assert closed == [True]
    assert not window.isVisible()
    bench.stop_session()


def test_closing_with_nothing_running_does_not_ask(window: MainWindow) -> None:
    closed: list[bool] = []
    window.closing.connect(lambda: closed.append(True))
    assert window.what_stops() == []
    window.close()
    assert window.close_box is None
    assert closed == [True]


def test_a_screenshot_replaces_the_file_only_when_complete(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``--screenshot`` goes through a temporary file renamed into place (issue 22)."""
    from PySide6.QtWidgets import QLabel

    from benchgui.app import save_screenshot

    label = QLabel("bench")
    qtbot.addWidget(label)
    label.resize(60, 20)
    unknown = tmp_path / "shot.notaformat"
    unknown.write_bytes(b"old")
    assert not save_screenshot(label, unknown)  # type: ignore[arg-type]  # Qt cannot write it
    assert unknown.read_bytes() == b"old"  # the old file stays whole
    png = tmp_path / "shot.png"
    png.write_bytes(b"old")
    assert save_screenshot(label, png)  # type: ignore[arg-type]
    assert png.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.notaformat", "shot.png"]  # no temporaries


def test_crosshair_has_units_stays_inside_and_hides_on_leave(window: MainWindow, bench: Bench, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: the readout stayed pinned after the mouse left, was cut at the plot edge, used
    raw channel names without units and showed "-0"."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtWidgets import QApplication

    now = bench.clock.now_ns()
    for k in range(300):
        t = now - (300 - k) * 100_000_000
        bench.publish(
            [Sample("battery.voltage.labjack", t, 12.5), Sample("battery.current.labjack", t, -0.00001)]
        )
    window.redraw()
    plots = window.plots
    vb = plots.plots[1].getViewBox()
    rect = vb.sceneBoundingRect()
    # the mouse near the right edge of the current plot
    plots.crosshair.mouse_moved(QPointF(rect.right() - 2, rect.center().y()))
    assert plots.readout.isVisible()
    text = plots.readout.textItem.toPlainText()
    assert "battery.voltage (labjack): 12." in text  # the channel's label, not its raw name …
    assert " V\n" in text  # … with its unit
    assert "-0.000" not in text
    assert "battery.current (labjack): 0.000 A" in text  # rounded to zero, without a sign
    inside = plots.readout.mapRectToScene(plots.readout.boundingRect())
    assert inside.right() <= rect.right() + 1  # not cut at the plot's edge
    QApplication.sendEvent(plots.view.viewport(), QEvent(QEvent.Type.Leave))
    assert not plots.readout.isVisible()
    assert not any(line.isVisible() for line in plots.cursor_lines)


def test_legends_sit_outside_the_data(window: MainWindow, bench: Bench, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: legends sat on the traces."""
    feed(bench)
    window.redraw()
    qtbot.waitUntil(lambda: window.plots.plots[0].getViewBox().sceneBoundingRect().height() > 50)
    checked = 0
    for p in window.plots.plots:
        if p.legend is None or not p.legend.items:
            continue
        legend = p.legend.mapRectToScene(p.legend.boundingRect())
        data = p.getViewBox().sceneBoundingRect()
        assert not legend.intersects(data), (p.legend.items[0][1].text, legend, data)
        checked += 1
    assert checked >= 3  # voltage, current, power


def test_readouts_show_the_load_and_the_charger_power(window: MainWindow, bench: Bench) -> None:
    """Issue 23: the readouts lacked the load's V/I/P and the MPPT's power."""
    now = bench.clock.now_ns()
    bench.add_channels(
        [
            Channel.of("battery.voltage", "load", "V"),
            Channel.of("battery.current", "load", "A"),
            Channel.of("battery.power", "load", "W"),
            Channel.of("battery.power", "mppt", "W"),
        ]
    )
    bench.publish(
        [
            Sample("battery.voltage.load", now, 12.345),
            Sample("battery.current.load", now, -2.0),
            Sample("battery.power.load", now, -24.69),
            Sample("battery.power.mppt", now, 81.25),
        ]
    )
    window.redraw()
    r = window.readouts.readouts
    assert r["battery.voltage.load"].value.text() == "12.345"
    assert r["battery.current.load"].value.text() == "-2.000"
    assert r["battery.power.load"].value.text() == "-24.7"
    assert r["battery.power.mppt"].value.text() == "81.2"


def test_session_viewer_shows_metadata_events_and_closes_on_ctrl_w_and_esc(  # type: ignore[no-untyped-def]
    window: MainWindow, bench: Bench, qtbot
) -> None:
    """Issue 23: the session viewer had no close shortcut, no event list, operator or notes."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    s = bench.start_session(SessionMeta("Ada", "B-7", "after a week in the cold", "demo"))
    feed(bench, 20)
    bench.annotate("load connected", bench.clock.now_ns())
    bench.record_event("program.step", "step 1: CC 5 A until V < cut-off", {})
    bench.stop_session()
    assert bench.recorder is not None
    assert bench.recorder.flush(30)
    for key, mod in ((Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier), (Qt.Key.Key_Escape, None)):
        viewer = window.open_session_viewer(s.id)
        assert viewer is not None
        qtbot.addWidget(viewer)
        assert "Operator: Ada" in viewer.meta.text()
        assert "Battery: B-7" in viewer.meta.text()
        assert viewer.notes.text() == "Notes: after a week in the cold"
        rows = {viewer.events.item(r, 2).text() for r in range(viewer.events.rowCount())}
        assert {"load connected", "step 1: CC 5 A until V < cut-off"} <= rows
        viewer.activateWindow()
        qtbot.waitUntil(lambda v=viewer: QApplication.activeWindow() is v)
        if mod is None:
            qtbot.keyClick(viewer, key)
        else:
            qtbot.keyClick(viewer, key, mod)
        qtbot.waitUntil(lambda v=viewer: not v.isVisible())
