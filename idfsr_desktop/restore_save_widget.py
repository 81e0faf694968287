"""The Restore page's "Saving" box: Save As (folder, name and format, like a photo app), the
option of a before/after comparison beside it, and Show in Folder for the last save."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import IdfsrError
from core.restore.encoding import read_source_info
from core.restore.save_as import SAVE_FORMATS, Saved, save_format
from idfsr_desktop.restore_controller import QueuedPhoto, RestoreController
from idfsr_desktop.theme import secondary_text

FORMAT_NAMES = {"JPEG": "JPEG image", "PNG": "PNG image", "TIFF": "TIFF image",
                "WEBP": "WebP image"}


class RestoreSaveWidget(QGroupBox):
    """Saves the page's current photo through the controller; says what was saved where."""

    def __init__(self, controller: RestoreController, parent: QWidget | None = None) -> None:
        super().__init__("Saving", parent)
        self.controller = controller
        self.photo: QueuedPhoto | None = None
        self.save_button = QPushButton("&Save As…")
        self.save_button.setToolTip("Save the restored photo where, as what and in which format "
                                    "you choose (nothing is replaced; the original is only read)")
        self.save_button.clicked.connect(self.save)
        self.comparison_box = QCheckBox("Also save a &before/after comparison")
        self.comparison_box.setToolTip("A second image beside it: the original on the left, "
                                       "the restored photo on the right")
        self.reveal_button = QPushButton("Show in &Folder")
        self.reveal_button.setToolTip("Open the folder of the last saved photo")
        self.reveal_button.clicked.connect(self.reveal)
        self.saved_label = QLabel()
        self.saved_label.setWordWrap(True)
        secondary_text(self.saved_label)
        self.last_saved: Saved | None = None
        self._folder: Path | None = None  # where the last Save As went (this session)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.reveal_button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addLayout(buttons)
        column.addWidget(self.comparison_box)
        column.addWidget(self.saved_label)
        controller.saved.connect(self._on_saved)
        self.show_photo(None)

    def show_photo(self, photo: QueuedPhoto | None) -> None:
        """The photo a Save As would save (None: none); enables what can be done."""
        self.photo = photo
        has_result = photo is not None and photo.result is not None and bool(photo.result.output)
        self.save_button.setEnabled(has_result)
        self.comparison_box.setEnabled(has_result)
        self.reveal_button.setEnabled(self.last_saved is not None)

    def save(self) -> None:
        """Ask where and as what (a Save As dialog), then save in the background."""
        photo = self.photo
        if photo is None or photo.result is None or not photo.result.output:
            return
        source_format = read_source_info(Path(photo.result.output)).format
        fmt = source_format if source_format in SAVE_FORMATS else "JPEG"
        folder = self._folder or self.controller.output_folder()
        suggested = folder / f"{photo.path.stem}-restored{SAVE_FORMATS[fmt][0]}"
        filters = [f"{FORMAT_NAMES[f]} (*{' *'.join(SAVE_FORMATS[f])})" for f in SAVE_FORMATS]
        chosen, chosen_filter = QFileDialog.getSaveFileName(
            self, "Save Restored Photo", str(suggested), ";;".join(filters),
            filters[list(SAVE_FORMATS).index(fmt)])
        if not chosen:
            return
        target = Path(chosen)
        try:
            save_format(target)
        except IdfsrError:  # no usable suffix: the format the user picked in the dialog
            picked = next((f for f, text in zip(SAVE_FORMATS, filters, strict=True)
                           if text == chosen_filter), fmt)
            target = target.with_name(target.name + SAVE_FORMATS[picked][0])
        self._folder = target.parent
        self.saved_label.setText(f"Saving {target.name}…")
        self.controller.save_as(photo, target, comparison=self.comparison_box.isChecked())

    def reveal(self) -> None:
        """Open the folder of the last saved photo (else the output folder)."""
        folder = (self.last_saved.image.parent if self.last_saved is not None
                  else self.controller.output_folder())
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _on_saved(self, photo: QueuedPhoto, saved: Saved) -> None:
        self.last_saved = saved
        words = f"Saved as {saved.image.name}"
        if saved.renamed:
            words += " (the name asked for was taken; nothing was replaced)"
        if saved.comparison is not None:
            words += f", with {saved.comparison.name}"
        self.saved_label.setText(f"{words} in {saved.image.parent}.")
        self.saved_label.setToolTip(str(saved.image))
        self.show_photo(self.photo)
