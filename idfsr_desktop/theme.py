"""Light and dark palettes, and the few colours that must read on both."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

THEMES = ("system", "light", "dark")

_DARK = {
    QPalette.ColorRole.Window: QColor(37, 38, 41),
    QPalette.ColorRole.WindowText: QColor(228, 229, 231),
    QPalette.ColorRole.Base: QColor(28, 29, 31),
    QPalette.ColorRole.AlternateBase: QColor(44, 45, 49),
    QPalette.ColorRole.ToolTipBase: QColor(50, 51, 55),
    QPalette.ColorRole.ToolTipText: QColor(228, 229, 231),
    QPalette.ColorRole.PlaceholderText: QColor(140, 142, 148),
    QPalette.ColorRole.Text: QColor(228, 229, 231),
    QPalette.ColorRole.Button: QColor(52, 53, 58),
    QPalette.ColorRole.ButtonText: QColor(228, 229, 231),
    QPalette.ColorRole.BrightText: QColor(255, 92, 92),
    QPalette.ColorRole.Light: QColor(70, 71, 76),
    QPalette.ColorRole.Midlight: QColor(60, 61, 66),
    QPalette.ColorRole.Mid: QColor(44, 45, 49),
    QPalette.ColorRole.Dark: QColor(22, 23, 25),
    QPalette.ColorRole.Shadow: QColor(0, 0, 0),
    QPalette.ColorRole.Highlight: QColor(53, 132, 228),
    QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
    QPalette.ColorRole.Link: QColor(110, 170, 255),
    QPalette.ColorRole.LinkVisited: QColor(170, 140, 255),
}


def dark_palette() -> QPalette:
    """A neutral dark palette (disabled text dimmed)."""
    palette = QPalette()
    for role, colour in _DARK.items():
        palette.setColor(role, colour)
    dim = QColor(120, 122, 128)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, dim)
    return palette


def apply_theme(app: QApplication, theme: str) -> None:
    """'system' leaves the platform's look alone; 'light' and 'dark' use Fusion with our palette."""
    if theme == "system":
        return
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if theme == "dark" else app.style().standardPalette())


def is_dark(palette: QPalette) -> bool:
    """Whether text is lighter than the window behind it."""
    return palette.color(QPalette.ColorRole.WindowText).lightness() > \
        palette.color(QPalette.ColorRole.Window).lightness()


def error_colour(palette: QPalette) -> QColor:
    """Red that reads as an error on this palette."""
    return QColor(255, 120, 110) if is_dark(palette) else QColor(186, 32, 32)


def success_colour(palette: QPalette) -> QColor:
    """Green that reads as done/OK on this palette."""
    return QColor(110, 200, 120) if is_dark(palette) else QColor(30, 125, 50)


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved a fraction `t` toward `b` (a tint that works on light and dark palettes)."""
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t,
                           a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


def title_font(widget: QWidget, scale: float = 1.5) -> QFont:
    """The widget's font, bold and `scale` times larger (page titles)."""
    font = QFont(widget.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    return font


def secondary_text(widget: QWidget) -> None:
    """Dim a label's text (details under a title)."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText,
                     blend(palette.color(QPalette.ColorRole.WindowText),
                           palette.color(QPalette.ColorRole.Window), 0.35))
    widget.setPalette(palette)
