"""The Library page's search: a box for a few words ("obama", "march 2019", a folder's name)
and, under the filters, the people the words name as buttons that open their page. The
words are resolved by core (`core.library.search`) against the folders and people the filter
bar has read."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from core.library.search import LibrarySearch, parse_search
from core.people.service import PersonInfo
from idfsr_desktop.flow_layout import FlowLayout

TYPING_PAUSE_MS = 250  # search once the typing pauses, not at every key
MAX_PEOPLE = 12  # buttons shown; "and N more" beyond


def person_button_text(person: PersonInfo) -> str:
    """A found person's button: the name and how many photos they are in."""
    photos = f"{person.photos:,} photo{'' if person.photos == 1 else 's'}"
    return f"{person.label} · {photos}" if person.photos else person.label


class LibrarySearchBox(QLineEdit):
    """The search field; `search_changed(LibrarySearch | None)` a moment after the words
    change (at once on Enter), None when it is emptied."""

    search_changed = Signal(object)

    def __init__(self, choices: Callable[[], tuple[list[PersonInfo], list[str]]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices = choices
        self.found: LibrarySearch | None = None
        self.setPlaceholderText("Search people, folders, dates")
        self.setClearButtonEnabled(True)
        self.setAccessibleName("Search the library")
        self.setToolTip("Find people by name, and photos by person, folder name or date "
                        "(\"2019\", \"march 2019\"); every word must match (Ctrl+F)")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TYPING_PAUSE_MS)
        self._timer.timeout.connect(self.search_now)
        self.textChanged.connect(lambda _: self._timer.start())
        self.returnPressed.connect(self.search_now)
        em = self.fontMetrics().averageCharWidth()
        self.setMinimumWidth(em * 24)
        self.setMaximumWidth(em * 48)

    def search_now(self) -> LibrarySearch | None:
        """Resolve the words now (against the choices as last read) and say so."""
        self._timer.stop()
        people, folders = self._choices()
        found = parse_search(self.text(), people, folders) if self.text().strip() else None
        if found != self.found:
            self.found = found
            self.search_changed.emit(found)
        return found

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()  # Escape empties the search
            self.search_now()
            return
        super().keyPressEvent(event)


class SearchPeopleWidget(QWidget):
    """'People:' and a button per person found; `person_requested(id)` when one is clicked."""

    person_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("People:")
        # As tall as a button, so the word sits on the line of the first row of buttons.
        self.label.setMinimumHeight(QPushButton("x").sizeHint().height())
        self.buttons: list[QPushButton] = []
        self.more_label = QLabel()
        self._flow = FlowLayout()
        self._flow.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(self._flow, 1)
        self.setVisible(False)

    def show_people(self, people: tuple[PersonInfo, ...]) -> None:
        """Buttons for these people (hidden when there are none)."""
        for button in self.buttons:
            self._flow.removeWidget(button)
            button.deleteLater()
        self._flow.removeWidget(self.more_label)
        self.buttons = []
        for person in people[:MAX_PEOPLE]:
            button = QPushButton(person_button_text(person))
            button.setToolTip(f"Open {person.label}'s page")
            button.setAccessibleName(f"Open {person.label}")
            button.clicked.connect(lambda _=False, pid=person.id: self.person_requested.emit(pid))
            self._flow.addWidget(button)
            self.buttons.append(button)
        if len(people) > MAX_PEOPLE:
            self.more_label.setText(f"and {len(people) - MAX_PEOPLE:,} more")
            self._flow.addWidget(self.more_label)
        self.setVisible(bool(people))
