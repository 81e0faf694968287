"""The people as a Qt list model: cards with cover faces, inline rename, drag-to-merge."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)

from core.context import AppContext
from core.jobs import JobState
from core.people.service import PersonInfo, list_people
from idfsr_desktop.fit_controller import FitController, FitState
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.thumbnail_loader import ThumbnailLoader

PERSON_MIME = "application/x-idfsr-person-ids"

PersonRole = Qt.ItemDataRole.UserRole + 1  # the row's PersonInfo
FittedRole = Qt.ItemDataRole.UserRole + 2  # fitted on the current restoration model
FitStateRole = Qt.ItemDataRole.UserRole + 3  # FitState of this session, or None
CoverUnavailableRole = Qt.ItemDataRole.UserRole + 4

AnyIndex = QModelIndex | QPersistentModelIndex


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


UNNAMED_PERSON = "Unnamed person"  # what the app calls a person with no name yet


def display_name(person: PersonInfo) -> str:
    """How the app calls a person: the name, never an internal id."""
    return person.name or UNNAMED_PERSON


def person_details(person: PersonInfo) -> str:
    """'12 photos · 2003–2019'."""
    parts = [_plural(person.photos or person.faces, "photo")]
    if person.first_date and person.last_date:
        first, last = person.first_date.year, person.last_date.year
        parts.append(str(first) if first == last else f"{first}–{last}")
    return " · ".join(parts)


def person_tooltip(person: PersonInfo, fitted: bool, state: FitState | None) -> str:
    """What hovering a card says, including what can be done with it."""
    lines = [f"{display_name(person)} · {_plural(person.faces, 'face')} in "
             f"{_plural(person.photos, 'photo')}"]
    if person.confirmed:
        lines.append(f"{person.confirmed:,} confirmed by you")
    if person.hidden:
        lines.append("Hidden")
    if state is not None and state.active:
        lines.append(f"Fitting identity: {state.progress_text()}")
    elif state is not None and state.status == JobState.FAILED:
        lines.append(f"Fitting failed: {state.message}")
    elif fitted:
        lines.append("Identity fitted" + (f" ({state.result_text()})"
                                          if state is not None and state.outcome else ""))
    lines.append("Open: double-click · Rename: F2 · Merge: drag onto another person")
    return "\n".join(lines)


class PersonListModel(QAbstractListModel):
    """Rows are PersonInfo, most faces first; hidden persons only when asked for."""

    merge_requested = Signal(int, list)  # target person id, ids dropped on it

    def __init__(self, ctx: AppContext, editor: PeopleEditor, covers: ThumbnailLoader,
                 fits: FitController | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._editor = editor
        self._covers = covers
        self._fits = fits
        self._people: list[PersonInfo] = []
        self._row_of_cover: dict[int, list[int]] = {}
        self._row_of_id: dict[int, int] = {}
        self.show_hidden = False
        self.exclude: set[int] = set()  # persons left out (e.g. the one faces move away from)
        self.thumbnail_size = QSize(160, 160)  # device pixels; the view sets it
        covers.thumbnail_ready.connect(self._on_cover_ready)
        if fits is not None:
            fits.changed.connect(self._on_fit_changed)

    def reload(self) -> None:
        """Re-read the people; rows are updated in place when the same people remain."""
        found = [p for p in list_people(self._ctx, include_hidden=self.show_hidden, best=1)
                 if p.id not in self.exclude]
        if [p.id for p in found] == [p.id for p in self._people]:
            self._people = found
            self._index_rows()
            if found:
                self.dataChanged.emit(self.index(0), self.index(len(found) - 1))
            return
        self.beginResetModel()
        self._people = found
        self._index_rows()
        self.endResetModel()

    def _index_rows(self) -> None:
        self._row_of_id = {p.id: row for row, p in enumerate(self._people)}
        self._row_of_cover = {}
        for row, p in enumerate(self._people):
            if p.cover_face_id is not None:
                self._row_of_cover.setdefault(p.cover_face_id, []).append(row)

    def person(self, row: int) -> PersonInfo:
        """The person at a row."""
        return self._people[row]

    def people(self) -> list[PersonInfo]:
        """Every person shown."""
        return list(self._people)

    def row_of(self, person_id: int) -> int | None:
        """The row of a person, if shown."""
        return self._row_of_id.get(person_id)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._people)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled
                | Qt.ItemFlag.ItemIsDropEnabled)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._people):
            return None
        person = self._people[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display_name(person)
        if role == Qt.ItemDataRole.EditRole:
            return person.name or ""
        if role == Qt.ItemDataRole.DecorationRole:
            if person.cover_face_id is None:
                return None
            return self._covers.pixmap(person.cover_face_id, self.thumbnail_size)
        if role == Qt.ItemDataRole.ToolTipRole:
            return person_tooltip(person, self._fitted(person.id), self._state(person.id))
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return person_details(person)
        if role == PersonRole:
            return person
        if role == FittedRole:
            return self._fitted(person.id)
        if role == FitStateRole:
            return self._state(person.id)
        if role == CoverUnavailableRole:
            return person.cover_face_id is None or self._covers.is_unavailable(
                person.cover_face_id)
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        person = self._people[index.row()]
        name = str(value or "").strip()
        if name == (person.name or ""):
            return False
        return self._editor.rename(person.id, name)

    # ---- drag a person onto another to merge -------------------------------------------------

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [PERSON_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = sorted({self._people[i.row()].id for i in indexes if i.isValid()})
        mime.setData(PERSON_MIME, QByteArray(json.dumps(ids).encode()))
        return mime

    @staticmethod
    def dropped_ids(mime: QMimeData) -> list[int]:
        """The person ids a drag carries ([] when it carries none)."""
        if not mime.hasFormat(PERSON_MIME):
            return []
        try:
            ids = json.loads(bytes(mime.data(PERSON_MIME).data()).decode())
        except ValueError:
            return []
        return [int(i) for i in ids] if isinstance(ids, list) else []

    def canDropMimeData(self, mime: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: AnyIndex) -> bool:
        if not parent.isValid():  # only onto a card, never between cards
            return False
        ids = self.dropped_ids(mime)
        return bool(ids) and self._people[parent.row()].id not in ids

    def dropMimeData(self, mime: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: AnyIndex) -> bool:
        if not self.canDropMimeData(mime, action, row, column, parent):
            return False
        # Asks first (a merge is a big change): the page confirms, then the editor merges.
        self.merge_requested.emit(self._people[parent.row()].id, self.dropped_ids(mime))
        return False  # nothing is moved by the view itself

    # ---- updates ------------------------------------------------------------------------------

    def _fitted(self, person_id: int) -> bool:
        return self._fits is not None and self._fits.is_fitted(person_id)

    def _state(self, person_id: int) -> FitState | None:
        return self._fits.state(person_id) if self._fits is not None else None

    def _on_cover_ready(self, key: str) -> None:
        if not key.startswith("face:"):
            return
        for row in self._row_of_cover.get(int(key[5:]), ()):
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def _on_fit_changed(self, person_id: int) -> None:
        if person_id < 0:
            if self._people:
                self.dataChanged.emit(self.index(0), self.index(len(self._people) - 1))
            return
        row = self._row_of_id.get(person_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)
