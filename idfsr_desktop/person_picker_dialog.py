"""Choose a person (to move faces to): a filterable list with cover faces."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from idfsr_desktop.person_list_model import PersonListModel, PersonRole


class PersonPickerDialog(QDialog):
    """Lists the model's people (the caller leaves out whom it must); `chosen_id` once accepted."""

    def __init__(self, model: PersonListModel, prompt: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a Person")
        self.model = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        em = self.fontMetrics().height()

        label = QLabel(prompt)
        label.setWordWrap(True)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Type a name to filter")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter)
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setIconSize(QSize(em * 3, em * 3))
        self.view.setSpacing(2)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setDragEnabled(False)
        self.view.doubleClicked.connect(lambda _: self.accept())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.view.selectionModel().currentChanged.connect(lambda *_: self._update_ok())

        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)
        self.resize(em * 24, em * 30)
        self._update_ok()

    def select_person(self, person_id: int) -> bool:
        """Make this person the choice (False if not listed)."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(PersonRole).id == person_id:
                self.view.setCurrentIndex(index)
                return True
        return False

    @property
    def chosen_id(self) -> int | None:
        """The chosen person's id."""
        index: QModelIndex = self.view.currentIndex()
        return index.data(PersonRole).id if index.isValid() else None

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if self.proxy.rowCount() and not self.view.currentIndex().isValid():
            self.view.setCurrentIndex(self.proxy.index(0, 0))
        self._update_ok()

    def _update_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.view.currentIndex().isValid())
