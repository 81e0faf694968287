"""What the app runs with: face models (and the pack it may offer), the restoration model, the
device. Checked in the background; a download is only ever offered, on a click."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from core.context import AppContext
from core.faces.types import MOBILEFACE_ID
from core.jobs import CancelToken, ProgressCallback
from core.model_status import (
    DeviceStatus,
    FaceModelStatus,
    RestorationModel,
    device_status,
    face_model_status,
    restoration_model,
)
from core.models.catalog import PackSpec
from idfsr_desktop.task_runner import TaskHandle, TaskRunner
from idfsr_desktop.theme import secondary_text


@dataclass(frozen=True)
class ModelReport:
    """Everything the widget shows, gathered off the GUI thread."""

    faces: FaceModelStatus
    restoration: RestorationModel | None
    device: DeviceStatus


def gather(ctx: AppContext) -> ModelReport:
    """Check the models and the device (imports torch: call off the GUI thread)."""
    return ModelReport(face_model_status(ctx), restoration_model(ctx),
                       device_status(ctx.settings.device))


def face_words(status: FaceModelStatus) -> str:
    """The face models in use, in words."""
    if status.active is None:
        return f"Not available: {status.reason}"
    if status.embedded:
        recognizer = " with MobileFace" if status.active == f"embedded/{MOBILEFACE_ID}" else ""
        return f"Embedded models{recognizer} (bundled with the app, work offline)"
    return f"insightface {status.active.split('/', 1)[-1]} (installed)"


def restoration_words(model: RestorationModel | None) -> str:
    """The restoration model, in words."""
    if model is None:
        return ("Not installed yet. Identity fitting and restoring need it; "
                "train one with `idfsr train`.")
    return f"{model.path.name} (weights {model.sha256[:12]}…)"


def device_words(device: DeviceStatus) -> str:
    """The device, in words."""
    if device.kind is None:
        return f"Not available: {device.problem}"
    if device.kind == "cpu":
        return f"{device.name}: no GPU found, so fitting and restoring take longer"
    return device.name


class ModelStatusWidget(QWidget):
    """A small table: Face recognition / Restoration model / Device, and a download offer."""

    download_requested = Signal(object)  # PackSpec

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.runner = ctx, runner
        self.report: ModelReport | None = None
        self.faces_value = QLabel("Checking…")
        self.restoration_value = QLabel("Checking…")
        self.device_value = QLabel("Checking…")
        self.offer_label = QLabel()
        self.offer_label.setWordWrap(True)
        secondary_text(self.offer_label)
        self.offer_button = QPushButton("Review Licence and Download…")
        self.offer_button.setToolTip("Shows the licence first; nothing is downloaded until you "
                                     "accept it")
        self.offer_button.clicked.connect(self._offer_clicked)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(self.fontMetrics().height())
        # The optional pack sits under the face models it would replace (rows 1 and 2).
        for row, (name, value) in ((0, ("Face recognition", self.faces_value)),
                                   (3, ("Restoration model", self.restoration_value)),
                                   (4, ("Device", self.device_value))):
            label = QLabel(name)
            secondary_text(label)
            grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(value, row, 1)
        grid.addWidget(self.offer_label, 1, 1)
        grid.addWidget(self.offer_button, 2, 1, Qt.AlignmentFlag.AlignLeft)
        grid.setColumnStretch(1, 1)
        self.offer_label.hide()
        self.offer_button.hide()

    def refresh(self) -> TaskHandle:
        """Check again in the background."""
        ctx = self.ctx

        def job(*, progress: ProgressCallback, cancel: CancelToken) -> ModelReport:
            return gather(ctx)

        return self.runner.submit(job, title="Checking models", listed=False,
                                  on_finished=self.show_report)

    def show_report(self, report: ModelReport) -> None:
        """Show a finished check."""
        self.report = report
        self.faces_value.setText(face_words(report.faces))
        self.restoration_value.setText(restoration_words(report.restoration))
        self.device_value.setText(device_words(report.device))
        offer = report.faces.offer
        self.offer_label.setVisible(offer is not None)
        self.offer_button.setVisible(offer is not None)
        if offer is not None:
            size = f"{offer.size / 1e6:.0f} MB" if offer.size else "size unknown"
            self.offer_label.setText(
                f"Optional: insightface {offer.name} finds and recognises faces more "
                f"accurately ({size} download; non-commercial research use only).")

    def _offer_clicked(self) -> None:
        if self.report is not None and self.report.faces.offer is not None:
            offer: PackSpec = self.report.faces.offer
            self.download_requested.emit(offer)
