"""Faces that belong to nobody: pick some of one person, make them a new person or add them."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.faces.service import FaceInfo
from core.people.service import unassigned_count, unassigned_faces
from idfsr_desktop.empty_state_widget import EmptyStateWidget
from idfsr_desktop.face_grid_view import FaceGridView
from idfsr_desktop.face_list_model import FaceListModel
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.person_page_widget import FACE_THUMB
from idfsr_desktop.theme import secondary_text, title_font
from idfsr_desktop.thumbnail_loader import ThumbnailLoader


class UnassignedFacesWidget(QWidget):
    """The grid of unassigned faces, best first, with what a selection of them can become."""

    back_requested = Signal()
    pick_person = Signal(object, str)  # callback(person_id, label), prompt
    open_person = Signal(int)

    def __init__(self, ctx: AppContext, editor: PeopleEditor, faces: ThumbnailLoader,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.editor = ctx, editor
        em = self.fontMetrics().height()
        self.back_button = QPushButton("‹ People")
        self.back_button.setFlat(True)
        self.back_button.clicked.connect(self.back_requested)
        title = QLabel("Unassigned faces")
        title.setFont(title_font(self))
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)  # a long line must not hold the window wide
        secondary_text(self.count_label)
        self.selection_label = QLabel()
        self.selection_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                           QSizePolicy.Policy.Preferred)
        self.add_button = QPushButton("Add to Person…")
        self.add_button.setToolTip("The selected faces are someone already in your people")
        self.add_button.clicked.connect(self.add_selected)
        self.new_button = QPushButton("New Person")
        self.new_button.setToolTip("The selected faces are one person not in your people yet")
        self.new_button.clicked.connect(self.new_person_from_selected)
        self.ignore_button = QPushButton("Ignore Strangers")
        self.ignore_button.setToolTip("Hide the tiny, blurred faces of passers-by and the "
                                      "blurry faces seen only once (Edit ▸ Undo brings them "
                                      "back)")
        self.ignore_button.clicked.connect(self.ignore_strangers)

        self.faces = FaceListModel(faces, self)
        self.view = FaceGridView(self.faces, FACE_THUMB)
        self.view.setAccessibleName("Unassigned faces")
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.faces.modelReset.connect(self._update_actions)
        self.empty_state = EmptyStateWidget()
        self.empty_state.show_message("Every face has a person",
                                      "Faces found in new photos that match nobody appear here.")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_state)

        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addStretch(1)
        top.addWidget(self.ignore_button)
        bar = QHBoxLayout()
        bar.addWidget(self.selection_label, 1)
        bar.addWidget(self.add_button)
        bar.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(em, em // 2, em, em // 2)
        layout.setSpacing(em // 2)
        layout.addLayout(top)
        layout.addWidget(title)
        layout.addWidget(self.count_label)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self._update_actions()

    def refresh(self) -> int:
        """Re-read the unassigned faces; their count."""
        count = unassigned_count(self.ctx)
        self.count_label.setText(
            f"{count:,} face{'s' if count != 1 else ''} that belong to nobody, clearest first. "
            "Select faces of one person, then make them a new person or add them to someone.")
        side = round(FACE_THUMB * self.devicePixelRatioF())
        self.faces.thumbnail_size = QSize(side, side)
        self.faces.reload(self._page)
        self.stack.setCurrentWidget(self.view if count else self.empty_state)
        self.ignore_button.setEnabled(count > 0)
        return count

    def ignore_strangers(self) -> int:
        """Set the strangers among these faces aside (one undoable edit); how many."""
        found = self.editor.ignore_strangers()
        if found == 0:
            self.editor.done.emit("No strangers to ignore: every face here is clear enough "
                                  "to name.")
        return found

    def _page(self, offset: int, limit: int) -> list[FaceInfo]:
        return unassigned_faces(self.ctx, offset=offset, limit=limit)

    def selected_faces(self) -> list[FaceInfo]:
        """The selected faces."""
        return self.faces.faces(self.view.selected_rows())

    def select_faces(self, face_ids: list[int]) -> None:
        """Select exactly these faces."""
        self.faces.fetch_all()
        selection = self.view.selectionModel()
        selection.clearSelection()
        for face_id in face_ids:
            row = self.faces.row_of(face_id)
            if row is not None:
                selection.select(self.faces.index(row), selection.SelectionFlag.Select)

    def add_selected(self) -> None:
        """Ask whom the selection shows, then move it there."""
        ids = [f.id for f in self.selected_faces()]
        if ids:
            self.pick_person.emit(lambda target, label: self.editor.move(ids, target, label),
                                  f"Who is in the {len(ids):,} selected "
                                  f"face{'s' if len(ids) != 1 else ''}?")

    def new_person_from_selected(self) -> int | None:
        """Make the selection a new person and open them (to name them)."""
        ids = [f.id for f in self.selected_faces()]
        if not ids:
            return None
        new = self.editor.new_person(ids)
        if new is not None:
            self.open_person.emit(new)
        return new

    def _update_actions(self) -> None:
        n = len(self.view.selected_rows())
        self.selection_label.setText(f"{n:,} selected" if n else "")
        self.add_button.setEnabled(n > 0)
        self.new_button.setEnabled(n > 0)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        if not self.view.selectionModel().isSelected(index):
            self.view.setCurrentIndex(index)
        menu = QMenu(self)
        menu.addAction("Add to Person…", self.add_selected)
        menu.addAction("New Person", self.new_person_from_selected)
        menu.popup(self.view.viewport().mapToGlobal(pos))
