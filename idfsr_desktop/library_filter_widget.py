"""The Library page's filter bar: folder, capture dates, faces, person and status, as one
`PhotoFilter`. The folder and person choices are read in the background."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from core.context import AppContext
from core.jobs import CancelToken, ProgressCallback
from core.library.browse import PhotoFilter, photo_folders
from core.people.service import PersonInfo, list_people
from idfsr_desktop.task_runner import TaskHandle, TaskRunner

STATUSES: tuple[tuple[str, str | None], ...] = (
    ("All", None), ("Unreadable", "error"), ("Missing", "missing"))
FACES: tuple[tuple[str, bool | None], ...] = (
    ("With or without faces", None), ("With faces", True), ("Without faces", False))
NO_DATE = QDate(1800, 1, 1)  # the date edits' minimum, shown as "Any"


def _date_edit(tip: str) -> QDateEdit:
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(NO_DATE)
    edit.setSpecialValueText("Any")  # shown at the minimum: no bound
    edit.setDate(NO_DATE)
    edit.setToolTip(tip)
    return edit


def _day(edit: QDateEdit) -> date | None:
    value = edit.date()
    return None if value == NO_DATE else date(value.year(), value.month(), value.day())


def _choices_job(ctx: AppContext, *, progress: ProgressCallback, cancel: CancelToken
                 ) -> tuple[list[str], list[PersonInfo]]:
    return photo_folders(ctx), list_people(ctx, best=0)


class LibraryFilterWidget(QWidget):
    """A row of filter controls; `changed(PhotoFilter)` whenever one of them changes."""

    changed = Signal(object)  # PhotoFilter

    def __init__(self, ctx: AppContext, runner: TaskRunner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._runner = ctx, runner
        self.folder_combo = QComboBox()
        self.folder_combo.setToolTip("Only the photos under this folder")
        self.folder_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.folder_combo.setMinimumContentsLength(14)
        self.from_edit = _date_edit("Taken on or after this day (photos without a date drop out)")
        self.to_edit = _date_edit("Taken on or before this day (photos without a date drop out)")
        self.faces_combo = self._combo(FACES, "Photos with faces, or without")
        self.person_combo = QComboBox()
        self.person_combo.setToolTip("Only the photos this person is in")
        self.person_combo.setMinimumContentsLength(10)
        self.person_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.status_combo = self._combo(STATUSES, "Only the photos with this status")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Show every photo again")
        self.clear_button.clicked.connect(self.clear)
        self._fill_folders([])
        self._fill_people([])

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for text, widget in (("&Folder:", self.folder_combo), ("F&rom:", self.from_edit),
                             ("&To:", self.to_edit), (None, self.faces_combo),
                             ("&Person:", self.person_combo), ("S&how:", self.status_combo)):
            if text is not None:
                label = QLabel(text)
                label.setBuddy(widget)
                row.addWidget(label)
            row.addWidget(widget)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        for combo in (self.folder_combo, self.faces_combo, self.person_combo,
                      self.status_combo):
            combo.currentIndexChanged.connect(self._emit)
        for edit in (self.from_edit, self.to_edit):
            edit.dateChanged.connect(self._emit)
        self._update_clear()

    @staticmethod
    def _combo(choices: tuple[tuple[str, Any], ...], tip: str) -> QComboBox:
        combo = QComboBox()
        for text, value in choices:
            combo.addItem(text, value)
        combo.setToolTip(tip)
        return combo

    def photo_filter(self) -> PhotoFilter:
        """The filter the controls say."""
        return PhotoFilter(status=self.status_combo.currentData(),
                           folder=self.folder_combo.currentData(),
                           date_from=_day(self.from_edit), date_to=_day(self.to_edit),
                           has_faces=self.faces_combo.currentData(),
                           person_id=self.person_combo.currentData())

    def clear(self) -> None:
        """Every control back to 'any' (one `changed`)."""
        self.blockSignals(True)
        for combo in (self.folder_combo, self.faces_combo, self.person_combo,
                      self.status_combo):
            combo.setCurrentIndex(0)
        for edit in (self.from_edit, self.to_edit):
            edit.setDate(NO_DATE)
        self.blockSignals(False)
        self._emit()

    def refresh_choices(self) -> TaskHandle | None:
        """Read the folders and people again (in the background when there is a runner)."""
        if self._runner is None:
            self._show_choices(_choices_job(self._ctx, progress=lambda _: None,
                                            cancel=CancelToken()))
            return None
        return self._runner.submit(functools.partial(_choices_job, self._ctx),
                                   title="Reading folders and people", listed=False,
                                   on_finished=self._show_choices)

    def _show_choices(self, choices: tuple[list[str], list[PersonInfo]]) -> None:
        folders, people = choices
        before = self.photo_filter()
        self.blockSignals(True)  # a vanished choice falls back to "any": said once, below
        self._fill_folders(folders)
        self._fill_people(people)
        self.blockSignals(False)
        if self.photo_filter() != before:
            self._emit()

    def _fill_folders(self, folders: list[str]) -> None:
        current = self.folder_combo.currentData()
        self.folder_combo.clear()
        self.folder_combo.addItem("All folders", None)
        for folder in folders:
            self.folder_combo.addItem(folder, folder)
            self.folder_combo.setItemData(self.folder_combo.count() - 1, folder,
                                          Qt.ItemDataRole.ToolTipRole)
        self.folder_combo.setCurrentIndex(max(0, self.folder_combo.findData(current)))

    def _fill_people(self, people: list[PersonInfo]) -> None:
        current = self.person_combo.currentData()
        self.person_combo.clear()
        self.person_combo.addItem("Anyone", None)
        for person in sorted(people, key=lambda p: (p.name is None, (p.name or "").lower(),
                                                    p.id)):
            self.person_combo.addItem(person.label, person.id)
        self.person_combo.setCurrentIndex(max(0, self.person_combo.findData(current)))

    def _emit(self, *_: object) -> None:
        self._update_clear()
        self.changed.emit(self.photo_filter())

    def _update_clear(self) -> None:
        self.clear_button.setEnabled(self.photo_filter().narrows)
