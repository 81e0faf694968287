"""A grid of faces: icon-mode list view, evenly spread columns, multi-selection."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QAbstractItemView, QFrame, QListView, QWidget

from idfsr_desktop.even_grid_view import EvenGridView
from idfsr_desktop.face_item_delegate import FaceItemDelegate
from idfsr_desktop.face_list_model import FaceListModel


class FaceGridView(EvenGridView):
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
        self.fit_on_resize()

    def cell_and_gap(self) -> tuple[QSize, int]:
        cell = self.face_delegate.cell_size(self.fontMetrics())
        return cell, max(2, self.fontMetrics().height() // 4)

    def grid_for(self, cell: QSize, gap: int) -> QSize:
        """A strip keeps its natural cells; a grid spreads its columns evenly."""
        if self._strip:
            return QSize(cell.width() + gap, cell.height())
        return super().grid_for(cell, gap)

    def selected_rows(self) -> list[int]:
        """The selected rows, in order."""
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())
