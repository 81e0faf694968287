"""A layout that places its items left to right and wraps them onto further rows when the
width runs out (Qt has none built in), so a bar of controls fits a narrow window or a large
font instead of being clipped."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLayout,
    QLayoutItem,
    QSizePolicy,
    QStyle,
    QWidget,
)


class FlowLayout(QLayout):
    """Items at their size hint in rows; a row ends where the next item would not fit. Items
    of a row are centred vertically on it; an item wider than the whole width is narrowed to
    it (it never sticks out)."""

    def __init__(self, parent: QWidget | None = None, *, h_spacing: int = -1,
                 v_spacing: int = -1) -> None:
        """`h_spacing`/`v_spacing`: gaps between items and rows (-1: the style's)."""
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._h_spacing = h_spacing
        self._v_spacing = v_spacing

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), place=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, place=True)

    def sizeHint(self) -> QSize:
        """Everything on one row."""
        items = self._visible()
        width = self.horizontal_spacing() * max(0, len(items) - 1)
        height = 0
        for item in items:
            hint = item.sizeHint()
            width += hint.width()
            height = max(height, hint.height())
        return self._grow(QSize(width, height))

    def minimumSize(self) -> QSize:
        """As narrow as the widest item: every other one can go onto a row of its own."""
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        return self._grow(size)

    def horizontal_spacing(self) -> int:
        """The gap between two items of a row."""
        return self._spacing(self._h_spacing, Qt.Orientation.Horizontal)

    def vertical_spacing(self) -> int:
        """The gap between two rows."""
        return self._spacing(self._v_spacing, Qt.Orientation.Vertical)

    def _spacing(self, wanted: int, orientation: Qt.Orientation) -> int:
        if wanted >= 0:
            return wanted
        parent = self.parentWidget()
        if parent is None:
            return 6
        style = parent.style()
        metric = (QStyle.PixelMetric.PM_LayoutHorizontalSpacing
                  if orientation == Qt.Orientation.Horizontal
                  else QStyle.PixelMetric.PM_LayoutVerticalSpacing)
        value = style.pixelMetric(metric, None, parent)
        if value < 0:  # a style that spaces controls pairwise: the gap between two buttons
            button = QSizePolicy.ControlType.PushButton
            value = style.layoutSpacing(button, button, orientation, None, parent)
        return max(0, value)

    def _visible(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _grow(self, size: QSize) -> QSize:
        margins: QMargins = self.contentsMargins()
        return QSize(size.width() + margins.left() + margins.right(),
                     size.height() + margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, place: bool) -> int:
        """Lay the items out in `rect` (only measure unless `place`); the height used."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        h_gap, v_gap = self.horizontal_spacing(), self.vertical_spacing()
        rows: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        x = 0
        for item in self._visible():
            hint = item.sizeHint().boundedTo(item.maximumSize()).expandedTo(item.minimumSize())
            size = QSize(min(hint.width(), max(0, area.width())), hint.height())
            if rows[-1] and x + h_gap + size.width() > area.width():
                rows.append([])
                x = 0
            x += (h_gap if rows[-1] else 0) + size.width()
            rows[-1].append((item, size))
        y = area.y()
        for row in rows:
            if not row:
                continue
            height = max(size.height() for _, size in row)
            x = area.x()
            for item, size in row:
                if place:
                    item.setGeometry(QRect(QPoint(x, y + (height - size.height()) // 2), size))
                x += size.width() + h_gap
            y += height + v_gap
        used = y - v_gap - area.y() if any(rows) else 0
        return used + margins.top() + margins.bottom()


def flow_row(*widgets: QWidget) -> QWidget:
    """A widget holding `widgets` side by side, to be kept together on one row of a flow
    (a label and its field)."""
    group = QWidget()
    row = QHBoxLayout(group)
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    group.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return group
