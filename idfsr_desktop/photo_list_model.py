"""The library's photos as a Qt list model, fetched from core in windows as the view scrolls;
a refresh changes only the rows that changed (photos indexed meanwhile appear in place)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from difflib import SequenceMatcher
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)

from core.context import AppContext
from core.library.browse import (
    PhotoFilter,
    PhotoOrder,
    filtered_photos,
    new_photos,
    newest_photo_id,
    order_key,
)
from core.library.service import PhotoInfo
from idfsr_desktop.thumbnail_loader import ThumbnailLoader

FETCH_BATCH = 200

PhotoRole = Qt.ItemDataRole.UserRole + 1  # the row's PhotoInfo
StatusRole = Qt.ItemDataRole.UserRole + 2  # "ok" / "error" / "missing"
ThumbnailUnavailableRole = Qt.ItemDataRole.UserRole + 3  # True once no thumbnail can come

AnyIndex = QModelIndex | QPersistentModelIndex

_STATUS_WORDS = {"error": "Unreadable", "missing": "Missing"}


def photo_tooltip(photo: PhotoInfo) -> str:
    """What hovering a photo says: its path, and why it cannot be shown when it cannot."""
    lines = [photo.path]
    if photo.status == "error":
        lines.append(f"Unreadable: {photo.error or 'unknown reason'}")
    elif photo.status == "missing":
        lines.append(f"Missing: {photo.error or 'file no longer on disk'}")
    elif photo.width and photo.height:
        lines.append(f"{photo.width} × {photo.height}" + (f" · {photo.format}" if photo.format
                                                          else ""))
    return "\n".join(lines)


def apply_diff(old: list[Any], new: list[Any], remove: Callable[[int, int], None],
               insert: Callable[[int, int, int], None]) -> None:
    """Turn a list of keys `old` into `new` by remove(first, last) of rows and
    insert(at, start, end) of new[start:end], from the end so earlier rows stay put."""
    codes = SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(codes):
        if tag in ("delete", "replace"):
            remove(i1, i2 - 1)
        if tag in ("insert", "replace"):
            insert(i1, j1, j2)


def _key(photo: PhotoInfo) -> tuple[int, object]:
    """What identifies a row for a refresh: a new capture date moves the photo."""
    return photo.id, photo.captured_at


class PhotoListModel(QAbstractListModel):
    """Rows are PhotoInfo in `order` (newest first), those a PhotoFilter lets through;
    thumbnails load lazily."""

    rows_settled = Signal()  # a refresh's inserts and removals are all done

    def __init__(
        self, ctx: AppContext, thumbnails: ThumbnailLoader, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._thumbnails = thumbnails
        self._filter = PhotoFilter()
        self._photos: list[PhotoInfo] = []
        self._row_of_key: dict[str, list[int]] = {}
        self._exhausted = False
        self.order = PhotoOrder.NEWEST
        self.settling = False  # True while a refresh inserts and removes runs of rows
        self._changed = False  # rows were inserted or removed while settling
        self._ids: set[int] = set()
        self._newest_id = 0  # the library's newest photo when the rows were last read
        self.thumbnail_size = QSize(256, 256)  # device pixels; the view sets it
        thumbnails.thumbnail_ready.connect(self._on_thumbnail_ready)

    @property
    def status_filter(self) -> str | None:
        """The status shown (None: every photo)."""
        return self._filter.status

    @property
    def photo_filter(self) -> PhotoFilter:
        """Which photos are shown."""
        return self._filter

    def set_status_filter(self, status: str | None) -> None:
        """Show only photos of this status (None: all) and start again from the top."""
        self.set_filter(replace(self._filter, status=status))

    def set_filter(self, where: PhotoFilter) -> None:
        """Show only the photos this filter lets through: from the top, unless the filter
        lets the same photos through as before (then nothing moves)."""
        if where != self._filter:
            self._filter = where
            self._load(keep_view=False)

    def set_order(self, order: PhotoOrder) -> None:
        """List the photos in this order, from the top."""
        if order != self.order:
            self.order = order
            self._load(keep_view=False)

    def reload(self) -> None:
        """Read the fetched rows again: photos added, changed or removed meanwhile are
        inserted, updated or removed in place, so the view keeps its position."""
        self._load(keep_view=True)

    def take_new(self) -> int:
        """Insert the photos added to the library since the rows were read (indexing runs),
        each in its place among the fetched rows; cheap however many rows are fetched.
        Changed photos wait for `reload`. Returns how many rows came in."""
        added, self._newest_id = new_photos(self._ctx, self._filter, self._newest_id,
                                            self.order)
        added = [p for p in added if p.id not in self._ids]
        if not added:
            return 0

        def key(photo: PhotoInfo) -> tuple[object, ...]:
            return order_key(photo, self.order)

        taken = 0
        with self._settling():
            for photo in added:
                row = bisect.bisect_right(self._photos, key(photo), key=key)
                if row == len(self._photos) and not self._exhausted:
                    continue  # past the fetched windows: it comes with the next one
                self._insert_rows(row, [photo])
                taken += 1
        return taken

    @contextmanager
    def _settling(self) -> Iterator[None]:
        """Many runs of rows inserted and removed: the lookups are rebuilt and the models
        over this one follow once, at the end."""
        self._changed = False
        self.settling = True
        try:
            yield
        finally:
            self.settling = False
            self._index_keys()
        if self._changed:
            self.rows_settled.emit()

    def _load(self, *, keep_view: bool) -> None:
        # As many rows as were fetched (whole windows), so a long scroll is not cut short.
        wanted = max(1, math.ceil(len(self._photos) / FETCH_BATCH)) * FETCH_BATCH
        self._newest_id = newest_photo_id(self._ctx)  # before reading: none slips between
        fresh = self.fetch(0, wanted)
        self._exhausted = len(fresh) < wanted
        old, new = [_key(p) for p in self._photos], [_key(p) for p in fresh]
        if old == new or keep_view:
            with self._settling():
                apply_diff(old, new, self._remove_rows,
                           lambda at, start, end: self._insert_rows(at, fresh[start:end]))
            self._update_rows(fresh)
        else:
            self.beginResetModel()
            self._photos = fresh
            self._index_keys()
            self.endResetModel()

    def _remove_rows(self, first: int, last: int) -> None:
        self.beginRemoveRows(QModelIndex(), first, last)
        del self._photos[first:last + 1]
        self._changed = True
        if not self.settling:
            self._index_keys()
        self.endRemoveRows()

    def _insert_rows(self, first: int, photos: list[PhotoInfo]) -> None:
        self.beginInsertRows(QModelIndex(), first, first + len(photos) - 1)
        self._photos[first:first] = photos
        self._changed = True
        if not self.settling:
            self._index_keys()
        self.endInsertRows()

    def _update_rows(self, fresh: list[PhotoInfo]) -> None:
        """Take the new facts of photos that stayed (a status, a size), row by row."""
        for row, photo in enumerate(fresh):
            if self._photos[row] != photo:
                self._photos[row] = photo
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def _index_keys(self) -> None:
        self._row_of_key = {}
        self._ids = {photo.id for photo in self._photos}
        for row, photo in enumerate(self._photos):
            if photo.content_hash:
                self._row_of_key.setdefault(photo.content_hash, []).append(row)

    def photo(self, row: int) -> PhotoInfo:
        """The photo at a row."""
        return self._photos[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._photos)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        batch = self.fetch(len(self._photos), FETCH_BATCH)
        if len(batch) < FETCH_BATCH:
            self._exhausted = True
        # Photos indexed since the last window shift the offsets: a photo met twice is left
        # out here, one skipped comes in place with the next reload.
        batch = [p for p in batch if p.id not in self._ids]
        if not batch:
            return
        first = len(self._photos)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        for row, photo in enumerate(batch, start=first):
            self._photos.append(photo)
            self._ids.add(photo.id)
            if photo.content_hash:
                self._row_of_key.setdefault(photo.content_hash, []).append(row)
        self.endInsertRows()

    def fetch(self, offset: int, limit: int) -> list[PhotoInfo]:
        """One window of rows (a model of other photos replaces this)."""
        return filtered_photos(self._ctx, self._filter, offset=offset, limit=limit,
                               order=self.order)

    def fetch_all(self) -> None:
        """Fetch every remaining window (small libraries, tests)."""
        while self.canFetchMore():
            self.fetchMore()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._photos):
            return None
        photo = self._photos[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return PurePath(photo.path).name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnails.pixmap(photo, self.thumbnail_size)
        if role == Qt.ItemDataRole.ToolTipRole:
            return photo_tooltip(photo)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return _STATUS_WORDS.get(photo.status, "")
        if role == PhotoRole:
            return photo
        if role == StatusRole:
            return photo.status
        if role == ThumbnailUnavailableRole:
            return self._thumbnails.is_unavailable(photo)
        return None

    def _on_thumbnail_ready(self, key: str) -> None:
        for row in self._row_of_key.get(key, ()):
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
