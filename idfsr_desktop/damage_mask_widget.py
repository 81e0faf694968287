"""Repairing the whole photo on the Restore page: the switch, the tone strength, and a view of
the damage mask over the photo where the user paints to add to it or erase from it.

The mask is the engine's (core.restore.damage): detected when first shown, edited here
with a brush, and repaired again at once as a preview (core.restore.photo_fix, no model,
a fraction of a second for a typical scan). A restore run takes the edited mask through
RestoreOptions.damage_masks (a PNG per photo under the app's cache).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.errors import IdfsrError
from core.library.imageio import load_image
from core.restore.damage import detect_damage, paint_stroke
from core.restore.options import RestoreOptions
from core.restore.photo_fix import fix_photo
from idfsr_desktop.theme import secondary_text

OVERLAY = QColor(255, 40, 40, 150)


def _qimage(rgb: NDArray[np.uint8]) -> QImage:
    h, w = rgb.shape[:2]
    data = np.ascontiguousarray(rgb)
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _overlay(mask: NDArray[np.uint8]) -> QImage:
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[mask > 0] = (OVERLAY.red(), OVERLAY.green(), OVERLAY.blue(), OVERLAY.alpha())
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class DamageMaskCanvas(QWidget):
    """The photo (or its repaired preview) with the mask over it; a brush paints the mask."""

    stroke_done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 120)
        self.image = QImage()
        self.mask_image = QImage()
        self.show_mask = True
        self.erase = False
        self.radius = 4  # photo pixels
        self.damage: NDArray[np.uint8] | None = None
        self._stroke: list[tuple[float, float]] = []
        self.setAccessibleName("Damage mask: paint to add to it or erase from it")

    def set_images(self, image: QImage, mask: NDArray[np.uint8] | None) -> None:
        """Show this photo and mask."""
        self.image = image
        self.damage = mask
        self.mask_image = _overlay(mask) if mask is not None else QImage()
        self.update()

    def _target(self) -> QRectF:
        if self.image.isNull():
            return QRectF()
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_photo(self, point: QPointF) -> tuple[float, float]:
        """A widget position in photo pixels."""
        target = self._target()
        scale = target.width() / max(1, self.image.width())
        return ((point.x() - target.x()) / scale, (point.y() - target.y()) / scale)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if not self.image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._target(), self.image)
            if self.show_mask and not self.mask_image.isNull():
                painter.drawImage(self._target(), self.mask_image)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.damage is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._stroke = [self.to_photo(event.position())]
        self._paint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._stroke:
            self._stroke.append(self.to_photo(event.position()))
            self._paint()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke:
            self._stroke.append(self.to_photo(event.position()))
            self._paint()
            self._stroke = []
            self.stroke_done.emit()

    def _paint(self) -> None:
        if self.damage is None:
            return
        self.damage = paint_stroke(self.damage, self._stroke[-2:], self.radius, erase=self.erase)
        self.mask_image = _overlay(self.damage)
        self.update()


class DamageRepairBox(QGroupBox):
    """The Repair box of the Restore page; its canvas goes where the page shows photos."""

    show_mask_toggled = Signal(bool)

    def __init__(self, mask_folder: Path, max_pixels: int,
                 parent: QWidget | None = None) -> None:
        super().__init__("Whole photo", parent)
        self.mask_folder = mask_folder
        self.max_pixels = max_pixels
        self.canvas = DamageMaskCanvas()
        self.canvas.stroke_done.connect(self._edited)
        self.photo: Path | None = None
        self.faces: list[Sequence[float]] = []
        self.rgb: NDArray[np.uint8] | None = None
        self.damage: NDArray[np.uint8] | None = None
        self.edited: dict[str, Path] = {}  # photo path -> the PNG of its edited mask
        self.repaired: NDArray[np.uint8] | None = None

        defaults = RestoreOptions()
        self.repair_box = QCheckBox("Repair scratches and dust")
        self.repair_box.setChecked(defaults.repair)
        self.repair_box.setToolTip("Find scratches, cracks, dust and spots over the whole photo "
                                   "and fill them before the faces are restored")
        self.tone = QSlider(Qt.Orientation.Horizontal)
        self.tone.setRange(0, 100)
        self.tone.setValue(round(defaults.tone * 100))
        self.tone.setToolTip("How much fading, colour cast and low contrast are corrected "
                             "(grey and sepia photos keep their tone)")
        self.tone.setAccessibleName("Tone correction strength")
        self.tone_label = QLabel()
        secondary_text(self.tone_label)
        self.tone.valueChanged.connect(self._tone_words)
        self.mask_button = QPushButton("Show Damage")
        self.mask_button.setCheckable(True)
        self.mask_button.setToolTip("Show the damage found on the photo; paint to add to it "
                                    "or erase from it")
        self.mask_button.toggled.connect(self._toggle_mask)
        self.add_button = QPushButton("Add")
        self.erase_button = QPushButton("Erase")
        brushes = QButtonGroup(self)
        for button in (self.add_button, self.erase_button):
            button.setCheckable(True)
            brushes.addButton(button)
        self.add_button.setChecked(True)
        self.erase_button.toggled.connect(self._set_erase)
        self.brush = QSpinBox()
        self.brush.setRange(1, 100)
        self.brush.setValue(self.canvas.radius)
        self.brush.setSuffix(" px")
        self.brush.setToolTip("Brush radius, in photo pixels")
        self.brush.setAccessibleName("Brush radius")
        self.brush.valueChanged.connect(lambda v: setattr(self.canvas, "radius", v))
        self.overlay_box = QCheckBox("Overlay")
        self.overlay_box.setChecked(True)
        self.overlay_box.setToolTip("Show the mask over the photo (off: the repaired preview)")
        self.overlay_box.toggled.connect(self._show)
        self.repair_button = QPushButton("Repair Again")
        self.repair_button.setToolTip("Repair the photo with the mask as it is now (a preview; "
                                      "Restore uses it too)")
        self.repair_button.clicked.connect(self.repair_now)
        self.stats_label = QLabel()
        secondary_text(self.stats_label)

        tone_row = QHBoxLayout()
        tone_row.addWidget(QLabel("Tone:"))
        tone_row.addWidget(self.tone, 1)
        tone_row.addWidget(self.tone_label)
        brush_row = QHBoxLayout()
        for w in (self.add_button, self.erase_button, self.brush, self.overlay_box):
            brush_row.addWidget(w)
        self.brush_tools = QWidget()
        tools = QVBoxLayout(self.brush_tools)
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addLayout(brush_row)
        tools.addWidget(self.repair_button)
        tools.addWidget(self.stats_label)
        self.brush_tools.setVisible(False)
        column = QVBoxLayout(self)
        column.addWidget(self.repair_box)
        column.addLayout(tone_row)
        column.addWidget(self.mask_button)
        column.addWidget(self.brush_tools)
        self._tone_words(self.tone.value())
        self.repair_box.toggled.connect(self.mask_button.setEnabled)

    # ---- the photo and its mask -------------------------------------------------------------

    def set_photo(self, path: Path | None, faces: Sequence[Sequence[float]] = ()) -> None:
        """The photo the page shows now and its face boxes (its mask is found when first
        shown; on the faces only bright damage, as the restore does)."""
        self.faces = list(faces)
        if path == self.photo:
            return
        self.photo, self.rgb, self.damage, self.repaired = path, None, None, None
        self.mask_button.setChecked(False)
        self.canvas.set_images(QImage(), None)

    def _load(self) -> bool:
        if self.photo is None:
            return False
        if self.rgb is None:
            try:
                with load_image(self.photo, max_pixels=self.max_pixels) as img:
                    self.rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
            except (OSError, IdfsrError) as exc:
                self.stats_label.setText(f"Cannot read the photo: {exc}")
                return False
        if self.damage is None:
            kept = self.edited.get(str(self.photo))
            if kept is not None and kept.is_file():
                self.damage = np.asarray(Image.open(kept).convert("L"), np.uint8)
            else:
                self.damage = detect_damage(self.rgb, faces=self.faces)
        return True

    def _toggle_mask(self, on: bool) -> None:
        if on and not self._load():
            self.mask_button.setChecked(False)
            return
        self.brush_tools.setVisible(on)
        if on:
            self._show()
        self.show_mask_toggled.emit(on)

    def _set_erase(self, erase: bool) -> None:
        self.canvas.erase = erase

    def _show(self) -> None:
        if self.rgb is None:
            return
        shown = self.rgb if self.overlay_box.isChecked() or self.repaired is None \
            else self.repaired
        self.canvas.show_mask = shown is self.rgb
        self.canvas.set_images(_qimage(shown), self.damage)
        marked = 0 if self.damage is None else int((self.damage > 0).sum())
        share = marked / max(1, self.rgb.shape[0] * self.rgb.shape[1])
        self.stats_label.setText(f"{share * 100:.2f}% of the photo marked as damaged")

    def _edited(self) -> None:
        self.damage = self.canvas.damage
        self._save_mask()
        self._show()

    def _save_mask(self) -> None:
        if self.photo is None or self.damage is None:
            return
        self.mask_folder.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha1(os.fsencode(os.path.abspath(self.photo))).hexdigest()[:16]
        where = self.mask_folder / f"{key}.png"
        Image.fromarray(self.damage).save(where)
        self.edited[str(self.photo)] = where

    def repair_now(self) -> None:
        """Repair the photo again with the mask as it is now, and show the result."""
        if not self._load() or self.rgb is None:
            return
        self.repaired = fix_photo(self.rgb, mask=self.damage, tone=self.tone.value() / 100).pixels
        self.overlay_box.setChecked(False)
        self._show()

    # ---- options ----------------------------------------------------------------------------

    def _tone_words(self, value: int) -> None:
        self.tone_label.setText("Off" if value == 0 else f"{value}%")

    def apply(self, options: RestoreOptions) -> RestoreOptions:
        """`options` with this box's choices: repair, tone, and the masks the user edited."""
        masks = tuple((photo, str(mask)) for photo, mask in self.edited.items()
                      if mask.is_file())
        return replace(options, repair=self.repair_box.isChecked(),
                       tone=self.tone.value() / 100, damage_masks=masks)
