"""The discharge program panel: load or write a program, run it, watch progress and results.

All commands go to the program runner (``bench.services.programs``); files are read and
written by the core (the runner's ``load_file`` / ``save_file``), never here. The panel
redraws from the runner's snapshot on a timer and when the runner announces a change.

Programs are TOML (README, "Discharge programs and safety"). The *Edit* tab is the program
builder: the "Add step" menu appends a step template, *Apply* checks the text and shows the
first error with its key.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from benchgui.core.bench import Bench
from benchgui.core.programs.loader import examples_dir, list_examples
from benchgui.core.programs.model import LoopStep, Program, Step, StepResult
from benchgui.core.programs.progress import COMPLETED, end_words
from benchgui.core.programs.runner import ProgramRunner, Progress, RunnerState
from benchgui.core.safety import InterlockTripped
from benchgui.errors import BenchError
from benchgui.widgets.bridge import Bridge
from benchgui.widgets.host import PanelHost
from benchgui.widgets.text import ElidedLabel, hms, set_style

log = logging.getLogger(__name__)

TEMPLATES = {
    "CC until cut-off": '[[step]]\nkind = "cc"\ncurrent_a = 5.0\nuntil_voltage_below_v = "cutoff"\n',
    "CC for a time": '[[step]]\nkind = "cc"\ncurrent_a = 2.0\nduration_s = 600\n',
    "CP until Wh": '[[step]]\nkind = "cp"\npower_w = 30.0\nuntil_wh = 10.0\n',
    "Rest": '[[step]]\nkind = "rest"\nduration_s = 600\n',
    "Pulse train (DCIR)": (
        '[[step]]\nkind = "pulse"\ncurrent_a = 5.0\nbase_current_a = 0.5\non_s = 10\noff_s = 50\ncount = 5\n'
    ),
    "Current profile (CSV)": (
        '[[step]]\nkind = "profile"\ncsv = "drive-cycle-ece15.csv"\ninterval_s = 1.0\nrepeat = 1\n'
        'until_voltage_below_v = "cutoff"\n'
    ),
    "Loop": (
        '[[step]]\nkind = "loop"\ncount = 3\nuntil_voltage_below_v = "cutoff"\n'
        'steps = [\n  { kind = "cc", current_a = 2.0, duration_s = 600 },\n'
        '  { kind = "rest", duration_s = 300 },\n]\n'
    ),
}
NEW_PROGRAM = '[program]\nname = "New program"\n\n'

RESULT_COLUMNS = ("Step", "What", "End", "Time", "Ah", "Wh", "V end", "DCIR mΩ")


class ProgramPanel(QWidget):
    pause_when_hidden = True  # its timer only refreshes this dock (MainWindow pauses it behind a tab)

    def __init__(self, runner: ProgramRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._path = ""  # file the editor text belongs to (relative CSVs are found next to it)
        self._shown_program: Program | None = None
        self._setup_ui()
        self.bridge = Bridge(self)
        self.bridge.listen(runner.changed, self.refresh)
        self._trip_refusal = False  # the error shown is "safety trip not acknowledged"
        if runner.supervisor is not None:  # that line goes when the operator acknowledges
            self.bridge.listen(runner.supervisor.state_changed, lambda _state: self._clear_trip_refusal())
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(250)
        self.refresh()

    # -- layout ------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.name = ElidedLabel("no program")  # a long description must not widen the window
        bold = self.name.font()
        bold.setBold(True)
        self.name.setFont(bold)
        self.examples = QComboBox()
        self.examples.addItem("Examples…")
        for p in list_examples():
            self.examples.addItem(p.name, str(p))
        self.examples.activated.connect(self._example_chosen)
        self.open_btn = QPushButton("Open…")
        self.open_btn.clicked.connect(self.ask_open)
        self.save_btn = QPushButton("Save as…")
        self.save_btn.clicked.connect(self.ask_save)
        lay.addWidget(self.name)  # a line of its own: beside the buttons it had no room left
        top.addWidget(self.examples, 1)
        top.addWidget(self.open_btn)
        top.addWidget(self.save_btn)
        lay.addLayout(top)

        self.tabs = QTabWidget()
        self.steps = QTreeWidget()
        self.steps.setHeaderLabels(["Step", "What"])
        self.steps.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tabs.addTab(self.steps, "Steps")
        editor_box = QWidget()
        ed = QVBoxLayout(editor_box)
        ed.setContentsMargins(0, 0, 0, 0)
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setPlaceholderText("Program TOML — use “Add step” or open an example")
        self.editor.textChanged.connect(self._text_changed)
        row = QHBoxLayout()
        self.add_step = QToolButton()
        self.add_step.setText("Add step")
        self.add_step.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_step)
        for title, snippet in TEMPLATES.items():
            menu.addAction(title, functools.partial(self.append_step, snippet))
        self.add_step.setMenu(menu)
        self.apply_btn = QPushButton("Apply")
        self.apply_btn.clicked.connect(self.apply_text)
        row.addWidget(self.add_step)
        row.addStretch(1)
        row.addWidget(self.apply_btn)
        ed.addWidget(self.editor, 1)
        ed.addLayout(row)
        self.tabs.addTab(editor_box, "Edit")
        lay.addWidget(self.tabs, 2)

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d62728;")
        lay.addWidget(self.error)

        buttons = QHBoxLayout()
        self.start_btn = QPushButton("▶ Start")
        self.pause_btn = QPushButton("Pause")
        self.abort_btn = QPushButton("■ Abort")
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.abort_btn.clicked.connect(lambda: self.runner.abort())
        for b in (self.start_btn, self.pause_btn, self.abort_btn):
            buttons.addWidget(b)
        lay.addLayout(buttons)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = ElidedLabel()  # plain words, elided: never markup, never wider than the dock
        self.live = ElidedLabel()
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.live)

        self.results = QTableWidget(0, len(RESULT_COLUMNS))
        self.results.setHorizontalHeaderLabels(RESULT_COLUMNS)
        self.results.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.results.verticalHeader().setVisible(False)
        lay.addWidget(self.results, 2)
        self.totals = QLabel()
        lay.addWidget(self.totals)

    # -- choosing and editing a program ------------------------------------------------------------
    def _example_chosen(self, index: int) -> None:
        path = self.examples.itemData(index)
        self.examples.setCurrentIndex(0)
        if path:
            self.open_file(path)

    def ask_open(self) -> None:
        dlg = QFileDialog(self, "Open program", str(examples_dir()), "Programs (*.toml)")
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(self.open_file)
        dlg.open()  # not exec(): no nested event loop under qasync

    def ask_save(self) -> None:
        dlg = QFileDialog(self, "Save program", self._path or str(Path.home()), "Programs (*.toml)")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setDefaultSuffix("toml")
        dlg.fileSelected.connect(self.save_file)
        dlg.open()

    def open_file(self, path: str) -> None:
        try:
            program = self.runner.load_file(path)  # the core reads the file
        except BenchError as exc:
            self.error.setText(str(exc))
            return
        self._path = path
        self.editor.setPlainText(program.text)
        self.error.clear()
        self.refresh()

    def save_file(self, path: str) -> None:
        try:
            self.runner.save_file(path, self.editor.toPlainText())  # checked and written by the core
        except BenchError as exc:
            self.error.setText(str(exc))
            return
        self._path = path
        self.error.setText("")
        self.refresh()

    def append_step(self, snippet: str) -> None:
        text = self.editor.toPlainText()
        if not text.strip():
            text = NEW_PROGRAM
        self.editor.setPlainText(text.rstrip("\n") + "\n\n" + snippet)
        self.tabs.setCurrentIndex(1)

    def apply_text(self) -> bool:
        try:
            self.runner.load_text(self.editor.toPlainText(), self._path)
        except BenchError as exc:
            self.error.setText(str(exc))
            return False
        self.error.clear()
        self.refresh()
        return True

    # -- commands ------------------------------------------------------------------------------
    def start(self) -> None:
        program = self.runner.program
        edited = program is None or program.text != self.editor.toPlainText()
        if edited and (not self.editor.toPlainText().strip() or not self.apply_text()):
            if not self.error.text():
                self.error.setText("Write or open a program first.")
            return
        self.error.clear()
        self.bridge.run(self.runner.start(), done=lambda _: self.refresh(), failed=self._start_failed)

    def _clear_trip_refusal(self) -> None:
        sup = self.runner.supervisor
        if self._trip_refusal and sup is not None and not sup.latched:
            self._trip_refusal = False
            self.error.clear()

    def _start_failed(self, exc: BaseException) -> None:
        self._trip_refusal = isinstance(exc, InterlockTripped)
        if isinstance(exc, BenchError):
            self.error.setText(str(exc))
        else:  # shown, not swallowed: the log has the traceback
            log.error("program start failed", exc_info=exc)
            self.error.setText(f"could not start: {exc}")
        self.refresh()

    def toggle_pause(self) -> None:
        if self.runner.state is RunnerState.PAUSED:
            self.runner.resume()
        else:
            self.runner.pause()

    # -- drawing -------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._clear_trip_refusal()
        snap = self.runner.snapshot()
        program = self.runner.program
        if program is not self._shown_program:
            self._show_program(program)
        self._update_buttons(snap.state)
        self._show_progress(snap)
        self._show_results(snap.results)

    def _text_changed(self) -> None:
        self._update_buttons()

    def _update_buttons(self, state: RunnerState | None = None) -> None:
        state = state or self.runner.state
        running = state in (RunnerState.RUNNING, RunnerState.PAUSED)
        have = self.runner.program is not None or bool(self.editor.toPlainText().strip())
        self.start_btn.setEnabled(not running and have)
        self.pause_btn.setEnabled(running)
        self.pause_btn.setText("Resume" if state is RunnerState.PAUSED else "Pause")
        self.abort_btn.setEnabled(running)
        for w in (self.open_btn, self.examples, self.apply_btn, self.add_step, self.save_btn):
            w.setEnabled(not running)
        self.editor.setReadOnly(running)

    def _show_program(self, program: Program | None) -> None:
        self._shown_program = program
        self.steps.clear()
        if program is None:
            self.name.setText("no program")
            return
        self.name.setText(program.name + (f" — {program.description}" if program.description else ""))

        def add(parent: QTreeWidget | QTreeWidgetItem, steps: tuple[Step, ...], prefix: str) -> None:
            for n, s in enumerate(steps, 1):
                item = QTreeWidgetItem([f"{prefix}{n}", (s.label + ": " if s.label else "") + s.describe()])
                if isinstance(parent, QTreeWidget):
                    parent.addTopLevelItem(item)
                else:
                    parent.addChild(item)
                if isinstance(s, LoopStep):
                    add(item, s.steps, f"{prefix}{n}.")
                    item.setExpanded(True)

        add(self.steps, program.steps, "")
        if program.text and not self.editor.toPlainText().strip():
            self.editor.setPlainText(program.text)

    def _show_progress(self, snap: Progress) -> None:
        self.progress.setValue(round(snap.fraction * 1000))
        if snap.state is RunnerState.IDLE:
            set_style(self.status, "")
            self.status.setText("Ready." if self.runner.program else "Open an example or write a program.")
            self.live.clear()
            return
        if snap.state is RunnerState.FINISHED:
            ok = snap.end_reason == COMPLETED
            set_style(self.status, f"color: {'#2ca02c' if ok else '#d62728'}; font-weight: bold;")
            err = f" — {snap.error}" if snap.error else ""
            self.status.setText(f"Ended: {end_words(snap.end_reason)}{err}")
        else:
            paused = snap.state is RunnerState.PAUSED
            set_style(self.status, "font-weight: bold;" if paused else "")
            mark = "(paused — load off) " if paused else ""  # first: it must not be what is elided
            self.status.setText(
                f"{mark}Step {snap.leaf}/{snap.leaves} ({snap.step_path}): "
                f"{snap.step_text} — {snap.step_fraction * 100:.0f} %"
            )
        v = f"{snap.voltage:.3f} V" if snap.voltage is not None else "— V"
        i = f"{snap.current:+.3f} A" if snap.current is not None else "— A"
        self.live.setText(f"{v}   {i}   {snap.ah:.4f} Ah   {snap.wh:.3f} Wh   {hms(snap.elapsed_s)}")
        self.totals.setText(self._totals_text(snap))

    def _totals_text(self, snap: Progress) -> str:
        res = self.runner.result
        if res is None or snap.state is not RunnerState.FINISHED:
            return ""
        cap = f" · capacity to cut-off {res.capacity_ah:.4f} Ah" if res.capacity_ah is not None else ""
        return f"Program: {res.ah:.4f} Ah, {res.wh:.3f} Wh in {hms(res.duration_s)}{cap}"

    def _show_results(self, results: tuple[StepResult, ...]) -> None:
        t = self.results
        if t.rowCount() != len(results):
            t.setRowCount(len(results))
        for row, r in enumerate(results):
            dcir = r.dcir_ohm
            n_pulses = len(r.pulses)
            cells = (
                r.path,
                r.label,
                end_words(r.end) or "running",
                hms(r.duration_s),
                f"{r.ah:.4f}",
                f"{r.wh:.3f}",
                f"{r.v_end:.3f}" if r.v_end is not None else "",
                f"{dcir * 1000:.1f} ({n_pulses})" if dcir is not None else ("—" if n_pulses else ""),
            )
            for col, text in enumerate(cells):
                item = t.item(row, col)
                if item is None:
                    t.setItem(row, col, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)


def create_panel(window: PanelHost, bench: Bench) -> QWidget | None:
    runner = bench.services.programs
    if runner is None or bench.load is None:
        return None
    panel = ProgramPanel(runner)
    window.add_panel("Programs", panel)
    return panel
