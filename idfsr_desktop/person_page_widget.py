"""One person's page: name, the photos they are in (newest first) or all their faces with the
edits a selection allows, suggestions, and identity fitting."""

from __future__ import annotations

import functools

from PySide6.QtCore import QObject, QPoint, QSize, Signal
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.errors import IdfsrError
from core.faces.service import FaceInfo
from core.jobs import CancelToken, ProgressCallback
from core.library.service import PhotoInfo, photo_thumbnail
from core.people.service import PersonInfo, get_person, person_faces, person_photos
from core.people.suggest import suggest_faces
from idfsr_desktop.face_grid_view import FaceGridView
from idfsr_desktop.face_list_model import FaceListModel
from idfsr_desktop.fit_controller import FitController
from idfsr_desktop.fit_panel_widget import FitPanelWidget
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.person_list_model import display_name, person_details
from idfsr_desktop.person_picker_dialog import PersonPickerDialog
from idfsr_desktop.photo_item_delegate import PhotoItemDelegate
from idfsr_desktop.photo_list_model import PhotoListModel
from idfsr_desktop.photo_viewer_dialog import PhotoViewerDialog
from idfsr_desktop.task_runner import TaskRunner
from idfsr_desktop.theme import secondary_text, title_font
from idfsr_desktop.thumbnail_loader import ThumbnailLoader

FACE_THUMB = 112  # logical pixels
SUGGESTION_THUMB = 88
SUGGESTIONS = 24
PHOTO_THUMB = 160
PHOTOS_TAB, FACES_TAB = 0, 1


class PersonPhotoModel(PhotoListModel):
    """The photos one person is in, newest first."""

    def __init__(self, ctx: AppContext, thumbnails: ThumbnailLoader,
                 parent: QObject | None = None) -> None:
        super().__init__(ctx, thumbnails, parent)
        self.person_id: int | None = None

    def fetch(self, offset: int, limit: int) -> list[PhotoInfo]:
        if self.person_id is None:
            return []
        return person_photos(self._ctx, self.person_id, offset=offset, limit=limit)

    def row_of_photo(self, photo_id: int) -> int | None:
        """The row of a photo (fetching as far as needed), None when it is not here."""
        row = 0
        while True:
            while row < self.rowCount():
                if self.photo(row).id == photo_id:
                    return row
                row += 1
            if not self.canFetchMore():
                return None
            self.fetchMore()


class PersonPageWidget(QWidget):
    """Shows one person; every change goes through the PeopleEditor."""

    back_requested = Signal()
    pick_person = Signal(object, str)  # callback(person_id), prompt: the page opens a picker

    def __init__(self, ctx: AppContext, runner: TaskRunner, editor: PeopleEditor,
                 fits: FitController, faces: ThumbnailLoader,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.runner, self.editor, self.fits = ctx, runner, editor, fits
        self.person: PersonInfo | None = None
        self._suggest_generation = 0
        em = self.fontMetrics().height()

        self.back_button = QPushButton("‹ People")
        self.back_button.setFlat(True)
        self.back_button.setToolTip("Back to everyone (Alt+Left)")
        self.back_button.clicked.connect(self.back_requested)
        self.name_edit = QLineEdit()
        self.name_edit.setFont(title_font(self))
        self.name_edit.setFrame(False)
        # A title that turns into a field when clicked: no field background until then.
        title_palette = self.name_edit.palette()
        title_palette.setColor(QPalette.ColorRole.Base,
                               title_palette.color(QPalette.ColorRole.Window))
        self.name_edit.setPalette(title_palette)
        self.name_edit.setToolTip("Click to name this person")
        self.name_edit.setPlaceholderText("Add a name")
        self.name_edit.setAccessibleName("Name")
        self.name_edit.editingFinished.connect(self._rename)
        self.details_label = QLabel()
        secondary_text(self.details_label)
        self.hide_button = QPushButton("Hide")
        self.hide_button.setToolTip("Hide this person from the People page and suggestions")
        self.hide_button.clicked.connect(self._toggle_hidden)

        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addStretch(1)
        top.addWidget(self.hide_button)
        self.fit_panel = FitPanelWidget(fits)

        # Suggestions: unassigned faces that look like this person.
        self.suggestions = FaceListModel(faces, self)
        self.suggestion_view = FaceGridView(self.suggestions, SUGGESTION_THUMB, captions=True,
                                            strip=True)
        self.suggestion_view.setAccessibleName("Suggested faces")
        self.suggestion_label = QLabel()
        self.suggestion_label.setFont(title_font(self, 1.1))
        self.yes_button = QPushButton("Yes")
        self.yes_button.clicked.connect(self._confirm_suggested)
        self.no_button = QPushButton("No")
        self.no_button.clicked.connect(self._reject_suggested)
        self.suggestion_view.selectionModel().selectionChanged.connect(
            lambda *_: self._update_suggestion_buttons())
        suggestion_head = QHBoxLayout()
        suggestion_head.addWidget(self.suggestion_label, 1)
        suggestion_head.addWidget(self.yes_button)
        suggestion_head.addWidget(self.no_button)
        self.suggestion_box = QWidget()
        box = QVBoxLayout(self.suggestion_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(em // 4)
        box.addLayout(suggestion_head)
        box.addWidget(self.suggestion_view)
        self.suggestion_box.hide()

        # The person's faces, and what a selection of them can become.
        self.faces = FaceListModel(faces, self)
        self.face_view = FaceGridView(self.faces, FACE_THUMB)
        self.face_view.setAccessibleName("Faces")
        self.face_view.customContextMenuRequested.connect(self._context_menu)
        self.face_view.selectionModel().selectionChanged.connect(
            lambda *_: self._update_actions())
        self.faces.modelReset.connect(self._update_actions)
        self.face_view.activated.connect(lambda index: self.open_photo_of(index.row()))

        # The photos they are in, newest first; the faces are the second view.
        self.photo_thumbnails = ThumbnailLoader(lambda photo: photo_thumbnail(ctx, photo), self)
        self.photos = PersonPhotoModel(ctx, self.photo_thumbnails, self)
        self.photo_view = self._make_photo_view()
        self.viewer: PhotoViewerDialog | None = None
        self.tabs = QTabBar()
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        self.tabs.setAccessibleName("Photos or faces")
        self.tabs.addTab("Photos")
        self.tabs.addTab("Faces")
        self.tabs.setTabToolTip(PHOTOS_TAB, "The photos this person is in, newest first")
        self.tabs.setTabToolTip(FACES_TAB, "Each of their faces, clearest first: select some "
                                           "to move them or say they are someone else")
        self.views = QStackedWidget()
        self.views.addWidget(self.photo_view)
        self.views.addWidget(self.face_view)
        self.tabs.currentChanged.connect(self._on_tab)
        self.selection_label = QLabel()
        self.selection_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                           QSizePolicy.Policy.Preferred)
        self.move_action = self._action("Move to…", "Move the selected faces to another person",
                                        self.move_selected)
        self.split_action = self._action("New Person", "Make the selected faces a new person",
                                         self.split_selected)
        self.reject_action = self._action("Not This Person",
                                          "The selected faces are someone else: they leave "
                                          "this person for good", self.reject_selected)
        self.unassign_action = self._action("Unassign", "The selected faces belong to nobody",
                                            self.unassign_selected)
        self.cover_action = self._action("Set as Cover", "Show this person with this face",
                                         self.cover_selected)
        self.open_photo_action = self._action("Open Photo", "Show the whole photo of this face",
                                              self.open_selected_photo)
        self.face_bar = QWidget()
        bar = QHBoxLayout(self.face_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(em // 3)
        bar.addWidget(self.selection_label, 1)
        self.action_buttons: dict[QAction, QPushButton] = {}
        for action in (self.move_action, self.split_action, self.reject_action,
                       self.unassign_action, self.cover_action):
            button = QPushButton(action.text())
            button.setToolTip(action.toolTip())
            button.clicked.connect(action.trigger)
            # The button follows its action: enabled state and text (“Not Alice”).
            action.changed.connect(functools.partial(self._sync_button, action, button))
            self.action_buttons[action] = button
            bar.addWidget(button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(em, em // 2, em, em // 2)
        layout.setSpacing(em // 2)
        layout.addLayout(top)
        layout.addWidget(self.name_edit)
        layout.addWidget(self.details_label)
        layout.addWidget(self.fit_panel)
        layout.addWidget(self.suggestion_box)
        layout.addWidget(self.tabs)
        layout.addWidget(self.face_bar)
        layout.addWidget(self.views, 1)
        self.face_bar.hide()
        self._update_actions()

    @staticmethod
    def _sync_button(action: QAction, button: QPushButton) -> None:
        button.setEnabled(action.isEnabled())
        button.setText(action.text())

    def _action(self, text: str, tip: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    # ---- showing ----------------------------------------------------------------------------

    def show_person(self, person_id: int) -> bool:
        """Show this person (False if there is no such person any more)."""
        try:
            person = get_person(self.ctx, person_id, best=1)
        except IdfsrError:
            self.person = None
            return False
        same = self.person is not None and self.person.id == person_id
        self.person = person
        self._show_info(person)
        side = round(FACE_THUMB * self.devicePixelRatioF())
        self.faces.thumbnail_size = QSize(side, side)
        self.suggestions.thumbnail_size = QSize(side, side)
        self.faces.cover_face_id = person.cover_face_id
        self.faces.reload(functools.partial(self._page, person_id))
        photo_side = round(PHOTO_THUMB * self.devicePixelRatioF())
        self.photos.thumbnail_size = QSize(photo_side, photo_side)
        # While the viewer walks these photos, its rows stay put (a face named "not this
        # person" there would take its photo out of the list under it); re-read on closing.
        viewing = same and self.viewer is not None and self.viewer.isVisible()
        self.photos.person_id = person_id
        if not viewing:
            self.photos.reload()
        if not same:
            self.photo_view.scrollToTop()
            self.suggestions.clear()
            self.suggestion_box.hide()
            self.face_view.scrollToTop()
        self.load_suggestions()
        return True

    def refresh(self) -> bool:
        """Re-read the person shown (False when they are gone, e.g. merged away)."""
        return self.person is not None and self.show_person(self.person.id)

    def _page(self, person_id: int, offset: int, limit: int) -> list[FaceInfo]:
        return person_faces(self.ctx, person_id, offset=offset, limit=limit)

    def _show_info(self, person: PersonInfo) -> None:
        if not self.name_edit.hasFocus():
            self.name_edit.setText(person.name or "")
        details = f"{person.faces:,} faces · {person_details(person)}"
        if person.confirmed:
            details += f" · {person.confirmed:,} confirmed by you"
        if person.hidden:
            details += " · hidden"
        self.details_label.setText(details)
        self.hide_button.setText("Show" if person.hidden else "Hide")
        self.fit_panel.show_person(person.id, display_name(person))
        self.reject_action.setText(f"Not {person.name}" if person.name else "Not This Person")

    def load_suggestions(self) -> None:
        """Look (in the background) for unassigned faces that look like this person."""
        if self.person is None:
            return
        self._suggest_generation += 1
        generation, person_id, ctx = self._suggest_generation, self.person.id, self.ctx

        def job(*, progress: ProgressCallback, cancel: CancelToken
                ) -> list[tuple[FaceInfo, float]]:
            return suggest_faces(ctx, person_id, limit=SUGGESTIONS)

        self.runner.submit(job, title="Looking for suggestions", listed=False,
                           on_finished=lambda found: self._on_suggestions(generation, found),
                           on_failed=lambda _: self._on_suggestions(generation, []))

    def _on_suggestions(self, generation: int, found: list[tuple[FaceInfo, float]]) -> None:
        if generation != self._suggest_generation or self.person is None:
            return  # an older request, or the page moved on
        self.suggestions.set_faces([f for f, _ in found], [s for _, s in found])
        who = self.person.name or "this person"
        self.suggestion_label.setText(f"Is this also {who}?")
        self.yes_button.setText(f"Yes, {self.person.name}" if self.person.name else "Yes")
        self.suggestion_box.setVisible(bool(found))
        self._update_suggestion_buttons()

    # ---- the selection --------------------------------------------------------------------

    def selected_faces(self) -> list[FaceInfo]:
        """The selected faces."""
        return self.faces.faces(self.face_view.selected_rows())

    def select_faces(self, face_ids: list[int]) -> None:
        """Select exactly these faces (tests, keyboard helpers), in the faces view."""
        self.show_faces_view(True)
        self.faces.fetch_all()
        selection = self.face_view.selectionModel()
        selection.clearSelection()
        for face_id in face_ids:
            row = self.faces.row_of(face_id)
            if row is not None:
                selection.select(self.faces.index(row), selection.SelectionFlag.Select)

    def _update_actions(self) -> None:
        n = len(self.face_view.selected_rows())
        self.selection_label.setText(f"{n:,} selected" if n else
                                     "Select faces to move them, split them off or remove them.")
        for action in (self.move_action, self.split_action, self.reject_action,
                       self.unassign_action):
            action.setEnabled(n > 0)
        self.cover_action.setEnabled(n == 1)
        self.open_photo_action.setEnabled(n == 1)

    def _ids(self) -> list[int]:
        return [f.id for f in self.selected_faces()]

    # ---- edits ----------------------------------------------------------------------------

    def move_selected(self) -> PersonPickerDialog | None:
        """Ask whom to move the selection to, then move it."""
        ids, person = self._ids(), self.person
        if not ids or person is None:
            return None
        self.pick_person.emit(lambda target, label: self.editor.move(ids, target, label),
                              f"Move {len(ids):,} face{'s' if len(ids) != 1 else ''} of "
                              f"{display_name(person)} to:")
        return None

    def split_selected(self) -> int | None:
        """Make the selection a new person (split off this one)."""
        ids, person = self._ids(), self.person
        if not ids or person is None:
            return None
        return self.editor.split(person.id, ids)

    def reject_selected(self) -> bool:
        """"Not this person" for the selection."""
        ids, person = self._ids(), self.person
        return bool(ids) and person is not None and self.editor.reject(ids, person.id)

    def unassign_selected(self) -> bool:
        """The selection belongs to nobody."""
        ids = self._ids()
        return bool(ids) and self.editor.unassign(ids)

    def cover_selected(self) -> bool:
        """The one selected face becomes the cover."""
        ids, person = self._ids(), self.person
        return len(ids) == 1 and person is not None and self.editor.set_cover(person.id, ids[0])

    def _rename(self) -> None:
        person = self.person
        text = self.name_edit.text().strip()
        if person is not None and text != (person.name or ""):
            self.editor.rename(person.id, text)

    def _toggle_hidden(self) -> None:
        if self.person is not None:
            self.editor.hide(self.person.id, not self.person.hidden)

    def _suggested_ids(self) -> list[int]:
        rows = self.suggestion_view.selected_rows() or range(self.suggestions.rowCount())
        return [f.id for f in self.suggestions.faces(rows)]

    def _update_suggestion_buttons(self) -> None:
        n = len(self.suggestion_view.selected_rows())
        self.yes_button.setToolTip(f"Confirm the {n} selected faces" if n
                                   else "Confirm every suggested face")
        self.no_button.setToolTip(f"The {n} selected faces are someone else" if n
                                  else "None of the suggested faces is this person")

    def _confirm_suggested(self) -> None:
        ids = self._suggested_ids()
        if ids and self.person is not None:
            self.editor.confirm(ids, self.person.id)

    def _reject_suggested(self) -> None:
        ids = self._suggested_ids()
        if ids and self.person is not None:
            self.editor.reject(ids, self.person.id)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.face_view.indexAt(pos)
        if not index.isValid():
            return
        if not self.face_view.selectionModel().isSelected(index):
            self.face_view.setCurrentIndex(index)
        menu = QMenu(self)
        for action in (self.move_action, self.split_action, self.reject_action,
                       self.unassign_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.open_photo_action)
        menu.addAction(self.cover_action)
        menu.popup(self.face_view.viewport().mapToGlobal(pos))

    # ---- photos ---------------------------------------------------------------------------

    def _make_photo_view(self) -> QListView:
        view = QListView()
        view.setViewMode(QListView.ViewMode.IconMode)
        view.setMovement(QListView.Movement.Static)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setUniformItemSizes(True)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setFrameShape(QFrame.Shape.NoFrame)
        view.setItemDelegate(PhotoItemDelegate(PHOTO_THUMB, view))
        view.setModel(self.photos)
        view.setAccessibleName("Photos")
        view.setToolTip("Double-click a photo to see it large and name its faces")
        view.activated.connect(lambda index: self.open_photo(index.row()))
        return view

    def show_faces_view(self, faces: bool) -> None:
        """Show the faces (True) or the photos (False)."""
        self.tabs.setCurrentIndex(FACES_TAB if faces else PHOTOS_TAB)

    def _on_tab(self, tab: int) -> None:
        self.views.setCurrentIndex(tab)
        self.face_bar.setVisible(tab == FACES_TAB)

    def open_photo(self, row: int) -> PhotoViewerDialog | None:
        """The viewer on the photo at this row of the photos grid."""
        if not 0 <= row < self.photos.rowCount():
            return None
        if self.viewer is None:
            self.viewer = PhotoViewerDialog(self.ctx, self.photos, self.runner, self,
                                            editor=self.editor)
            self.viewer.finished.connect(lambda _: self.photos.reload())
        self.viewer.show_row(row)
        self.viewer.show()
        self.viewer.raise_()
        self.viewer.activateWindow()
        return self.viewer

    def open_photo_of(self, face_row: int) -> PhotoViewerDialog | None:
        """The viewer on the photo of the face at this row of the faces grid."""
        if not 0 <= face_row < self.faces.rowCount():
            return None
        face = self.faces.faces([face_row])[0]
        row = self.photos.row_of_photo(face.photo_id)
        return self.open_photo(row) if row is not None else None

    def open_selected_photo(self) -> PhotoViewerDialog | None:
        """The viewer on the photo of the one selected face."""
        rows = self.face_view.selected_rows()
        return self.open_photo_of(rows[0]) if len(rows) == 1 else None
