"""The one Qt bridge: core signals reach widgets on the GUI thread and stop at the widget's end;
commands run for a widget report their outcome to it, are kept alive, and say when busy."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
import qasync
import shiboken6
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from benchgui.signals import Signal
from benchgui.widgets.bridge import Bridge
from tests.helpers import async_wait_until
from tests.widgets.qasync_kit import run

pytestmark = pytest.mark.timeout(60)


def test_a_signal_from_another_thread_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    bridge = Bridge(widget)
    fired: Signal[[int, str]] = Signal("test")
    seen: list[tuple[int, str, bool]] = []
    bridge.listen(
        fired, lambda n, text: seen.append((n, text, threading.current_thread() is threading.main_thread()))
    )
    fired.emit(1, "here")  # on the GUI thread: delivered at once
    assert seen == [(1, "here", True)]
    worker = threading.Thread(target=lambda: fired.emit(2, "there"))
    worker.start()
    worker.join()
    assert len(seen) == 1  # queued until the GUI thread's event loop runs
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
    assert seen[1] == (2, "there", True)


def test_the_core_forgets_a_deleted_widget(qtbot: QtBot) -> None:
    widget = QWidget()
    bridge = Bridge(widget)
    fired: Signal[[int]] = Signal("test")
    seen: list[int] = []
    bridge.listen(fired, seen.append)
    assert len(fired._listeners) == 1
    shiboken6.delete(widget)  # what closing a window does to its panels
    assert not shiboken6.isValid(bridge)
    assert fired._listeners == []
    fired.emit(1)
    assert seen == []


def test_stop_listening_before_the_widget_goes(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    bridge = Bridge(widget)
    fired: Signal[[int]] = Signal("test")
    seen: list[int] = []
    bridge.listen(fired, seen.append)
    bridge.stop_listening()
    fired.emit(1)
    assert seen == []
    assert fired._listeners == []


def test_commands_report_their_outcome_and_busy(qtbot: QtBot, qloop: qasync.QEventLoop) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    bridge = Bridge(widget)
    busy: list[bool] = []
    bridge.busy_changed.connect(busy.append)
    outcomes: list[tuple[str, Any]] = []

    async def answer(release: asyncio.Event, value: int) -> int:
        await release.wait()
        return value

    async def refuse() -> None:
        raise ValueError("refused")

    async def body() -> None:
        release = asyncio.Event()
        bridge.run(answer(release, 42), done=lambda v: outcomes.append(("done", v)))
        bridge.run(refuse(), failed=lambda e: outcomes.append(("failed", str(e))))
        assert bridge.busy
        await async_wait_until(lambda: len(outcomes) == 1, 10, what="the refusal")
        assert outcomes == [("failed", "refused")]
        assert bridge.busy  # the first one still runs
        release.set()
        await async_wait_until(lambda: len(outcomes) == 2, 10, what="the answer")
        assert outcomes[1] == ("done", 42)
        assert not bridge.busy
        assert busy == [True, False]
        never = bridge.run(answer(asyncio.Event(), 0), cancelled=lambda: outcomes.append(("cancelled", None)))
        never.cancel()
        await async_wait_until(lambda: len(outcomes) == 3, 10, what="the cancellation")
        assert outcomes[2] == ("cancelled", None)

    run(qloop, body())


def test_an_unhandled_error_is_logged_not_lost_and_a_closed_widget_hears_nothing(
    qtbot: QtBot, qloop: qasync.QEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    widget = QWidget()
    bridge = Bridge(widget)
    outcomes: list[object] = []

    async def refuse(release: asyncio.Event | None = None) -> None:
        if release is not None:
            await release.wait()
        raise ValueError("refused")

    async def body() -> None:
        with caplog.at_level(logging.ERROR, logger="benchgui.widgets.bridge"):
            bridge.run(refuse())  # nobody handles it: logged (the qloop fixture fails on loop errors)
            await async_wait_until(lambda: not bridge.busy, 10, what="the refusal")
        assert "refused" in caplog.text
        release = asyncio.Event()
        fut = bridge.run(refuse(release), failed=outcomes.append, done=outcomes.append)
        shiboken6.delete(widget)  # the panel closes while its command runs
        release.set()
        await async_wait_until(lambda: not bridge.busy, 10, what="the command's end seen")
        assert fut.done()
        assert outcomes == []

    run(qloop, body())
