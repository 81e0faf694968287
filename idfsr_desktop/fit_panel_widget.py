"""One person's identity fitting on their page: state, progress and time left, cancel, result."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.jobs import JobState
from idfsr_desktop.eta import duration_text
from idfsr_desktop.fit_controller import FitController
from idfsr_desktop.theme import error_colour, title_font

NOT_FITTED = ("Not fitted yet. Fitting learns this person's identity from their best photos, "
              "so restorations look like them; it takes a few minutes on a CPU.")


LEARN = "Learn This Person’s Face"
LEARN_TIP = ("Identity fitting: the restorer studies this person’s best photos, so that "
             "restored faces keep looking like them")

class FitPanelWidget(QFrame):
    """Follows the FitController for the person shown."""

    def __init__(self, fits: FitController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fits = fits
        self.person_id: int | None = None
        self.label = ""
        self.setFrameShape(QFrame.Shape.StyledPanel)
        em = self.fontMetrics().height()
        heading = QLabel("Identity")
        heading.setFont(title_font(self, 1.1))
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(max(6, em // 2))
        self.fit_button = QPushButton(LEARN)
        self.fit_button.clicked.connect(self._fit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)

        text = QVBoxLayout()
        text.setSpacing(em // 4)
        text.addWidget(heading)
        text.addWidget(self.status_label)
        text.addWidget(self.bar)
        row = QHBoxLayout(self)
        row.setContentsMargins(em // 2 + 2, em // 2, em // 2 + 2, em // 2)
        row.addLayout(text, 1)
        row.addWidget(self.fit_button)
        row.addWidget(self.cancel_button)
        fits.changed.connect(self._on_changed)

    def show_person(self, person_id: int, label: str) -> None:
        """Follow this person."""
        self.person_id, self.label = person_id, label
        self.update_state()

    def _on_changed(self, person_id: int) -> None:
        if person_id in (-1, self.person_id):
            self.update_state()

    def update_state(self) -> None:
        """Show where the person's fit stands."""
        pid = self.person_id
        if pid is None:
            return
        state = self.fits.state(pid)
        fitted = self.fits.is_fitted(pid)
        running = state is not None and state.status == JobState.RUNNING
        active = state is not None and state.active
        self.bar.setVisible(running)
        self.cancel_button.setVisible(active)
        self.fit_button.setVisible(not active)
        self.fit_button.setEnabled(self.fits.available)
        self.fit_button.setToolTip(self.fits.unavailable_reason or LEARN_TIP)
        self.fit_button.setText("Learn Again" if fitted
                                or (state and state.status == JobState.DONE) else LEARN)
        error = False
        if state is not None and state.status == JobState.QUEUED:
            text = "Waiting for the fits before it to finish."
        elif running and state is not None:
            text = state.progress_text()
            fraction = state.fraction
            if fraction is None:
                self.bar.setRange(0, 0)
            else:
                self.bar.setRange(0, 1000)
                self.bar.setValue(round(fraction * 1000))
        elif state is not None and state.status == JobState.DONE and state.outcome is not None:
            o = state.outcome
            text = f"Fitted in {duration_text(o.seconds)} on {o.faces_used} faces ({o.steps} steps)"
            if state.result_text():
                text += f" · {state.result_text()}"
        elif state is not None and state.status == JobState.FAILED:
            text, error = f"Fitting failed: {state.message}", True
        elif state is not None and state.status == JobState.CANCELLED:
            text = "Fitting was cancelled."
        elif fitted:
            text = "Fitted on the current restoration model."
        elif not self.fits.available:
            text = self.fits.unavailable_reason
        else:
            text = NOT_FITTED
        self.status_label.setText(text)
        palette = self.palette()
        if error:
            palette.setColor(self.status_label.foregroundRole(), error_colour(palette))
        self.status_label.setPalette(palette)

    def _fit(self) -> None:
        if self.person_id is not None:
            self.fits.fit([(self.person_id, self.label)])

    def _cancel(self) -> None:
        if self.person_id is not None:
            self.fits.cancel(self.person_id)
