"""A centred message with up to two actions, shown where a page has nothing to show yet."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyStateWidget(QWidget):
    """Title, explanation and buttons, centred; buttons whose text is empty are hidden."""

    primary_clicked = Signal()
    secondary_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.5)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.title.setWordWrap(True)
        self.body = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.primary = QPushButton()
        self.primary.setDefault(True)
        self.secondary = QPushButton()
        self.primary.clicked.connect(self.primary_clicked)
        self.secondary.clicked.connect(self.secondary_clicked)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.primary)
        buttons.addWidget(self.secondary)
        buttons.addStretch(1)

        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(self.title)
        column.addWidget(self.body)
        column.addSpacing(self.fontMetrics().height())
        column.addLayout(buttons)
        column.addStretch(2)  # sit a little above the middle, where the eye expects it

        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column, 4)
        outer.addStretch(1)

    def show_message(self, title: str, body: str = "", primary: str = "",
                     secondary: str = "") -> None:
        """Set the texts; a button with no text is hidden."""
        self.title.setText(title)
        self.body.setText(body)
        self.body.setVisible(bool(body))
        for button, text in ((self.primary, primary), (self.secondary, secondary)):
            button.setText(text)
            button.setVisible(bool(text))
