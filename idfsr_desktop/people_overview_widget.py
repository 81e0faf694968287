"""The People page's overview: a grid of person cards, merge by drag, fit all, suggestions."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.people.service import PersonInfo
from core.people.suggest import MergeSuggestion
from idfsr_desktop.empty_state_widget import EmptyStateWidget
from idfsr_desktop.even_grid_view import EvenGridView
from idfsr_desktop.fit_controller import FitController
from idfsr_desktop.flow_layout import FlowLayout
from idfsr_desktop.person_card_delegate import PersonCardDelegate
from idfsr_desktop.person_list_model import PersonListModel, display_name
from idfsr_desktop.theme import secondary_text, title_font

CARD_THUMB = 136  # logical pixels
DEVICES = (("Auto", "auto"), ("CPU", "cpu"), ("CUDA GPU", "cuda"), ("Apple GPU", "mps"))


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def merge_question(into: PersonInfo, others: list[PersonInfo]) -> tuple[str, str]:
    """The confirmation's question and its explanation."""
    names = ", ".join(f"“{display_name(p)}”" for p in others)
    faces = sum(p.faces for p in others)
    question = (f"Merge {names} into “{display_name(into)}”?" if into.name
                or any(p.name for p in others)
                else f"Merge these {len(others) + 1} unnamed people into one?")
    return (question,
            f"{_plural(faces, 'face')} become {display_name(into)}’s, and "
            f"{'they are' if len(others) > 1 else 'the card is'} removed. "
            "You can undo this with Edit ▸ Undo.")


class PersonGridView(EvenGridView):
    """Cards in a grid; a card dragged onto another asks to merge them."""

    def __init__(self, model: PersonListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card_delegate = PersonCardDelegate(CARD_THUMB, self)
        self.setItemDelegate(self.card_delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)  # cards do not move; a drop means merge
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        # Static movement switches drags and drops off; a drop here means "merge".
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAccessibleName("People")
        self.setModel(model)
        self.fit_on_resize()

    def cell_and_gap(self) -> tuple[QSize, int]:
        cell = self.card_delegate.cell_size(self.fontMetrics())
        return cell, max(2, self.fontMetrics().height() // 3)


class PeopleOverviewWidget(QWidget):
    """Cards of everyone; asks the page (by signal) to open a person or the unassigned faces."""

    open_person = Signal(int)
    open_unassigned = Signal()
    merge_confirmed = Signal(int, list, str)  # into, others, label of `into`
    hide_requested = Signal(int, bool)

    def __init__(self, model: PersonListModel, fits: FitController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.fits = fits
        self._indexing = False
        self._unassigned = 0
        self._suggestions: list[MergeSuggestion] = []
        self._suggested: tuple[PersonInfo, PersonInfo] | None = None
        self._skipped: set[tuple[int, int]] = set()
        em = self.fontMetrics().height()

        self.title = QLabel("People")
        self.title.setFont(title_font(self))
        self.counts_label = QLabel()
        secondary_text(self.counts_label)
        self.counts_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.counts_label.setWordWrap(True)  # in a narrow window: two lines, not clipped
        self.unassigned_button = QPushButton("Unassigned faces")
        self.unassigned_button.setToolTip("Faces that belong to nobody yet")
        self.unassigned_button.clicked.connect(self.open_unassigned)
        self.show_hidden_box = QCheckBox("Show hidden")
        self.show_hidden_box.toggled.connect(self._on_show_hidden)
        self.device_combo = QComboBox()
        for text, value in DEVICES:
            self.device_combo.addItem(text, value)
        self.device_combo.setToolTip("Device: the processor that learns faces (identity "
                                     "fitting); a GPU is much faster where there is one")
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(fits.device)))
        self.device_combo.currentIndexChanged.connect(
            lambda _: setattr(self.fits, "device", self.device_combo.currentData()))
        device_label = QLabel("&Processor:")
        device_label.setBuddy(self.device_combo)
        self.fit_all_button = QPushButton("Learn Everyone’s Face")
        self.fit_all_button.setToolTip("Identity fitting for everyone not fitted yet")
        self.fit_all_button.clicked.connect(self.fit_all)

        header = QHBoxLayout()
        header.setSpacing(em // 2)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.counts_label)
        header.addLayout(titles, 1)
        # The actions wrap onto a second row in a narrow window (the processor choice
        # keeps its label beside it).
        device = QWidget()
        device_row = QHBoxLayout(device)
        device_row.setContentsMargins(em // 2, 0, 0, 0)
        device_row.addWidget(device_label)
        device_row.addWidget(self.device_combo)
        actions = QWidget()
        flow = FlowLayout(actions, h_spacing=em // 2)
        flow.setContentsMargins(0, 0, 0, 0)
        for widget in (self.unassigned_button, self.show_hidden_box, device, self.fit_all_button):
            flow.addWidget(widget)
        header.addWidget(actions, 0, Qt.AlignmentFlag.AlignBottom)

        self.fit_bar = self._make_banner()
        self.fit_label = QLabel()
        self.cancel_fits_button = QPushButton("Cancel Fitting")
        self.cancel_fits_button.clicked.connect(self.fits.cancel_all)
        self._banner_row(self.fit_bar, self.fit_label, self.cancel_fits_button)

        self.merge_bar = self._make_banner()
        self.merge_label = QLabel()
        self.merge_button = QPushButton("Merge…")
        self.merge_button.clicked.connect(self._merge_suggested)
        self.skip_button = QPushButton("Not Now")
        self.skip_button.clicked.connect(self._skip_suggestion)
        self._banner_row(self.merge_bar, self.merge_label, self.merge_button, self.skip_button)

        self.view = PersonGridView(model)
        self.view.activated.connect(self._on_activated)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.model.merge_requested.connect(self.confirm_merge)
        self.model.modelReset.connect(self._update)
        self.empty_state = EmptyStateWidget()
        self.empty_state.primary_clicked.connect(self.open_unassigned)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_state)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(em, em, em, em // 2)
        layout.setSpacing(em // 2)
        layout.addLayout(header)
        layout.addWidget(self.fit_bar)
        layout.addWidget(self.merge_bar)
        layout.addWidget(self.stack, 1)
        self.fits.changed.connect(lambda _: self._update_fit_bar())
        self._update_fit_bar()
        self.merge_bar.hide()

        self.rename_action = QAction("Rename", self)
        self.rename_action.triggered.connect(self.rename_current)
        self.open_action = QAction("Open", self)
        self.open_action.triggered.connect(lambda: self._open_current())

    def _make_banner(self) -> QFrame:
        banner = QFrame()
        banner.setFrameShape(QFrame.Shape.StyledPanel)
        banner.setAutoFillBackground(True)
        banner.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        return banner

    def _banner_row(self, banner: QFrame, label: QLabel, *buttons: QPushButton) -> None:
        em = self.fontMetrics().height()
        row = QHBoxLayout(banner)
        row.setContentsMargins(em // 2, em // 4, em // 4, em // 4)
        label.setWordWrap(True)
        row.addWidget(label, 1)
        for button in buttons:
            row.addWidget(button)

    # ---- state ----------------------------------------------------------------------------

    def set_unassigned_count(self, count: int) -> None:
        """How many faces belong to nobody (on the button)."""
        self.unassigned_button.setText(f"Unassigned Faces ({count:,})" if count
                                       else "Unassigned Faces")
        self._unassigned = count
        self._update()

    def set_indexing(self, indexing: bool) -> None:
        """Whether faces are being found (words the empty page)."""
        self._indexing = indexing
        self._update()

    def set_merge_suggestions(self, found: list[MergeSuggestion]) -> None:
        """Pairs of persons that look alike; the banner shows the first not skipped."""
        self._suggestions = found
        self._show_suggestion()

    def selected_people(self) -> list[PersonInfo]:
        """The selected cards' persons."""
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.person(r) for r in rows]

    def current_person(self) -> PersonInfo | None:
        """The focused card's person."""
        index = self.view.currentIndex()
        return self.model.person(index.row()) if index.isValid() else None

    def _update(self) -> None:
        people = self.model.people()
        faces = sum(p.faces for p in people)
        parts = [_plural(len(people), "person", "people"), _plural(faces, "face")]
        hidden = sum(p.hidden for p in people)
        if hidden:
            parts.append(f"{hidden:,} hidden")
        self.counts_label.setText(" · ".join(parts))
        self.fit_all_button.setEnabled(bool(people) and self.fits.available)
        self.fit_all_button.setToolTip(self.fits.unavailable_reason or
                                       "Fit an identity for everyone not fitted yet")
        if people:
            self.stack.setCurrentWidget(self.view)
            return
        unassigned = self._unassigned
        if self._indexing:
            self.empty_state.show_message(
                "Finding faces…", "People appear here as their faces are found and grouped.")
        elif unassigned:
            self.empty_state.show_message(
                "No people yet", f"{_plural(unassigned, 'face')} found so far belong to nobody. "
                "Pick some that show the same person and make them a new person.",
                primary="Show Unassigned Faces")
        else:
            self.empty_state.show_message(
                "No people yet", "People appear here once faces are found in your photos: "
                "add a folder and index it.")
        self.stack.setCurrentWidget(self.empty_state)

    def _update_fit_bar(self) -> None:
        text = self.fits.batch_text()
        self.fit_bar.setVisible(bool(text))
        self.fit_label.setText(text)
        self._update()

    # ---- actions --------------------------------------------------------------------------

    def fit_all(self) -> int:
        """Queue a fit for every shown, visible person not fitted yet; how many were queued."""
        todo = [(p.id, display_name(p)) for p in self.model.people()
                if not p.hidden and not self.fits.is_fitted(p.id)]
        return self.fits.fit(todo)

    def rename_current(self) -> None:
        """Edit the focused card's name in place."""
        index = self.view.currentIndex()
        if index.isValid():
            self.view.edit(index)

    def confirm_merge(self, into_id: int, other_ids: list[int]) -> QMessageBox | None:
        """Ask before merging `other_ids` into `into_id` (non-blocking; merges on Yes)."""
        by_id = {p.id: p for p in self.model.people()}
        into = by_id.get(into_id)
        others = [by_id[i] for i in other_ids if i in by_id and i != into_id]
        if into is None or not others:
            return None
        question, detail = merge_question(into, others)
        box = QMessageBox(QMessageBox.Icon.Question, "Merge people", question,
                          QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText(detail)
        merge = box.addButton("Merge", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(merge)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        ids = [p.id for p in others]
        box.buttonClicked.connect(lambda button: self.merge_confirmed.emit(
            into.id, ids, display_name(into)) if button is merge else None)
        box.open()
        return box

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_person.emit(self.model.person(index.row()).id)

    def _open_current(self) -> None:
        person = self.current_person()
        if person is not None:
            self.open_person.emit(person.id)

    def _on_show_hidden(self, shown: bool) -> None:
        self.model.show_hidden = shown
        self.model.reload()
        self._update()

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        person = self.model.person(index.row())
        menu = QMenu(self)
        menu.addAction(self.open_action)
        rename = menu.addAction("Rename")
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.triggered.connect(self.rename_current)
        fit = menu.addAction("Learn This Person’s Face")
        fit.setToolTip("Identity fitting")
        fit.setEnabled(self.fits.available)
        fit.triggered.connect(lambda: self.fits.fit([(person.id, display_name(person))]))
        selected = [p for p in self.selected_people() if p.id != person.id]
        if selected:
            merge = menu.addAction(f"Merge Selected into “{display_name(person)}”…")
            merge.triggered.connect(lambda: self.confirm_merge(person.id,
                                                               [p.id for p in selected]))
        menu.addSeparator()
        hide = menu.addAction("Show" if person.hidden else "Hide")
        hide.triggered.connect(lambda: self.hide_requested.emit(person.id, not person.hidden))
        menu.popup(self.view.viewport().mapToGlobal(pos))

    # ---- merge suggestions ------------------------------------------------------------------

    def _show_suggestion(self) -> None:
        by_id = {p.id: p for p in self.model.people()}
        for s in self._suggestions:
            a, b = by_id.get(s.person_a), by_id.get(s.person_b)
            if a is None or b is None or (a.id, b.id) in self._skipped:
                continue
            self.merge_label.setText(f"“{display_name(a)}” and “{display_name(b)}” may be the "
                                     "same person." if a.name or b.name else
                                     "Two unnamed people may be the same person.")
            self._suggested = (a, b)
            self.merge_bar.show()
            return
        self._suggested = None
        self.merge_bar.hide()

    def _merge_suggested(self) -> None:
        if self._suggested is not None:
            a, b = self._suggested  # the one with more faces is kept
            self.confirm_merge(a.id if a.faces >= b.faces else b.id,
                               [b.id if a.faces >= b.faces else a.id])

    def _skip_suggestion(self) -> None:
        if self._suggested is not None:
            a, b = self._suggested
            self._skipped.add((a.id, b.id))
        self._show_suggestion()
