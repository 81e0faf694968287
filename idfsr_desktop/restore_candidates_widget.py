"""The sampled candidates of one restored face, side by side; clicking another one asks for
it to be used instead (the photo is then composed again as a new file)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from core.restore.report import CandidateScore, FaceResult


def candidate_text(index: int, score: CandidateScore) -> str:
    """'2 · kept' for the one shown, else its number."""
    return f"{index + 1} · kept" if score.chosen else f"{index + 1}"


def candidate_tooltip(index: int, score: CandidateScore) -> str:
    """How the candidate scored: likeness to the person and mismatch with the old photo."""
    lines = [f"Candidate {index + 1} (seed {score.seed})"]
    if score.identity_similarity is not None:
        lines.append(f"Likeness to the person: {score.identity_similarity:.2f}")
    lines.append(f"Mismatch with the old photo: {score.consistency_error:.3f} (lower is closer)")
    lines.append("Shown in the photo" if score.chosen else "Click to use this one instead")
    return "\n".join(lines)


class RestoreCandidatesWidget(QListWidget):
    """One icon per candidate of the face shown; `candidate_chosen` when another is clicked."""

    candidate_chosen = Signal(int, int)  # face number, 0-based candidate

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        em = self.fontMetrics().height()
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setIconSize(QSize(em * 4, em * 4))
        self.setSpacing(em // 4)
        self.setFixedHeight(round(em * 6.6))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName("Candidates of the face")
        self.face: FaceResult | None = None
        self.busy = False
        self.itemClicked.connect(self._on_clicked)
        self.itemActivated.connect(self._on_clicked)

    def show_face(self, face: FaceResult | None, images: list[QImage], *,
                  busy: bool = False) -> None:
        """Show the face's candidates (none: empty); `busy` while another is being put in."""
        self.face, self.busy = face, busy
        self.clear()
        if face is None or len(images) != len(face.candidates):
            return
        side = round(self.iconSize().height() * self.devicePixelRatioF())
        for i, (image, score) in enumerate(zip(images, face.candidates, strict=True)):
            pixmap = QPixmap.fromImage(image.scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
            pixmap.setDevicePixelRatio(self.devicePixelRatioF())
            icon = QIcon(pixmap)
            icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the face as it is, not tinted
            item = QListWidgetItem(icon, candidate_text(i, score))
            item.setToolTip(candidate_tooltip(i, score))
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)
            if score.chosen:
                self.setCurrentItem(item)
        self.setEnabled(not busy)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        if self.face is None or self.busy:
            return
        index = int(item.data(Qt.ItemDataRole.UserRole))
        if not self.face.candidates[index].chosen:
            self.candidate_chosen.emit(self.face.number, index)
