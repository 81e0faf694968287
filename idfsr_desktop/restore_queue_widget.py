"""The Restore page's queue: one row per queued photo, with its thumbnail, name and status."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from idfsr_desktop.restore_controller import QueuedPhoto
from idfsr_desktop.restore_words import outcome_text

STATUS_TEXT = {"waiting": "Waiting", "finding": "Finding faces…", "ready": "Ready",
               "no_faces": "No faces", "error": "Error", "restoring": "Restoring…",
               "restored": "Restored", "unchanged": "Nothing restored",
               "cancelled": "Cancelled"}


class RestoreQueueWidget(QListWidget):
    """The queued photos, in the controller's order; the row is the photo's index there."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        em = self.fontMetrics().height()
        self.setIconSize(QSize(em * 3, em * 3))
        self.setAccessibleName("Photos to restore")
        # A long name is shortened in the middle (the tooltip holds it whole) rather than
        # clipped at the column's edge behind a scroll bar.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(True)

    def show_photos(self, photos: list[QueuedPhoto]) -> None:
        """One row per photo, afresh (no row is current afterwards; no signal is emitted)."""
        self.blockSignals(True)
        self.clear()
        for _ in photos:
            self.addItem(QListWidgetItem())
        for row, photo in enumerate(photos):
            self.update_photo(row, photo)
        self.blockSignals(False)

    def update_photo(self, row: int, photo: QueuedPhoto) -> None:
        """Show `photo`'s name, status and thumbnail on its row."""
        item = self.item(row)
        if item is None:
            return
        status = STATUS_TEXT.get(photo.status, photo.status)
        if photo.status == "ready":
            status = f"{len(photo.faces)} face{'s' if len(photo.faces) != 1 else ''}"
        elif photo.status == "unchanged":  # why, shortly: "All faces already sharp"
            status = outcome_text(photo.result, photo.status).split(":")[0].split(" (")[0]
        if photo.exported:
            status += " · saved"
        item.setText(f"{photo.path.name}\n{status}")
        item.setToolTip(f"{photo.path}\n{photo.message}".strip())
        if photo.before is not None and not photo.before.isNull() and item.icon().isNull():
            side = self.iconSize().height()
            item.setIcon(QIcon(QPixmap.fromImage(photo.before.scaled(
                side * 2, side * 2, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))))
