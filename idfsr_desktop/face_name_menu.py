"""The menu a clicked face opens in the photo viewer: type a name, pick someone, or say
who it is not."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCompleter,
    QLabel,
    QLineEdit,
    QMenu,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from core.library.browse import PhotoFace
from core.people.service import PersonInfo

SHOWN_PEOPLE = 8  # named people listed in the menu, most faces first; the rest by typing


def face_name(face: PhotoFace) -> str:
    """How a face's person is called to people: the name, never an id."""
    if face.person_id is None:
        return "nobody"
    return face.name or "an unnamed person"


class FaceNameMenu(QMenu):
    """Says what the user decided through signals; the viewer makes the edits."""

    name_typed = Signal(str)  # a name, existing or new
    person_chosen = Signal(int)  # one of the people listed
    not_this_person = Signal()
    nobody = Signal()
    remove = Signal()  # a face the user drew, drawn by mistake

    def __init__(self, face: PhotoFace, people: list[PersonInfo],
                 parent: QWidget | None = None, *, drawn: bool = False) -> None:
        super().__init__(parent)
        self.face = face
        self.setToolTipsVisible(True)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Type a name…")
        self.name_edit.setAccessibleName("Name of this face")
        self.name_edit.setClearButtonEnabled(True)
        em = self.fontMetrics().height()
        self.name_edit.setMinimumWidth(em * 14)
        named = [p for p in people if p.name]
        completer = QCompleter(sorted({p.name for p in named if p.name}, key=str.casefold),
                               self.name_edit)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.name_edit.setCompleter(completer)
        self.name_edit.returnPressed.connect(self._typed)
        who = face_name(face)
        self.title_label = QLabel(f"<b>Who is this?</b> Now: {who}"
                                  if face.person_id is not None else "<b>Who is this?</b>")
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(em // 2, em // 3, em // 2, em // 4)
        column.setSpacing(em // 4)
        column.addWidget(self.title_label)
        column.addWidget(self.name_edit)
        field = QWidgetAction(self)
        field.setDefaultWidget(box)
        self.addAction(field)
        if named:
            self.addSeparator()

        self.person_actions: dict[int, QAction] = {}
        for person in [p for p in named if p.id != face.person_id][:SHOWN_PEOPLE]:
            action = self.addAction(person.name or "")
            action.setToolTip(f"This face is {person.name}")
            action.triggered.connect(lambda _=False, pid=person.id: self.person_chosen.emit(pid))
            self.person_actions[person.id] = action
        self.not_action: QAction | None = None
        self.nobody_action: QAction | None = None
        if face.person_id is not None:
            self.addSeparator()
            self.not_action = self.addAction(f"Not {who}" if face.name else "Not This Person")
            self.not_action.setToolTip(f"This face is someone else: it leaves {who} for good")
            self.not_action.triggered.connect(self.not_this_person)
            self.nobody_action = self.addAction("Belongs to Nobody")
            self.nobody_action.setToolTip("Take this face out of every person")
            self.nobody_action.triggered.connect(self.nobody)
        self.remove_action: QAction | None = None
        if drawn:
            self.addSeparator()
            self.remove_action = self.addAction("Remove This Face")
            self.remove_action.setToolTip("You drew this face: take it back")
            self.remove_action.triggered.connect(self.remove)
        self.aboutToShow.connect(self.name_edit.setFocus)

    def _typed(self) -> None:
        text = self.name_edit.text().strip()
        if text:
            self.name_typed.emit(text)
            self.close()
