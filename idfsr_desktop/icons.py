"""Bundled SVG icons, monochrome ones tinted with the palette so they suit light and dark themes."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from core.errors import IdfsrError
from core.resources import resource_path

ICON_SIZES = (16, 20, 24, 32, 40, 48, 64)  # enough for 100 % to 200 % scaling


def icon_file(name: str) -> str | None:
    """Path of `resources/icons/<name>.svg`, or None if the installation lacks it."""
    try:
        return str(resource_path("icons", f"{name}.svg"))
    except IdfsrError:
        return None


def app_icon() -> QIcon:
    """The application's own (coloured) icon."""
    path = icon_file("idfsr")
    return QIcon(path) if path else QIcon()


def _tinted_pixmap(renderer: QSvgRenderer, side: int, colour: QColor) -> QPixmap:
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, side, side))
    # Keep the drawing's alpha, replace its colour.
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(image.rect(), colour)
    painter.end()
    return QPixmap.fromImage(image)


def tinted_icon(name: str, colour: QColor, selected: QColor | None = None) -> QIcon:
    """A monochrome SVG icon drawn in `colour` (and `selected` when its item is selected)."""
    path = icon_file(name)
    if path is None:
        return QIcon()
    renderer = QSvgRenderer(path)
    icon = QIcon()
    for side in ICON_SIZES:
        icon.addPixmap(_tinted_pixmap(renderer, side, colour), QIcon.Mode.Normal)
        if selected is not None:
            icon.addPixmap(_tinted_pixmap(renderer, side, selected), QIcon.Mode.Selected)
    return icon
