"""A grid of faces: icon-mode list view, evenly spread columns, multi-selection."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QAbstractItemView, QFrame, QListView, QWidget

from idfsr_desktop.face_item_delegate import FaceItemDelegate
from idfsr_desktop.face_list_model import FaceListModel


class FaceGridView(QListView):
    """Shows a FaceListModel; `strip=True` lays the faces out on one scrolling row."""

    def __init__(self, model: FaceListModel, thumb_size: int, parent: QWidget | None = None, *,
                 captions: bool = False, strip: bool = False) -> None:
        super().__init__(parent)
        self.face_delegate = FaceItemDelegate(thumb_size, self, captions=captions)
        self.setItemDelegate(self.face_delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._strip = strip
        if strip:
            self.setFlow(QListView.Flow.LeftToRight)
            self.setWrapping(False)
            self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            cell = self.face_delegate.cell_size(self.fontMetrics())
            self.setFixedHeight(cell.height() + self.horizontalScrollBar().sizeHint().height()
                                + 2 * self.frameWidth() + 4)
        else:
            self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
            self.verticalScrollBar().setSingleStep(thumb_size // 4)
        self.setModel(model)
        self.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_grid()
        return super().eventFilter(watched, event)

    def _fit_grid(self) -> None:
        """Spread the columns evenly over the width (a strip keeps its natural cells)."""
        cell = self.face_delegate.cell_size(self.fontMetrics())
        gap = max(2, self.fontMetrics().height() // 4)
        if self._strip:
            grid = QSize(cell.width() + gap, cell.height())
        else:
            width = self.viewport().width()
            columns = max(1, width // (cell.width() + gap))
            grid = QSize(max(cell.width() + gap, (width - 1) // columns), cell.height() + gap)
        if grid != self.gridSize():
            self.setGridSize(grid)

    def selected_rows(self) -> list[int]:
        """The selected rows, in order."""
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())
