"""The Library page's filter bar: folder, capture dates, faces, person and status, as one
`PhotoFilter`. The folder and person choices are read in the background. The filters are
remembered for the next session in the window settings."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QLabel,
    QPushButton,
    QWidget,
)

from core.context import AppContext
from core.jobs import CancelToken, ProgressCallback
from core.library.browse import PhotoFilter, photo_folders
from core.people.service import PersonInfo, list_people
from idfsr_desktop.flow_layout import FlowLayout, flow_row
from idfsr_desktop.task_runner import TaskHandle, TaskRunner
from idfsr_desktop.window_settings import window_settings

STATUSES: tuple[tuple[str, str | None], ...] = (
    ("All", None), ("Unreadable", "error"), ("Missing", "missing"))
FACES: tuple[tuple[str, bool | None], ...] = (
    ("With or without faces", None), ("With faces", True), ("Without faces", False))
NO_DATE = QDate(1800, 1, 1)  # the date edits' minimum, shown as "Any"
SETTINGS_GROUP = "library_filters"


class FilterDateEdit(QDateEdit):
    """A date field that Tab leaves at once. QDateTimeEdit walks its sections with Tab, and
    while it shows the special value ("Any") it never reaches the last one: Tab was trapped
    in the field. The sections stay reachable with the arrow keys."""

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002 (Qt's name)
        return QWidget.focusNextPrevChild(self, next)


def _date_edit(tip: str) -> QDateEdit:
    edit = FilterDateEdit()
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


def _saved(value: object) -> str:
    """A choice's data as the settings file keeps it ("" for 'any')."""
    return "" if value is None else str(value)


def _select(combo: QComboBox, saved: str) -> bool:
    """Choose the item whose data was saved as `saved`; False (and 'any') if none is."""
    for index in range(combo.count()):
        if _saved(combo.itemData(index)) == saved:
            combo.setCurrentIndex(index)
            return True
    combo.setCurrentIndex(0)
    return False


def _choices_job(ctx: AppContext, *, progress: ProgressCallback, cancel: CancelToken
                 ) -> tuple[list[str], list[PersonInfo]]:
    return photo_folders(ctx), list_people(ctx, best=0)


class LibraryFilterWidget(QWidget):
    """A bar of filter controls, wrapping onto more rows when narrow; `changed(PhotoFilter)`
    whenever one of them changes."""

    changed = Signal(object)  # PhotoFilter
    choices_loaded = Signal()  # `folders` and `people` were read again

    def __init__(self, ctx: AppContext, runner: TaskRunner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._runner = ctx, runner
        self._pending: dict[QComboBox, str] = {}  # saved choices not read yet: folder, person
        self.folders: list[str] = []  # the library's folders of photos, as last read
        self.people: list[PersonInfo] = []  # its visible people, as last read
        self.folder_combo = QComboBox()
        self.folder_combo.setToolTip("Only the photos under this folder")
        self.folder_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.folder_combo.setMinimumContentsLength(14)
        self.from_edit = _date_edit("Taken on or after this day (photos without a date drop out)")
        self.to_edit = _date_edit("Taken on or before this day (photos without a date drop out)")
        self.faces_combo = self._combo(FACES, "Photos with faces, or without")
        self.faces_combo.setAccessibleName("Faces")  # the one control without a label
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

        # The controls wrap onto further rows in a narrow window (or with large fonts); a
        # label stays on the row of its control.
        flow = FlowLayout(self)
        flow.setContentsMargins(0, 0, 0, 0)
        for text, widget in (("&Folder:", self.folder_combo), ("F&rom:", self.from_edit),
                             ("&To:", self.to_edit), (None, self.faces_combo),
                             ("&Person:", self.person_combo), ("S&how:", self.status_combo)):
            if text is None:
                flow.addWidget(widget)
                continue
            label = QLabel(text)
            label.setBuddy(widget)
            flow.addWidget(flow_row(label, widget))
        flow.addWidget(self.clear_button)

        for combo in (self.folder_combo, self.faces_combo, self.person_combo,
                      self.status_combo):
            combo.currentIndexChanged.connect(self._emit)
        for edit in (self.from_edit, self.to_edit):
            edit.dateChanged.connect(self._emit)
        self._restore_saved()
        self._update_clear()

    @staticmethod
    def _combo(choices: tuple[tuple[str, Any], ...], tip: str) -> QComboBox:
        combo = QComboBox()
        for text, value in choices:
            combo.addItem(text, value)
        combo.setToolTip(tip)
        return combo

    def _combos(self) -> dict[str, QComboBox]:
        return {"folder": self.folder_combo, "faces": self.faces_combo,
                "person": self.person_combo, "status": self.status_combo}

    def _edits(self) -> dict[str, QDateEdit]:
        return {"from": self.from_edit, "to": self.to_edit}

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
        self.folders, self.people = folders, people
        before = self.photo_filter()
        self.blockSignals(True)  # a vanished choice falls back to "any": said once, below
        self._fill_folders(folders)
        self._fill_people(people)
        settled = bool(self._pending)
        for combo, saved in self._pending.items():
            _select(combo, saved)
        self._pending.clear()
        self.blockSignals(False)
        if self.photo_filter() != before:
            self._emit()
        elif settled:
            self._save()  # a remembered folder or person that is gone is forgotten
        self.choices_loaded.emit()

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

    def _restore_saved(self) -> None:
        """The filters of the last session. The folder and the person wait for their choices
        (read in the background); one that no longer exists falls back to 'any' then."""
        settings = window_settings(self._ctx)
        self.blockSignals(True)
        for key, combo in self._combos().items():
            saved = settings.value(f"{SETTINGS_GROUP}/{key}", "")
            if isinstance(saved, str) and saved and not _select(combo, saved) \
                    and combo in (self.folder_combo, self.person_combo):
                self._pending[combo] = saved
        for key, edit in self._edits().items():
            saved = settings.value(f"{SETTINGS_GROUP}/{key}", "")
            day = QDate.fromString(saved, Qt.DateFormat.ISODate) if isinstance(saved, str) \
                else QDate()
            edit.setDate(day if day.isValid() else NO_DATE)
        self.blockSignals(False)

    def _save(self) -> None:
        settings = window_settings(self._ctx)
        for key, combo in self._combos().items():
            settings.setValue(f"{SETTINGS_GROUP}/{key}",
                              self._pending.get(combo, _saved(combo.currentData())))
        for key, edit in self._edits().items():
            day = _day(edit)
            settings.setValue(f"{SETTINGS_GROUP}/{key}", "" if day is None else day.isoformat())
        settings.sync()

    def _emit(self, *_: object) -> None:
        self._update_clear()
        if not self.signalsBlocked():  # the user's change, not choices being filled in
            self._save()
        self.changed.emit(self.photo_filter())

    def _update_clear(self) -> None:
        self.clear_button.setEnabled(self.photo_filter().narrows)
