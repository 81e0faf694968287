"""The licence of a face model pack, shown before anything is downloaded; accepting it asks for
the download."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from core.models.catalog import PackSpec
from idfsr_desktop.theme import title_font


class PackLicenceDialog(QDialog):
    """Name, size, source and licence of a pack; Download stays off until the terms are ticked."""

    def __init__(self, spec: PackSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setWindowTitle(f"Download {spec.name}?")
        em = self.fontMetrics().height()
        title = QLabel(f"insightface {spec.name}")
        title.setFont(title_font(self, 1.3))
        size = f"{spec.size / 1e6:.0f} MB" if spec.size else "size unknown"
        about = QLabel(f"{spec.description}.<br>Download: {size} from <tt>{spec.url}</tt>; "
                       "its checksum is verified before it is installed.")
        about.setWordWrap(True)
        self.licence = QPlainTextEdit(spec.licence)
        self.licence.setReadOnly(True)
        self.licence.setMinimumHeight(em * 9)
        self.accept_box = QCheckBox("My use is non-commercial research, and I accept these terms")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.download_button = self.buttons.addButton(
            "Download and Install", QDialogButtonBox.ButtonRole.AcceptRole)
        self.download_button.setEnabled(False)
        self.accept_box.toggled.connect(self.download_button.setEnabled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(about)
        layout.addWidget(QLabel("Licence"))
        layout.addWidget(self.licence, 1)
        layout.addWidget(self.accept_box)
        layout.addWidget(self.buttons)
        self.resize(em * 36, em * 26)

    def accept(self) -> None:
        if self.accept_box.isChecked():  # the button is off until then; Enter must not bypass it
            super().accept()
