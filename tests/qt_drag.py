"""Drag and drop as a file manager does it, for the GUI tests."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote_from_bytes

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def drop(widget: QWidget, paths: list[Path]) -> bool:
    """Drag files from the file manager over `widget` and drop them if it accepts them."""
    mime = QMimeData()
    # As a file manager sends them: file URIs of the name's bytes, percent-encoded (a
    # name that is not UTF-8 survives only this way).
    mime.setUrls([QUrl.fromEncoded(b"file://" + quote_from_bytes(os.fsencode(p)).encode())
                  for p in paths])
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(centre, *args)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(widget, QDropEvent(QPointF(centre), *args))
    return True
