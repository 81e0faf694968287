"""The Restore page's whole-photo box: the damage mask shown over the photo, painted with a
brush, repaired again with the edited mask, and handed to the restore run."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot

from core.restore.damage_synth import paint_damage
from core.restore.options import RestoreOptions
from idfsr_desktop.damage_mask_widget import DamageRepairBox


def _photo(folder: Path) -> Path:
    y = np.linspace(60, 200, 120, dtype=np.float32)[:, None, None]
    clean = np.broadcast_to(y * np.array([1.0, 0.9, 0.8]), (120, 160, 3)).astype(np.uint8)
    path = folder / "old.png"
    Image.fromarray(paint_damage(np.ascontiguousarray(clean), seed=2, cracks=0, spots=1,
                                 dust=10).damaged).save(path)
    return path


def _widget_point(box: DamageRepairBox, x: float, y: float) -> QPoint:
    target = box.canvas._target()
    scale = target.width() / box.canvas.image.width()
    return QPointF(target.x() + x * scale, target.y() + y * scale).toPoint()


def test_painting_the_mask_changes_it_and_the_repair_uses_it(qtbot: QtBot,
                                                             tmp_path: Path) -> None:
    photo = _photo(tmp_path)
    box = DamageRepairBox(tmp_path / "masks", 10_000_000)
    qtbot.addWidget(box)
    qtbot.addWidget(box.canvas)
    box.canvas.resize(320, 240)
    box.canvas.show()
    box.set_photo(photo)
    with qtbot.waitSignal(box.show_mask_toggled):
        box.mask_button.click()
    assert box.damage is not None and box.damage.shape == (120, 160)
    detected = int((box.damage > 0).sum())
    assert detected > 0 and not box.brush_tools.isHidden()

    # A stroke across the clean middle of the photo adds to the mask.
    before = box.damage.copy()
    start, end = _widget_point(box, 40, 60), _widget_point(box, 120, 60)
    qtbot.mousePress(box.canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(box.canvas, pos=_widget_point(box, 80, 60))
    qtbot.mouseRelease(box.canvas, Qt.MouseButton.LeftButton, pos=end)
    assert box.damage[60, 40:121].all() and int((box.damage > 0).sum()) > detected
    added = (box.damage > 0) & (before == 0)
    assert added[55:66, 36:125].sum() == added.sum()  # only where the brush went

    # The repair runs again with the edited mask: the stroke's pixels change, no others.
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    box.tone.setValue(0)
    box.repair_now()
    assert box.repaired is not None
    changed = np.any(box.repaired != rgb, axis=2)
    assert not (changed & (box.damage == 0)).any()
    assert changed[57:64, 40:121].any()
    assert not box.overlay_box.isChecked()  # the preview is what the canvas shows now

    # Erasing takes it out again.
    box.erase_button.click()
    qtbot.mousePress(box.canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseRelease(box.canvas, Qt.MouseButton.LeftButton, pos=end)
    assert not box.damage[60, 44:117].any()

    # A restore run takes the edited mask and the box's choices.
    options = box.apply(RestoreOptions(steps=3))
    assert options.steps == 3 and options.repair and options.tone == 0.0
    ((where, mask_file),) = options.damage_masks
    assert where == str(photo)
    saved = np.asarray(Image.open(mask_file))
    assert np.array_equal(saved, box.damage)
    box.repair_box.setChecked(False)
    assert not box.apply(RestoreOptions()).repair and not box.mask_button.isEnabled()
    assert cv2.countNonZero(saved) == int((box.damage > 0).sum())
