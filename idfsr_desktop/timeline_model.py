"""The photo grid's rows: the photos of a PhotoListModel under year and month headers ("2019",
"March 2019", "No date"). Headers are rows the delegate paints across the whole width; they
cannot be selected. Changes of the photos arrive as inserted and removed rows, so the view's
scroll position and selection survive a refresh."""

from __future__ import annotations

from calendar import month_name
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from core.library.browse import timeline_month
from idfsr_desktop.photo_list_model import PhotoListModel, apply_diff

HeaderRole = Qt.ItemDataRole.UserRole + 20  # "year" or "month" on a header row, else None

AnyIndex = QModelIndex | QPersistentModelIndex
Key = tuple[Any, ...]  # ("year", 2019) / ("month", 2019, 3) / ("undated",) / ("photo", id)


def header_text(key: Key) -> str:
    """What a header row says."""
    if key[0] == "year":
        return str(key[1])
    if key[0] == "month":
        return f"{month_name[key[2]]} {key[1]}"
    return "No date"


class TimelineModel(QAbstractListModel):
    """A flat list model over `photos` with a header row before every new year and month."""

    def __init__(self, photos: PhotoListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.photos = photos
        self._keys: list[Key] = []
        # Per row the photo model's row (None for a header), and per photo its row: built
        # when first asked for after a change (a refresh inserts many runs at once).
        self._map: tuple[list[int | None], list[int]] | None = None
        self.headers_shown = True
        photos.modelReset.connect(self._reset)
        photos.rowsInserted.connect(self._sync_unless_settling)
        photos.rowsRemoved.connect(self._sync_unless_settling)
        photos.rows_settled.connect(self._sync)
        photos.dataChanged.connect(self._on_data_changed)
        self._rebuild()

    # ---- mapping ----------------------------------------------------------------------

    def _wanted(self, first: int = 0) -> list[Key]:
        """The rows for the photos from source row `first` on (after the header that the
        photo before it is under)."""
        keys: list[Key] = []
        last: Any = False if first == 0 else timeline_month(self.photos.photo(first - 1))
        for row in range(first, self.photos.rowCount()):
            photo = self.photos.photo(row)
            if self.headers_shown:
                month = timeline_month(photo)
                if month != last:
                    if month is None:
                        keys.append(("undated",))
                    else:
                        if last is False or last is None or last[0] != month[0]:
                            keys.append(("year", month[0]))
                        keys.append(("month", *month))
                    last = month
            keys.append(("photo", photo.id))
        return keys

    def _rebuild(self) -> None:
        self._keys = self._wanted()
        self._map = None

    def _mapping(self) -> tuple[list[int | None], list[int]]:
        if self._map is None:
            source_row: list[int | None] = []
            row_of_source: list[int] = []
            for row, key in enumerate(self._keys):
                if key[0] == "photo":
                    source_row.append(len(row_of_source))
                    row_of_source.append(row)
                else:
                    source_row.append(None)
            self._map = source_row, row_of_source
        return self._map

    def _reset(self) -> None:
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def _sync_unless_settling(self, _parent: object = None, first: int = -1,
                              _last: int = -1) -> None:
        if self.photos.settling:  # a refresh's many runs: once, when it has settled
            return
        if first == len(self._mapping()[1]) and self.photos.rowCount() > first:
            self._append(first)  # the next window, fetched as the view scrolls
        else:
            self._sync()

    def _append(self, first: int) -> None:
        """Rows for the photos appended from source row `first` on: no diff of every row."""
        keys = self._wanted(first)
        at = len(self._keys)
        self.beginInsertRows(QModelIndex(), at, at + len(keys) - 1)
        source_row, row_of_source = self._mapping()
        for key in keys:
            if key[0] == "photo":
                source_row.append(len(row_of_source))
                row_of_source.append(len(self._keys))
            else:
                source_row.append(None)
            self._keys.append(key)
        self.endInsertRows()

    def _sync(self, *_: object) -> None:
        """Bring the rows in line with the photos by inserting and removing rows."""

        def remove(first: int, last: int) -> None:
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._keys[first:last + 1]
            self._map = None
            self.endRemoveRows()

        def insert(at: int, start: int, end: int) -> None:
            self.beginInsertRows(QModelIndex(), at, at + end - start - 1)
            self._keys[at:at] = wanted[start:end]
            self._map = None
            self.endInsertRows()

        wanted = self._wanted()
        apply_diff(list(self._keys), wanted, remove, insert)

    def set_headers_shown(self, shown: bool) -> None:
        """Show the year and month headers, or only the photos (path order)."""
        if shown != self.headers_shown:
            self.headers_shown = shown
            self._reset()

    def source_row(self, row: int) -> int | None:
        """The photo model's row shown at `row` (None for a header)."""
        source_row = self._mapping()[0]
        return source_row[row] if 0 <= row < len(source_row) else None

    def row_of_source(self, source_row: int) -> int:
        """The row showing the photo model's `source_row`."""
        return self._mapping()[1][source_row]

    def is_header(self, row: int) -> bool:
        """Whether `row` is a year, month or no-date header."""
        return 0 <= row < len(self._keys) and self._keys[row][0] != "photo"

    def headers(self) -> list[str]:
        """Every header's text, top to bottom."""
        return [header_text(k) for k in self._keys if k[0] != "photo"]

    # ---- Qt -----------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._keys)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.photos.canFetchMore()

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not parent.isValid():
            self.photos.fetchMore()

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid() or self.is_header(index.row()):
            return Qt.ItemFlag.NoItemFlags  # a header is no photo: neither selected nor current
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._keys):
            return None
        key = self._keys[index.row()]
        if key[0] == "photo":
            source = self._mapping()[0][index.row()]
            return self.photos.data(self.photos.index(source or 0), role)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return header_text(key)
        if role == HeaderRole:
            return "year" if key[0] == "year" else "month"
        return None

    def _on_data_changed(self, first: QModelIndex, last: QModelIndex,
                         roles: list[int] | None = None) -> None:
        row_of_source = self._mapping()[1]
        if last.row() >= len(row_of_source):
            return
        top = self.index(row_of_source[first.row()])
        bottom = self.index(row_of_source[last.row()])
        self.dataChanged.emit(top, bottom, roles or [])
