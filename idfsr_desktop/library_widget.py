"""The Library page: counts, a status filter and a virtualised thumbnail grid of every photo;
its context menu sends photos to the Restore page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.library.service import library_status, photo_thumbnail
from idfsr_desktop.empty_state_widget import EmptyStateWidget
from idfsr_desktop.photo_item_delegate import PhotoItemDelegate
from idfsr_desktop.photo_list_model import PhotoListModel, PhotoRole
from idfsr_desktop.thumbnail_loader import ThumbnailLoader

THUMB_SIZE = 160  # logical pixels; the thumbnail cache holds 256 px, enough up to ~150 % scale

FILTERS: tuple[tuple[str, str | None], ...] = (
    ("All", None),
    ("Unreadable", "error"),
    ("Missing", "missing"),
)
_FILTER_NOUNS = {"error": "unreadable photos", "missing": "missing photos"}


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def counts_text(status: dict) -> str:
    """The header line: photos, folders and problems, from `library_status`."""
    photos = status["photos"]
    parts = [f"{_plural(photos['total'], 'photo')} in {_plural(len(status['roots']), 'folder')}"]
    if photos["error"]:
        parts.append(f"{photos['error']:,} unreadable")
    if photos["missing"]:
        parts.append(f"{photos['missing']:,} missing")
    return " · ".join(parts)


class LibraryWidget(QWidget):
    """Shows the library; asks the window (by signal) to add folders or open the demo."""

    add_folder_requested = Signal()
    open_demo_requested = Signal()
    restore_requested = Signal(list)  # [Path]: photos to restore

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._indexing = False
        self._has_roots = False
        self.thumbnails = ThumbnailLoader(lambda photo: photo_thumbnail(ctx, photo), self)
        self.model = PhotoListModel(ctx, self.thumbnails, self)

        self.counts_label = QLabel()
        # A long line may be clipped rather than hold the window wide.
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.filter_combo = QComboBox()
        for text, status in FILTERS:
            self.filter_combo.addItem(text, status)
        self.filter_combo.setToolTip("Show only the photos with this status")
        self.filter_combo.currentIndexChanged.connect(self._on_filter_changed)
        filter_label = QLabel("&Show:")
        filter_label.setBuddy(self.filter_combo)

        self.header = QWidget()
        header_row = QHBoxLayout(self.header)
        header_row.setContentsMargins(0, 0, 0, 0)
        header_row.addWidget(self.counts_label, 1)
        header_row.addWidget(filter_label)
        header_row.addWidget(self.filter_combo)

        self.view = self._make_view()
        self.empty_state = EmptyStateWidget()
        self.empty_state.primary_clicked.connect(self.add_folder_requested)
        self.empty_state.secondary_clicked.connect(self.open_demo_requested)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.view)
        self.pages.addWidget(self.empty_state)

        layout = QVBoxLayout(self)
        spacing = self.fontMetrics().height() // 2
        layout.setContentsMargins(spacing * 2, spacing * 2, spacing * 2, spacing)
        layout.setSpacing(spacing)
        layout.addWidget(self.header)
        layout.addWidget(self.pages, 1)

    def _make_view(self) -> QListView:
        view = QListView()
        view.setViewMode(QListView.ViewMode.IconMode)
        view.setMovement(QListView.Movement.Static)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setUniformItemSizes(True)  # the layout never asks every row for its size
        view.setLayoutMode(QListView.LayoutMode.Batched)
        view.setBatchSize(256)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setFrameShape(QFrame.Shape.NoFrame)
        view.setMouseTracking(True)
        self.delegate = PhotoItemDelegate(THUMB_SIZE, view)
        view.setItemDelegate(self.delegate)
        view.viewport().installEventFilter(self)  # to spread the columns over the width
        view.setModel(self.model)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        view.verticalScrollBar().setSingleStep(THUMB_SIZE // 4)
        return view

    def selected_paths(self) -> list[Path]:
        """The selected photos that can be read (not missing, not unreadable)."""
        infos = [i.data(PhotoRole) for i in self.view.selectionModel().selectedIndexes()]
        return [Path(info.path) for info in infos if info is not None and info.status == "ok"]

    def _context_menu(self, pos: QPoint) -> QMenu | None:
        paths = self.selected_paths()
        if not paths:
            return None
        menu = QMenu(self)
        text = "Restore This Photo" if len(paths) == 1 else f"Restore {len(paths):,} Photos"
        menu.addAction(text, lambda: self.restore_requested.emit(paths))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.viewport().mapToGlobal(pos))
        return menu

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_grid()
        return super().eventFilter(watched, event)

    def _fit_grid(self) -> None:
        """Spread the columns evenly over the width, instead of leaving a gap on the right."""
        cell = self.delegate.cell_size(self.view.fontMetrics())
        gap = max(2, self.view.fontMetrics().height() // 3)
        width = self.view.viewport().width()
        columns = max(1, width // (cell.width() + gap))
        # One pixel of slack: QListView wraps a row that would end exactly at the edge.
        grid = QSize(max(cell.width() + gap, (width - 1) // columns), cell.height() + gap)
        if grid != self.view.gridSize():
            self.view.setGridSize(grid)

    @property
    def status_filter(self) -> str | None:
        """The status the grid shows (None: all)."""
        return self.model.status_filter

    def refresh(self) -> None:
        """Re-read counts and rows from the DB (after indexing, adding a folder…)."""
        status = library_status(self._ctx)
        self._has_roots = bool(status["roots"])
        self.counts_label.setText(counts_text(status))
        dpr = self.devicePixelRatioF()
        side = round(THUMB_SIZE * dpr)
        self.model.thumbnail_size = QSize(side, side)
        self.model.reload()
        self._update_page()

    def set_indexing(self, indexing: bool) -> None:
        """Tell the page whether indexing runs (it words an empty grid accordingly)."""
        self._indexing = indexing
        self._update_page()

    def is_idle(self) -> bool:
        """Whether no thumbnail is queued or loading."""
        return self.thumbnails.is_idle()

    def shutdown(self) -> None:
        """Stop loading thumbnails (the window is closing)."""
        self.thumbnails.shutdown()

    def _on_filter_changed(self, _: int) -> None:
        self.model.set_status_filter(self.filter_combo.currentData())
        self._update_page()

    def _update_page(self) -> None:
        self.header.setVisible(self._has_roots)
        if not self._has_roots:
            self.empty_state.show_message(
                "Your library is empty",
                "Add a folder of photos to begin. Originals are only read, never changed.",
                primary="Add a folder…", secondary="Open the demo library")
        elif self.model.rowCount() > 0:
            self.pages.setCurrentWidget(self.view)
            return
        elif self._indexing:
            self.empty_state.show_message("Looking for photos…",
                                          "They appear here when indexing finishes.")
        elif self.status_filter is not None:
            self.empty_state.show_message(f"No {_FILTER_NOUNS[self.status_filter]}")
        else:
            self.empty_state.show_message(
                "No photos found", "The library folders hold no photos yet, or they have not "
                "been indexed: choose File ▸ Index Now.")
        self.pages.setCurrentWidget(self.empty_state)
