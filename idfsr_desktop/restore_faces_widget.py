"""The faces of the current photo: who each one is (the user may change it), how sure the
match is, and once restored, the face before and after with its candidates."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from core.people.service import PersonInfo
from core.restore.report import FaceResult
from idfsr_desktop.restore_words import (
    confidence_words,
    face_state_text,
    people_names,
    person_name,
    picker_text,
    without_ids,
)

NO_ONE = -1  # the picker's data for "no one": the generic path
COLUMNS = ("Face", "Person", "Status", "Result")


def match_tooltip(face: FaceResult, names: dict[int, str] | None = None) -> str:
    """Why the face is matched so, with the candidates, and how it was restored (people by
    `names`, person id: the page's name for them; never by an internal id)."""
    names = names or {}
    m = face.match
    lines = [f"Face {face.number}: {face.size_px:.0f} px across"]
    if m.person_id is not None and m.source != "user":
        lines.append(f"Matched as {person_name(m.person_id, names, m.name)}: "
                     f"{confidence_words(m.confidence)} ({m.confidence:.0%} of such matches "
                     "are right)")
    if m.reason:
        lines.append(without_ids(m.reason, names))
    if m.weak_evidence and m.source != "user":
        lines.append("The face is too small to be sure who it is; check it.")
    if m.candidates:
        lines.append("Candidates: " + ", ".join(
            f"{person_name(c.person_id, names, c.name)} ({c.score:.2f})"
            for c in m.candidates))
    if face.status not in ("pending", ""):
        lines.append(f"Result: {face.status}" + (f", {face.path} path" if face.path else "")
                     + (f" ({face.message})" if face.message else ""))
    if face.candidates:
        lines.append("Sampled: " + "; ".join(
            f"seed {c.seed}: LR error {c.consistency_error:.3f}"
            + (f", identity {c.identity_similarity:.2f}" if c.identity_similarity is not None
               else "") + (" (kept)" if c.chosen else "") for c in face.candidates))
    return "\n".join(lines)


class RestoreFacesWidget(QTableWidget):
    """One row per face; the Person column is a picker of the library's people."""

    person_chosen = Signal(int, object)  # face number, person id (None: no one)
    face_selected = Signal(int)  # face number

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        em = self.fontMetrics().height()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(1, em * 9)  # room for a name in the picker
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column in (0, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.thumb = QSize(em * 3, em * 3)
        self.verticalHeader().setDefaultSectionSize(round(em * 3.4))
        self.setAccessibleName("Faces of the photo")
        self.itemSelectionChanged.connect(self._on_selection)
        self.faces: list[FaceResult] = []
        self.crops: dict[int, tuple[QImage, QImage]] | None = None
        self.names: dict[int, str] = {}

    def picker(self, row: int) -> QComboBox:
        """The person picker of a row."""
        widget = self.cellWidget(row, 1)
        assert isinstance(widget, QComboBox)
        return widget

    def show_faces(self, faces: list[FaceResult], people: list[PersonInfo],
                   crops: dict[int, tuple[QImage, QImage]] | None = None,
                   choices: dict[int, int | None] | None = None) -> None:
        """Fill the rows: one per face, its person (the user's choice, else the match) picked."""
        self.faces, self.crops = faces, crops
        self.names = people_names(people)
        choices = choices or {}
        self.clearContents()
        self.setRowCount(len(faces))
        for row, face in enumerate(faces):
            number = QTableWidgetItem(f"{face.number}")
            number.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            number.setData(Qt.ItemDataRole.UserRole, face.number)
            self.setItem(row, 0, number)
            self.setCellWidget(row, 1, self._make_picker(face, people, choices))
            state = QTableWidgetItem(face_state_text(face, self.names, choices))
            state.setToolTip(match_tooltip(face, self.names))
            self.setItem(row, 2, state)
            self.setCellWidget(row, 3, self._make_crops(face, (crops or {}).get(face.number)))
        if faces:  # room for the pickers' longest name (within reason), not a clipped one
            wanted = max(self.picker(row).sizeHint().width() for row in range(len(faces)))
            limit = self.fontMetrics().height() * 14
            self.setColumnWidth(1, max(self.columnWidth(1), min(wanted, limit)))

    def refresh_choices(self, choices: dict[int, int | None]) -> None:
        """Show changed choices: the pickers (a choice made elsewhere, e.g. the app's own
        screenshot, or by picking) and the Status words."""
        for row, face in enumerate(self.faces):
            item = self.item(row, 2)
            if item is not None:
                item.setText(face_state_text(face, self.names, choices))
            if face.number in choices:
                chosen = choices[face.number]
                combo = self.picker(row)
                index = combo.findData(NO_ONE if chosen is None else chosen)
                if index >= 0 and index != combo.currentIndex():
                    combo.setCurrentIndex(index)

    def _make_picker(self, face: FaceResult, people: list[PersonInfo],
                     choices: dict[int, int | None]) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(f"Person of face {face.number}")
        combo.addItem("No one (generic)", NO_ONE)
        current = choices.get(face.number, face.match.person_id)
        for person in people:
            combo.addItem(picker_text(person), person.id)
        if current is not None and combo.findData(current) < 0:  # e.g. a hidden person
            combo.addItem(person_name(current, self.names, face.match.name), current)
        combo.setCurrentIndex(max(0, combo.findData(current if current is not None else NO_ONE)))
        combo.setToolTip(match_tooltip(face, self.names))
        combo.activated.connect(lambda _=0, c=combo, n=face.number: self._on_picked(n, c))
        return combo

    def _make_crops(self, face: FaceResult, crops: tuple[QImage, QImage] | None) -> QLabel:
        label = QLabel()
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if crops is None:
            label.setText("—")  # the Status column says why there is no result
            return label
        side = self.thumb.height() * self.devicePixelRatioF()
        before, after = (QPixmap.fromImage(img).scaled(
            round(side), round(side), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation) for img in crops)
        pair = QPixmap(before.width() + after.width() + 4, max(before.height(), after.height()))
        pair.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pair)
        painter.drawPixmap(0, 0, before)
        painter.drawPixmap(before.width() + 4, 0, after)
        painter.end()
        pair.setDevicePixelRatio(self.devicePixelRatioF())
        label.setPixmap(pair)
        label.setToolTip(match_tooltip(face, self.names))
        return label

    def select_face(self, number: int) -> bool:
        """Select the row of face `number` (`face_selected` follows); False if none has it."""
        for row in range(self.rowCount()):
            item = self.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == number:
                self.selectRow(row)
                return True
        return False

    def _on_picked(self, number: int, combo: QComboBox) -> None:
        data = combo.currentData()
        self.person_chosen.emit(number, None if data == NO_ONE else int(data))

    def _on_selection(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows:
            item = self.item(rows[0].row(), 0)
            if item is not None:
                self.face_selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))
