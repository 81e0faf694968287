"""An icon-mode list view whose columns spread evenly over its width as it resizes."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtWidgets import QListView


class EvenGridView(QListView):
    """Refits its grid whenever the viewport resizes; subclasses give the cell and the gap."""

    def cell_and_gap(self) -> tuple[QSize, int]:
        """One item's cell and the space kept between cells."""
        raise NotImplementedError

    def grid_for(self, cell: QSize, gap: int) -> QSize:
        """As many columns as fit, widened to share what is left, instead of a gap on the right."""
        width = self.viewport().width()
        columns = max(1, width // (cell.width() + gap))
        return QSize(max(cell.width() + gap, (width - 1) // columns), cell.height() + gap)

    def fit_on_resize(self) -> None:
        """Start refitting the grid as the view resizes (call once the view is set up)."""
        self.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.viewport() and event.type() == QEvent.Type.Resize:
            grid = self.grid_for(*self.cell_and_gap())
            if grid != self.gridSize():
                self.setGridSize(grid)
        return super().eventFilter(watched, event)
