"""Recording panel, replay in the main window, comparison overlay and annotation markers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from benchgui.clock import ScaledClock
from benchgui.core.bench import Bench
from benchgui.core.catalog import SessionCatalog
from benchgui.core.forwarder import ForwarderService
from benchgui.core.replay import replay_bench
from benchgui.model import Channel, Event, SessionMeta
from benchgui.recording.influx_config import InfluxTarget
from benchgui.recording.store import Store
from benchgui.widgets import recording_panel
from benchgui.widgets.main_window import MainWindow
from benchgui.widgets.sessions_dialog import SessionViewer
from tests.helpers import async_wait_until
from tests.recording.httpstub import WriteStub
from tests.recording.influxd import free_port

T0 = 1_622_238_848_000_000_000
CH = [Channel.of("battery.voltage", "mppt", "V"), Channel.of("battery.current", "mppt", "A")]


def make_session(path: Path, seconds: int, t0: int = T0, volts: float = 12.0, note: str = "") -> str:
    with Store(path) as store:
        sid = store.create_session(t0, SessionMeta("op", "B1", "", "import"))
        keys = [store.channel_key(c) for c in CH]
        rows = [
            (k, t0 + i * 10**9, volts - i / 10000 if j == 0 else -1.0, 0)
            for i in range(seconds)
            for j, k in enumerate(keys)
        ]
        store.insert_samples(sid, rows)
        if note:
            store.insert_events(sid, [Event(t0 + 60 * 10**9, "annotation", note)])
        store.end_session(sid, t0 + seconds * 10**9)
    return sid


def run_in_qasync(qapp: QApplication, scenario: Callable[[], Awaitable[None]]) -> None:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


class FakeWindow:
    def __init__(self) -> None:
        self.panels: dict[str, Any] = {}

    def add_panel(self, title: str, widget: Any) -> None:
        self.panels[title] = widget


def test_panel_without_influxdb_says_local_only(qtbot: Any, tmp_path: Path) -> None:
    bench = Bench(ScaledClock(1.0), [])
    win = FakeWindow()
    panel = recording_panel.create_panel(win, bench)
    assert panel is not None
    qtbot.addWidget(panel)
    assert win.panels == {"Recording": panel}
    assert "not configured" in panel.target_label.text()
    assert not panel.retry_button.isVisibleTo(panel)


def test_panel_shows_the_forwarder_state_through_an_outage(qtbot: Any, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    make_session(store, 50)
    port = free_port()
    target = InfluxTarget(
        2, f"http://127.0.0.1:{port}", org="o", bucket="b", token="t", max_backoff_s=0.3, interval_s=0.1
    )
    fwd = ForwarderService(store, target)
    bench = Bench(ScaledClock(1.0), [])
    bench.services.forwarder = fwd
    panel = recording_panel.RecordingPanel(bench)
    qtbot.addWidget(panel)
    assert "InfluxDB 2.x" in panel.target_label.text()
    fwd.start()
    try:
        qtbot.waitUntil(lambda: "not connected" in panel.connected_label.text(), timeout=10000)
        assert "100 samples" in panel.backlog_label.text()
        assert "cannot reach" in panel.error_label.text()
        assert panel.success_label.text() == "never"
        panel.retry_button.click()  # harmless while the server is away
    finally:
        fwd.close()
    # the same store and target, now with a server that answers
    stub = WriteStub()
    try:
        fwd2 = ForwarderService(
            store, InfluxTarget(2, stub.url, org="o", bucket="b", token="t", interval_s=0.1)
        )
        bench.services.forwarder = fwd2
        panel2 = recording_panel.RecordingPanel(bench)
        qtbot.addWidget(panel2)
        fwd2.start()
        qtbot.waitUntil(lambda: "● connected" in panel2.connected_label.text(), timeout=10000)
        qtbot.waitUntil(lambda: "everything forwarded" in panel2.backlog_label.text(), timeout=10000)
        assert "s ago" in panel2.success_label.text()
        fwd2.close()
        panel2.refresh()
        assert "stopped" in panel2.connected_label.text()
    finally:
        stub.close()


def test_replay_in_the_main_window_with_markers_and_a_comparison(
    qtbot: Any, qapp: QApplication, tmp_path: Path
) -> None:
    store = tmp_path / "s.sqlite3"
    first = make_session(store, 1800, note="cell 3 warm")
    second = make_session(store, 1800, t0=T0 + 86400 * 10**9, volts=11.0)  # a day later, 1 V lower

    async def scenario() -> None:
        bench, replay = replay_bench(store, first, speed=200)
        settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
        w = MainWindow(bench, catalog=SessionCatalog(store), settings=settings)
        qtbot.addWidget(w)
        w.set_replay(replay)
        w.show()
        assert first in w.session_label.text()
        assert not w.act_start.isEnabled()
        assert w.plots.markers.items == [((T0 + 60 * 10**9) / 1e9, "cell 3 warm")]
        await bench.start()
        try:

            def traced() -> bool:
                t, _ = w.plots.curves["battery.voltage.mppt"].getData()
                return t is not None and len(t) > 20

            await async_wait_until(traced, 20, what="replayed data in the plots")
            t, v = w.plots.curves["battery.voltage.mppt"].getData()
            assert t[0] >= T0 / 1e9
            assert v.max() <= 12.0
            # the other session, overlaid, aligned at the start
            w.compare_with(second)
            assert w.act_clear_compare.isEnabled()
            overlay = w.plots.overlay
            assert overlay is not None
            assert overlay.offset_s == pytest.approx(-86400.0)

            def overlaid() -> bool:
                w.redraw()
                ot, _ = overlay.curves["battery.voltage.mppt"].getData()
                return ot is not None and len(ot) > 5

            await async_wait_until(overlaid, 20, what="the comparison traces")
            ot, ov = overlay.curves["battery.voltage.mppt"].getData()
            lo, hi = w.visible_range()
            assert ot[0] >= lo - 120  # drawn on our time axis
            assert ot[-1] <= hi + 120
            assert ov.min() > 10.8
            assert ov.max() <= 11.0
            # a note during the replay: a marker now, stored in the replayed session
            ev = bench.annotate("dip")
            assert (ev.t_ns / 1e9, "dip") in w.plots.markers.items

            def stored() -> bool:
                with Store(store, readonly=True) as s:
                    # stored in time order: where "dip" falls depends on how far the replay got
                    return sorted(e.text for e in s.events(first, "annotation")) == ["cell 3 warm", "dip"]

            await async_wait_until(stored, 10, what="the note in the store")
            w.clear_compare()
            assert w.plots.overlay is None
        finally:
            await bench.stop()
            await replay.aclose()
            w.close()

    run_in_qasync(qapp, scenario)


def test_viewer_shows_notes_and_adds_them_afterwards(qtbot: Any, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    sid = make_session(store, 600, note="start of CV phase")
    viewer = SessionViewer(SessionCatalog(store), sid)
    qtbot.addWidget(viewer)
    assert viewer.panel.markers.items == [((T0 + 60 * 10**9) / 1e9, "start of CV phase")]
    dlg = viewer.ask_annotation(T0 / 1e9 + 300)
    dlg.setTextValue("gassing")
    dlg.accept()
    assert ((T0 / 1e9 + 300), "gassing") in viewer.panel.markers.items

    def stored() -> bool:
        with Store(store, readonly=True) as s:
            return any(e.text == "gassing" and e.t_ns == T0 + 300 * 10**9 for e in s.events(sid))

    qtbot.waitUntil(stored, timeout=30_000)
    viewer.close()
