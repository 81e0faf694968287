"""Faces as a Qt list model: a person's, the unassigned ones, or suggestions with a score.

Rows come from a pager (a core query by offset and limit) in windows as the view
scrolls; face thumbnails load lazily through a ThumbnailLoader keyed by face id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
)

from core.context import AppContext
from core.errors import IdfsrError
from core.faces.service import FaceInfo, face_thumbnail
from core.fsutil import display_path
from idfsr_desktop.thumbnail_loader import ThumbnailLoader

log = logging.getLogger(__name__)

FETCH_BATCH = 300

FaceRole = Qt.ItemDataRole.UserRole + 1  # the row's FaceInfo
ScoreRole = Qt.ItemDataRole.UserRole + 2  # similarity of a suggestion (None otherwise)
CoverRole = Qt.ItemDataRole.UserRole + 3  # whether the face is its person's cover
FaceUnavailableRole = Qt.ItemDataRole.UserRole + 4  # True once no thumbnail can come

AnyIndex = QModelIndex | QPersistentModelIndex
Pager = Callable[[int, int], list[FaceInfo]]  # (offset, limit) → faces


def face_key(face_id: int) -> str:
    """The thumbnail cache key of a face."""
    return f"face:{face_id}"


def face_thumbnail_loader(ctx: AppContext, parent: QObject | None = None) -> ThumbnailLoader:
    """A loader of face thumbnails (items are face ids); a face whose photo is gone has none."""

    def source(face_id: int) -> Path | None:
        try:
            return face_thumbnail(ctx, face_id)
        except IdfsrError as exc:  # e.g. the photo was moved away: a placeholder, not a crash
            log.info("no thumbnail for face %s: %s", face_id, exc)
            return None

    return ThumbnailLoader(source, parent, key=face_key)


def face_tooltip(face: FaceInfo, score: float | None = None) -> str:
    """Where the face is, how big and how good, for hovering."""
    lines = [display_path(face.photo_path),
             f"{face.size_px:.0f} px face · quality {face.quality:.2f}"]
    if score is not None:
        lines.append(f"similarity {score:.2f}")
    return "\n".join(lines)


class FaceListModel(QAbstractListModel):
    """Rows are FaceInfo; `reload(pager)` pages through a query, `set_faces` shows a fixed list."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._pager: Pager | None = None
        self._faces: list[FaceInfo] = []
        self._scores: list[float] | None = None
        self._row_of: dict[int, int] = {}
        self._exhausted = True
        self.cover_face_id: int | None = None
        self.thumbnail_size = QSize(160, 160)  # device pixels; the page sets it
        thumbnails.thumbnail_ready.connect(self._on_thumbnail_ready)

    def reload(self, pager: Pager | None = None) -> None:
        """Start again from the first window of `pager` (default: the current one)."""
        self.beginResetModel()
        self._pager = pager or self._pager
        self._faces, self._scores, self._row_of = [], None, {}
        self._exhausted = self._pager is None
        self.endResetModel()
        self.fetchMore()

    def set_faces(self, faces: Iterable[FaceInfo], scores: Iterable[float] | None = None) -> None:
        """Show exactly these faces (with their scores, for suggestions)."""
        self.beginResetModel()
        self._pager = None
        self._faces = list(faces)
        self._scores = list(scores) if scores is not None else None
        self._row_of = {f.id: row for row, f in enumerate(self._faces)}
        self._exhausted = True
        self.endResetModel()

    def clear(self) -> None:
        """No rows."""
        self.set_faces([])

    def face(self, row: int) -> FaceInfo:
        """The face at a row."""
        return self._faces[row]

    def faces(self, rows: Iterable[int]) -> list[FaceInfo]:
        """The faces at these rows, in row order."""
        return [self._faces[r] for r in sorted(set(rows))]

    def row_of(self, face_id: int) -> int | None:
        """The row of a face, if it is fetched."""
        return self._row_of.get(face_id)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._faces)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted or self._pager is None:
            return
        batch = self._pager(len(self._faces), FETCH_BATCH)
        if len(batch) < FETCH_BATCH:
            self._exhausted = True
        if not batch:
            return
        first = len(self._faces)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        for row, face in enumerate(batch, start=first):
            self._faces.append(face)
            self._row_of[face.id] = row
        self.endInsertRows()

    def fetch_all(self) -> None:
        """Fetch every remaining window (small lists, tests)."""
        while self.canFetchMore():
            self.fetchMore()

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._faces):
            return None
        face = self._faces[index.row()]
        score = self._scores[index.row()] if self._scores is not None else None
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{score:.2f}" if score is not None else PurePath(face.photo_path).name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnails.pixmap(face.id, self.thumbnail_size)
        if role == Qt.ItemDataRole.ToolTipRole:
            return face_tooltip(face, score)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Face in {PurePath(face.photo_path).name}"
        if role == FaceRole:
            return face
        if role == ScoreRole:
            return score
        if role == CoverRole:
            return face.id == self.cover_face_id
        if role == FaceUnavailableRole:
            return self._thumbnails.is_unavailable(face.id)
        return None

    def _on_thumbnail_ready(self, key: str) -> None:
        if not key.startswith("face:"):
            return
        row = self._row_of.get(int(key[5:]))
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
