"""Asking the operator how to start the SOC estimate over.

Two answers: *from the battery's voltage* (what the estimator does at start-up) or *at a SOC
the operator knows* with its uncertainty (1σ) — a full charge just ended, a block fresh from
storage. The dialog only asks; the gauge hands the answer to the core
(:meth:`benchgui.core.soc_service.SocService.start_over`). Not ``exec()`` (see confirm.py):
the answer arrives in a callback, and the gauge keeps the asking function as an attribute so
that tests inject their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from benchgui.core.soc_service import OPERATOR_SIGMA_PCT


@dataclass(frozen=True)
class StartChoice:
    """``soc_pct`` None: from the battery's voltage; else at that SOC ± ``sigma_pct`` (1σ)."""

    soc_pct: float | None
    sigma_pct: float = OPERATOR_SIGMA_PCT


#: asks (parent, the SOC shown now or None) and calls back with the choice, or None if cancelled
AskStart = Callable[[QWidget, float | None, Callable[[StartChoice | None], None]], None]


class SocStartDialog(QDialog):
    """The question itself; :meth:`choice` reads the answer."""

    def __init__(self, shown_pct: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Start the SOC estimate over")
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel(
                "The estimate starts again at the next reading. Coulomb counting starts again "
                "from the same point; the session records what you chose."
            )
        )
        self.from_voltage = QRadioButton("From the battery's voltage (as at start-up)")
        self.at_soc = QRadioButton("At a state of charge I know:")
        self.at_soc.setChecked(True)
        lay.addWidget(self.from_voltage)
        lay.addWidget(self.at_soc)
        grid = QGridLayout()
        self.soc = QDoubleSpinBox()
        self.soc.setRange(0.0, 100.0)
        self.soc.setDecimals(1)
        self.soc.setSuffix(" %")
        self.soc.setValue(round(shown_pct, 1) if shown_pct is not None else 100.0)
        self.sigma = QDoubleSpinBox()
        self.sigma.setRange(0.5, 50.0)
        self.sigma.setDecimals(1)
        self.sigma.setSuffix(" % (1σ)")
        self.sigma.setValue(OPERATOR_SIGMA_PCT)
        self.sigma.setToolTip(
            "How sure you are. If the battery is resting, its voltage is weighed against this."
        )
        grid.addWidget(QLabel("SOC"), 0, 0)
        grid.addWidget(self.soc, 0, 1)
        grid.addWidget(QLabel("±"), 1, 0)
        grid.addWidget(self.sigma, 1, 1)
        lay.addLayout(grid)
        self.at_soc.toggled.connect(self.soc.setEnabled)
        self.at_soc.toggled.connect(self.sigma.setEnabled)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def choice(self) -> StartChoice:
        if self.from_voltage.isChecked():
            return StartChoice(None)
        return StartChoice(self.soc.value(), self.sigma.value())


def ask_start_over(
    parent: QWidget, shown_pct: float | None, answer: Callable[[StartChoice | None], None]
) -> SocStartDialog:
    """Open the dialog window-modal; ``answer`` gets the choice, or None when cancelled."""
    dialog = SocStartDialog(shown_pct, parent)
    dialog.finished.connect(
        lambda result: answer(dialog.choice() if result == QDialog.DialogCode.Accepted.value else None)
    )
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
