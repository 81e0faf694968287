"""Model packs from the window: the Models and Device dialog, the licence, the download.

`ModelDownloads` shows what is installed, offers a pack with its licence, and downloads,
verifies and installs it in the background only once the user accepts the terms. Whoever
offers a pack (the first-run page, the dialog) calls `offer_pack`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from core.context import AppContext
from core.faces.backends import forget_face_backend
from core.models.catalog import PackSpec
from idfsr_desktop.model_status_widget import ModelStatusWidget
from idfsr_desktop.pack_licence_dialog import PackLicenceDialog
from idfsr_desktop.task_runner import TaskHandle, TaskRunner

if TYPE_CHECKING:
    from core.models.download import InstallReport


class ModelDownloads(QObject):
    """Model dialogs over `window` and pack downloads through the runner; reports by signals."""

    failed = Signal(str, str)  # title, message
    message = Signal(str)  # how an install ended, in words (for the status bar)
    installed = Signal()  # a pack was installed: what shows the models should look again

    def __init__(self, ctx: AppContext, runner: TaskRunner, window: QWidget) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.runner = runner
        self.window = window  # the parent of the dialogs

    def show_models(self) -> QDialog:
        """Models and device, with the pack download offer."""
        dialog = QDialog(self.window)
        dialog.setWindowTitle("Models and Device")
        status = ModelStatusWidget(self.ctx, self.runner)
        status.download_requested.connect(self.offer_pack)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(status)
        layout.addWidget(buttons)
        em = self.window.fontMetrics().height()
        dialog.resize(em * 36, em * 12)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        status.refresh()
        dialog.open()
        return dialog

    def offer_pack(self, spec: PackSpec) -> PackLicenceDialog:
        """Show the pack's licence; download only if the user accepts it."""
        dialog = PackLicenceDialog(spec, self.window)
        dialog.accepted.connect(lambda: self.download_pack(spec))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def download_pack(self, spec: PackSpec) -> TaskHandle:
        """Download, verify and install a pack in the background (the user accepted its terms)."""
        from core.models import download  # heavy: requests, only when a download is asked for

        job = functools.partial(download.install_pack, self.ctx.paths.models, spec)
        return self.runner.submit(job, title=f"Downloading {spec.name}",
                                  on_finished=self._on_pack_installed,
                                  on_failed=lambda message: self.failed.emit(
                                      f"Could not install {spec.name}", message))

    def _on_pack_installed(self, report: InstallReport) -> None:
        forget_face_backend(self.ctx)
        self.installed.emit()
        self.message.emit(
            f"Installed {report.pack}: faces are analysed again with it at the next indexing.")
