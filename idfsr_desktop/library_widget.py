"""The Library page: a search box, counts, a filter bar (folder, dates, faces, person, status)
and a virtualised thumbnail grid under year and month headers, newest first, which fills in
while indexing runs; double-click opens a photo in the viewer, the context menu sends photos
to the Restore page."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
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
    QStyle,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.jobs import Progress
from core.library.browse import PhotoFilter, PhotoOrder
from core.library.search import LibrarySearch
from core.library.service import library_status, photo_thumbnail
from idfsr_desktop.empty_state_widget import EmptyStateWidget
from idfsr_desktop.library_filter_widget import LibraryFilterWidget
from idfsr_desktop.library_search_widget import LibrarySearchBox, SearchPeopleWidget
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.photo_item_delegate import PhotoItemDelegate
from idfsr_desktop.photo_list_model import PhotoListModel, PhotoRole
from idfsr_desktop.photo_viewer_dialog import PhotoViewerDialog
from idfsr_desktop.task_runner import TaskRunner
from idfsr_desktop.thumbnail_loader import ThumbnailLoader
from idfsr_desktop.timeline_model import TimelineModel

GROWTH_INTERVAL_S = 0.5  # while indexing, new photos join the grid at most this often
ORDERS = (("Newest first", PhotoOrder.NEWEST), ("Oldest first", PhotoOrder.OLDEST))
THUMB_SIZE = 160  # logical pixels; the thumbnail cache holds 256 px, enough up to ~150 % scale

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
    person_requested = Signal(int)  # a person found by the search, to open

    def __init__(self, ctx: AppContext, runner: TaskRunner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._runner = runner
        self.viewer: PhotoViewerDialog | None = None
        self.editor: PeopleEditor | None = None  # the window's: faces named in the viewer
        self._indexing = False
        self._has_roots = False
        self._counts = ""
        self._grown_at = 0.0  # when the grid last took in photos being indexed
        self._closed = False
        self.thumbnails = ThumbnailLoader(lambda photo: photo_thumbnail(ctx, photo), self)
        self.model = PhotoListModel(ctx, self.thumbnails, self)  # the photos (the viewer's)
        self.timeline = TimelineModel(self.model, self)  # the photos under headers (the grid's)

        self.counts_label = QLabel()
        # A long line may be clipped rather than hold the window wide.
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignRight
                                       | Qt.AlignmentFlag.AlignVCenter)
        self.filters = LibraryFilterWidget(ctx, runner)
        self.filters.changed.connect(self._on_filter_changed)
        self.search_box = LibrarySearchBox(lambda: (self.filters.people, self.filters.folders))
        self.search_box.search_changed.connect(self._on_search)
        self.filters.choices_loaded.connect(self.search_box.search_now)  # renamed people…
        self.search_people = SearchPeopleWidget()
        self.search_people.person_requested.connect(self.person_requested)
        self.order_combo = QComboBox()
        for text, order in ORDERS:
            self.order_combo.addItem(text, order)
        self.order_combo.setAccessibleName("Order")
        self.order_combo.setToolTip("Newest or oldest photos first; photos without a date "
                                    "come last")
        self.order_combo.currentIndexChanged.connect(
            lambda _: self.model.set_order(self.order_combo.currentData()))
        self.model.set_filter(self.filters.photo_filter())  # those of the last session

        self.header = QWidget()
        top_row = QHBoxLayout()
        top_row.setContentsMargins(0, 0, 0, 0)
        top_row.addWidget(self.search_box, 1)
        top_row.addWidget(self.order_combo)
        top_row.addWidget(self.counts_label, 1)
        header_column = QVBoxLayout(self.header)
        header_column.setContentsMargins(0, 0, 0, 0)
        header_column.setSpacing(self.fontMetrics().height() // 3)
        header_column.addLayout(top_row)
        header_column.addWidget(self.filters)
        header_column.addWidget(self.search_people)

        self.view = self._make_view()
        self.view.viewport().installEventFilter(self)  # to spread the columns over the width
        self.view.installEventFilter(self)  # Home and End
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
        view.setWrapping(True)
        view.setSpacing(0)  # the delegate spreads the photos over the width
        view.setLayoutMode(QListView.LayoutMode.Batched)
        view.setBatchSize(256)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setFrameShape(QFrame.Shape.NoFrame)
        view.setMouseTracking(True)
        self.delegate = PhotoItemDelegate(THUMB_SIZE, view)
        view.setItemDelegate(self.delegate)
        view.setModel(self.timeline)
        self.timeline.modelReset.connect(view.scrollToTop)  # other photos: from the top
        view.setAccessibleName("Photos")
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        view.activated.connect(self.open_viewer)  # double-click or Enter
        view.verticalScrollBar().setSingleStep(THUMB_SIZE // 4)
        return view

    @property
    def filter_combo(self) -> QComboBox:
        """The status filter (the last control of the filter bar)."""
        return self.filters.status_combo

    def open_viewer(self, index: QModelIndex) -> PhotoViewerDialog | None:
        """Show the photo at `index` large, with its faces; next/previous walk the grid."""
        if not index.isValid():
            return None
        row = index.row()
        if index.model() is self.timeline:
            source = self.timeline.source_row(row)
            if source is None:
                return None  # a header
            row = source
        if self.viewer is None:
            self.viewer = PhotoViewerDialog(self._ctx, self.model, self._runner, self,
                                            editor=self.editor)
            self.viewer.restore_requested.connect(self.restore_requested)
            self.viewer.row_changed.connect(self._follow_viewer)
        self.viewer.show_row(row)
        self.viewer.show()
        self.viewer.raise_()
        self.viewer.activateWindow()
        return self.viewer

    def view_index(self, row: int) -> QModelIndex:
        """The grid's index of the photo at `row` of `model`."""
        return self.timeline.index(self.timeline.row_of_source(row))

    def _follow_viewer(self, row: int) -> None:
        index = self.view_index(row)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)

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
        elif watched is self.view and isinstance(event, QKeyEvent) \
                and event.type() == QEvent.Type.KeyPress and self._go_to_end(event):
            return True
        return super().eventFilter(watched, event)

    def _go_to_end(self, event: QKeyEvent) -> bool:
        """Home and End go to the first and the last photo: QListView's own stop short of
        them when a header is the first row."""
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier \
                or event.key() not in (Qt.Key.Key_Home, Qt.Key.Key_End):
            return False
        if event.key() == Qt.Key.Key_End:
            self.model.fetch_all()
        rows: Iterable[int] = range(self.timeline.rowCount())
        if event.key() == Qt.Key.Key_End:
            rows = reversed(range(self.timeline.rowCount()))
        row = next((r for r in rows if not self.timeline.is_header(r)), None)
        if row is not None:
            self.view.setCurrentIndex(self.timeline.index(row))
            self.view.scrollTo(self.timeline.index(row))
        return True

    def _fit_grid(self) -> None:
        """Spread the columns evenly over the width, instead of leaving a gap on the right;
        headers span the whole width."""
        cell = self.delegate.cell_size(self.view.fontMetrics())
        gap = max(2, self.view.fontMetrics().height() // 3)
        # The width QListView lays a wrapping flow out in: it keeps room for the vertical
        # scroll bar whether it shows or not (so the layout never flips with it).
        extent = self.view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent,
                                               None, self.view)
        width = self.view.maximumViewportSize().width() - extent
        columns = max(1, width // (cell.width() + gap))
        # One pixel of slack: QListView wraps a row that would end exactly at the edge.
        column = max(cell.width() + gap, (width - 1) // columns)
        sizes = (column, max(1, width - 1), gap)
        if sizes != (self.delegate.column_width, self.delegate.row_width, self.delegate.gap):
            self.delegate.column_width, self.delegate.row_width, self.delegate.gap = sizes
            self.view.doItemsLayout()

    @property
    def status_filter(self) -> str | None:
        """The status the grid shows (None: all)."""
        return self.model.status_filter

    def refresh(self) -> None:
        """Re-read counts and rows from the DB (after indexing, adding a folder…)."""
        status = library_status(self._ctx)
        self._has_roots = bool(status["roots"])
        self._counts = counts_text(status)
        dpr = self.devicePixelRatioF()
        side = round(THUMB_SIZE * dpr)
        self.model.thumbnail_size = QSize(side, side)
        self.model.reload()
        self.filters.refresh_choices()
        self._update_page()

    def set_indexing(self, indexing: bool) -> None:
        """Tell the page whether indexing runs (it words an empty grid accordingly)."""
        self._indexing = indexing
        self._update_page()

    def on_index_progress(self, report: Progress) -> None:
        """Indexing read more photos: take in those written since, in place (at most every
        GROWTH_INTERVAL_S), without moving the view. Changed photos wait for the refresh
        at the end."""
        if report.stage != "indexing" or report.done == 0 or self._closed:
            return  # closed: a late report, the DB may be gone
        now = time.monotonic()
        if now - self._grown_at < GROWTH_INTERVAL_S:
            return
        self._grown_at = now
        self._counts = counts_text(library_status(self._ctx))
        self.model.take_new()
        self._update_page()

    def focus_search(self) -> None:
        """Put the cursor in the search box, its words selected (Ctrl+F)."""
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def photo_filter(self) -> PhotoFilter:
        """What the grid shows: the filter bar's choices and the search's words."""
        found = self.search_box.found
        return replace(self.filters.photo_filter(), search=found.terms if found else ())

    def _on_search(self, found: LibrarySearch | None) -> None:
        self.search_people.show_people(found.people if found else ())
        self._on_filter_changed(self.photo_filter())

    def is_idle(self) -> bool:
        """Whether no thumbnail is queued or loading."""
        return self.thumbnails.is_idle()

    def shutdown(self) -> None:
        """Stop loading thumbnails (the window is closing)."""
        self._closed = True
        self.thumbnails.shutdown()

    def _on_filter_changed(self, _: PhotoFilter) -> None:
        self.model.set_filter(self.photo_filter())
        self._update_page()

    def _update_page(self) -> None:
        self.header.setVisible(self._has_roots)
        shown = ""
        if self.model.photo_filter.narrows:  # rows are fetched in windows: "200+" until all are
            more = "+" if self.model.canFetchMore() else ""
            shown = f" · {self.model.rowCount():,}{more} shown"
        self.counts_label.setText(self._counts + shown)
        if not self._has_roots:
            self.empty_state.show_message(
                "Your library is empty",
                "Add a folder of photos to begin. Originals are only read, never changed.",
                primary="Add a folder…", secondary="Open the demo library")
        elif self.model.rowCount() > 0:
            self.pages.setCurrentWidget(self.view)
            return
        elif self._indexing and not self.model.photo_filter.narrows:
            self.empty_state.show_message("Looking for photos…",
                                          "They appear here as they are read.")
        elif self.model.photo_filter.search and self.search_people.buttons:
            self.empty_state.show_message(f"No photos match “{self.search_box.found.text}”"
                                          if self.search_box.found else "No photos match",
                                          "The people found are listed above.")
        elif self.model.photo_filter.search:
            self.empty_state.show_message(
                f"Nothing matches “{self.search_box.found.text}”" if self.search_box.found
                else "Nothing matches",
                "Try a person's name, a folder's name, a year or a month (“march 2019”).")
        elif self.model.photo_filter == PhotoFilter(status=self.status_filter) \
                and self.status_filter is not None:
            self.empty_state.show_message(f"No {_FILTER_NOUNS[self.status_filter]}")
        elif self.model.photo_filter.narrows:
            self.empty_state.show_message("No photos match the filters",
                                          "Change them above, or click Clear.")
        else:
            self.empty_state.show_message(
                "No photos found", "The library folders hold no photos yet, or they have not "
                "been indexed: choose File ▸ Index Now.")
        self.pages.setCurrentWidget(self.empty_state)
