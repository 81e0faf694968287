"""The Restore page as people use it, through its real widgets: one strength slider (Advanced
closed), progress in words ("face 3 of 8", whose face is being learnt, time left), plain words
per face, number badges that never overlap, Save As (the original never written), the reason
when nothing was restored, and the divider on the arrow keys.

The photos shown here are results as the engine reports them (its own dataclasses, files with
their notes written as a run writes them); the engine itself runs in test_gui_restore.py."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QTableWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.db.models import Person
from core.jobs import CancelToken, Progress
from core.library.service import add_root
from core.restore.matching import Match, PersonScore
from core.restore.notes import RestoreNote, xmp_packet
from core.restore.options import RestoreOptions
from core.restore.outputs import sidecar_paths
from core.restore.report import FaceResult, PhotoResult
from idfsr_desktop.before_after_widget import BeforeAfterWidget, FaceMark
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.restore_controller import QueuedPhoto, run_summary
from idfsr_desktop.restore_knobs_widget import DEFAULT_STRENGTH, RestoreKnobsWidget
from idfsr_desktop.restore_progress import RestoreProgress
from idfsr_desktop.restore_words import outcome_text


@pytest.fixture
def window(qtbot: QtBot, app: AppContext, tmp_path: Path) -> Iterator[MainWindow]:
    """A shown window past its welcome page (the library has a folder, still empty)."""
    (tmp_path / "library").mkdir()
    add_root(app, tmp_path / "library")
    win = MainWindow(app)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(win.is_idle, timeout=20_000)
    yield win
    win.close()


def match(person: int | None = None, name: str | None = None, confidence: float = 0.0, *,
          source: str = "auto", weak: bool = False) -> Match:
    return Match(person, name, confidence, 0.5, 0.2, weak, source if person or source == "user"
                 else "none", True)


def face(number: int, m: Match, status: str = "pending", path: str = "", message: str = "",
         box: tuple[float, float, float, float] | None = None) -> FaceResult:
    box = box or (10.0 + 30 * number, 10.0, 30.0 + 30 * number, 34.0)
    return FaceResult(number, box, [[0.0, 0.0]] * 5, box[2] - box[0], 0.9, m, status, path,
                      message)


def queue(window: MainWindow, photo: QueuedPhoto) -> None:
    """Put a photo on the page as the controller would once its faces are found."""
    window.restorer.photos.append(photo)
    window.restorer.changed.emit(None)
    window.restore.select(photo)


def grey_image(w: int = 200, h: int = 80) -> QImage:
    image = QImage(w, h, QImage.Format.Format_RGB32)
    image.fill(0x808080)
    return image


# ---- one action, one strength ----------------------------------------------------------------

def test_strength_slider_maps_onto_the_knobs_and_advanced_starts_closed(
        qtbot: QtBot, window: MainWindow) -> None:
    window.show_page("restore")
    knobs = window.restore.options
    assert isinstance(knobs, RestoreKnobsWidget)
    assert knobs.slider.isVisible() and not knobs.advanced.isVisible()
    assert not knobs.advanced_button.isChecked()
    # The measured defaults sit at the slider's default position.
    defaults = RestoreOptions()
    assert knobs.slider.value() == DEFAULT_STRENGTH
    assert (knobs.options().fidelity, knobs.options().identity_strength) == (
        defaults.fidelity, defaults.identity_strength) == (0.5, 1.0)
    assert knobs.strength_label.text().startswith("Balanced")

    knobs.slider.setFocus()
    qtbot.keyClick(knobs.slider, Qt.Key.Key_Right)
    qtbot.keyClick(knobs.slider, Qt.Key.Key_Right)
    more = knobs.options()
    assert more.fidelity < 0.5 and more.identity_strength > 1.0  # more like the person
    knobs.slider.setValue(0)
    faithful = knobs.options()
    assert faithful.fidelity == 1.0 and faithful.identity_strength < 1.0

    # Tab: from the slider to Advanced to Restore while it is closed, into it when open.
    queue(window, QueuedPhoto(Path("d.jpg"), "ready", before=grey_image(), found=PhotoResult(
        "d.jpg", faces=[face(1, match())])))
    assert window.restore.run_button.isEnabled()
    window.activateWindow()
    knobs.slider.setFocus()
    tabbed = []
    for _ in range(3):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        tabbed.append(QApplication.focusWidget())
    assert tabbed[:2] == [knobs.advanced_button, window.restore.run_button]
    qtbot.mouseClick(knobs.advanced_button, Qt.MouseButton.LeftButton)
    assert knobs.advanced.isVisible()
    knobs.advanced_button.setFocus()
    qtbot.keyClick(knobs.advanced_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is knobs.knobs.fidelity
    assert knobs.consistency.text() == "Off" and knobs.knobs.scale.text() == "Auto"
    assert knobs.knobs.fidelity.value() == 1.0  # the slider wrote into Advanced
    knobs.knobs.fidelity.setValue(0.55)  # by hand: off the slider's line
    assert knobs.strength_label.text().startswith("Custom")
    knobs.sampler.setCurrentIndex(knobs.sampler.findData("dpm++"))
    assert knobs.options().sampler == "dpm++" and knobs.options().fidelity == 0.55
    for widget in (knobs.slider, knobs.advanced_button, knobs.sampler, knobs.consistency,
                   knobs.knobs.steps, window.restore.run_button):
        assert widget.accessibleName() or widget.text()  # type: ignore[attr-defined]


# ---- progress in words -----------------------------------------------------------------------

def test_progress_says_which_face_whose_fit_and_keeps_one_bar(qtbot: QtBot,
                                                              window: MainWindow) -> None:
    page, controller = window.restore, window.restorer
    window.show_page("restore")
    first = QueuedPhoto(Path("a.jpg"), "restoring", found=PhotoResult(
        "a.jpg", faces=[face(1, match()), face(2, match(7, "Barack Obama", 0.93)),
                        face(3, match(8, "Joe Biden", 0.8))]))
    first.choices = {3: None}
    second = QueuedPhoto(Path("b.jpg"), "restoring", found=PhotoResult(
        "b.jpg", faces=[face(1, match(8, "Joe Biden", 0.95))]))
    # The run as run() starts it: a task of the shared runner (held open here) whose
    # progress is what the engine reports.
    release = threading.Event()

    def held(*, progress: object, cancel: CancelToken) -> None:
        while not release.wait(0.05) and not cancel.cancelled:
            pass

    controller.running_photos = [first, second]
    controller.task = window.runner.submit(held, title="Restoring 2 photos",
                                           on_progress=controller.progress.emit)
    controller.task.ended.connect(lambda: controller.running_changed.emit(False))
    controller.running_changed.emit(True)
    texts, bars = [], []

    def report(stage: str, done: int, total: int, message: str = "") -> None:
        assert controller.task is not None  # its reports, as they come from the worker
        controller.task.progress.emit(Progress(stage, done, total, message))
        texts.append(page.status_label.text())
        bars.append(page.run_box.bar.value())

    report("restore", 0, 2, "restoring a.jpg")
    report("face", 0, 3, "face 1 of 3")
    for step in range(1, 5):
        report("sample", step, 4)
    report("face", 1, 3, "face 2 of 3")
    report("faces", 2, 5, "reading the person's photos")
    report("fit", 10, 100, "fitting identity")
    report("fit-check", 1, 2, "checking identity after fitting")
    report("sample", 2, 4)
    report("face", 2, 3, "face 3 of 3")
    report("sample", 4, 4)
    assert texts[1].startswith("Restoring face 1 of 3")
    assert texts[6].startswith("Restoring face 2 of 3")
    assert texts[7] == "Reading Barack Obama's photos…"
    assert texts[8].startswith("Learning Barack Obama's face… step 10 of 100")
    assert texts[9].startswith("Learning Barack Obama's face…")
    assert texts[10].startswith("Restoring face 2 of 3")
    assert texts[11].startswith("Restoring face 3 of 3")  # face 3: nobody, by the user
    assert bars == sorted(bars) and bars[-1] == 1000  # one bar for the photo, never back
    assert page.run_box.queue_bar.isVisible()
    assert page.run_box.queue_label.text().startswith("Queue: photo 1 of 2")
    report("restore", 1, 2, "restoring b.jpg")
    report("face", 0, 1)
    assert page.run_box.queue_label.text().startswith("Queue: photo 2 of 2")
    assert page.run_box.bar.value() == 0 and page.run_box.queue_bar.value() == 500
    report("fit", 1, 50)
    assert texts[-1].startswith("Learning Joe Biden's face…")
    # The status bar says it in the same words, its bar on the queue's fraction.
    assert window.task_status.label.text() == f"Restoring 2 photos: {texts[-1]}"
    assert window.task_status.bar.value() == 500
    release.set()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=10_000)
    assert not page.run_box.bar.isVisible() and not page.run_box.queue_bar.isVisible()


def test_time_left_for_the_photo_and_the_queue() -> None:
    now = [0.0]
    progress = RestoreProgress(2, clock=lambda: now[0])
    progress.update(Progress("restore", 0, 2))
    progress.update(Progress("face", 0, 2))
    now[0] = 30.0
    progress.update(Progress("face", 1, 2))  # half the photo in 30 s
    assert progress.text() == "Restoring face 2 of 2 · about 30 s left for this photo"
    assert progress.queue_text() == "Queue: photo 1 of 2 · about 2 min left in all"
    progress.update(Progress("fit", 0, 100))
    now[0] = 40.0
    progress.update(Progress("fit", 50, 100))
    assert progress.text() == "Learning this person's face… step 50 of 100 · about 10 s left"


# ---- plain words per face --------------------------------------------------------------------

def test_face_table_says_what_became_of_each_face(qtbot: QtBot, window: MainWindow) -> None:
    page = window.restore
    window.show_page("restore")
    found = PhotoResult("c.jpg", "found", faces=[
        face(1, match(7, "Barack Obama", 0.93)), face(2, match(8, "Joe Biden", 0.85, weak=True)),
        face(3, match(9, "Jill Biden", 0.72)), face(4, match()),
        face(5, match(8, "Joe Biden", 0.75, source="user", weak=True))])
    photo = QueuedPhoto(Path("c.jpg"), "ready", found=found, before=grey_image())
    queue(window, photo)
    table = page.faces
    rows = [table.item(r, 2).text() for r in range(table.rowCount())]
    assert rows == ["Very likely Barack Obama", "Likely Joe Biden (small face: check)",
                    "Unsure Jill Biden", "No match: no known identity", "Joe Biden (your choice)"]
    assert "weak" not in " ".join(rows).lower()
    assert table.horizontalHeaderItem(2).text() == "Status"

    # A number badge on the photo names its face and selects its row.
    badge = page.view.badge_rects()[2]
    qtbot.mouseClick(page.view, Qt.MouseButton.LeftButton, pos=badge.center().toPoint())
    assert table.currentRow() == 1 and page.view.selected_face == 2
    badge = page.view.badge_rects()[2]  # where it is now, the view zoomed on face 2
    qtbot.mouseMove(page.view, badge.center().toPoint())
    assert page.view.toolTip().startswith("Face 2: Joe Biden")

    window.restorer.set_choice(photo, 3, None)  # the user: nobody
    assert table.item(2, 2).text() == "No one (your choice): no known identity"
    assert table.picker(2).currentText().startswith("No one")

    photo.result = PhotoResult("c.jpg", "restored", faces=[
        face(1, match(7, "Barack Obama", 0.93), "restored", "personal"),
        face(2, match(8, "Joe Biden", 0.85), "restored", "generic"),
        face(3, match(), "skipped", "", "already sharp: the face is 88 px across, as much as "
                                         "the model restores (64 px); --large-faces cleans it"),
        face(4, match(), "failed", "", "could not restore this face: bad landmarks")])
    photo.status = "restored"
    window.restorer.changed.emit(photo)
    rows = [table.item(r, 2).text() for r in range(table.rowCount())]
    assert rows == ["Restored as Barack Obama", "Restored without a known identity",
                    "Skipped: already sharp (88 px)", "Not restored: bad landmarks"]


def visible_texts(root: QWidget) -> list[str]:
    """Every text a user can read on `root` and its shown children, tooltips and the entries
    of lists included."""
    texts: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root):
            continue
        texts.append(widget.toolTip())
        if isinstance(widget, (QLabel, QAbstractButton)):
            texts.append(widget.text())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QListWidget):
            texts += [widget.item(i).text() for i in range(widget.count())]
        if isinstance(widget, QTableWidget):
            items = (widget.item(r, c) for r in range(widget.rowCount())
                     for c in range(widget.columnCount()))
            texts += [t for i in items if i is not None for t in (i.text(), i.toolTip())]
    return texts


def test_people_without_a_name_are_never_shown_by_an_internal_id(
        qtbot: QtBot, window: MainWindow, app: AppContext) -> None:
    with app.db.session() as session:
        unnamed, other = Person(name=None), Person(name=None)
        session.add_all([unnamed, other, Person(name="Ann")])
        session.flush()
        nobody_id, other_id = unnamed.id, other.id
    page = window.restore
    window.show_page("restore")
    close = [PersonScore(nobody_id, None, 0.41), PersonScore(other_id, None, 0.30)]
    found = PhotoResult("u.jpg", "found", faces=[
        face(1, match(nobody_id, None, 0.93)),
        face(2, Match(None, None, 0.0, 0.41, 0.30, True, "none", True,
                      f"best candidate #{nobody_id} at confidence 0.31, below 0.50", close,
                      0.31)),
        face(3, match())])
    photo = QueuedPhoto(Path("u.jpg"), "ready", found=found, before=grey_image(120, 40))
    queue(window, photo)
    window.restorer.set_choice(photo, 3, other_id)

    texts = visible_texts(page) + [m.label for m in page.view.marks]
    assert [t for t in texts if re.search(r"#\d", t)] == []
    assert page.faces.item(0, 2).text() == "Very likely Unnamed person"
    assert page.faces.item(2, 2).text() == "Unnamed person (your choice)"
    assert "best candidate Unnamed person at confidence 0.31" in page.faces.item(1, 2).toolTip()
    assert page.view.marks[2].label == "Unnamed person"
    picked = page.faces.picker(0)
    entries = [picked.itemText(i) for i in range(picked.count())]
    assert entries[0].startswith("No one") and "Ann" in entries
    assert sum(e.startswith("Unnamed person") for e in entries) == 2

    # Restored: the words and the status bar say it in the same way.
    photo.result = PhotoResult("u.jpg", "restored", faces=[
        face(1, match(nobody_id, None, 0.93), "restored", "personal"),
        face(2, found.faces[1].match, "restored", "generic"),
        face(3, match(other_id, None, 0.0, source="user"), "restored", "personal")])
    photo.status = "restored"
    window.restorer.changed.emit(photo)
    texts = visible_texts(page) + [m.label for m in page.view.marks]
    assert [t for t in texts if re.search(r"#\d", t)] == []
    assert page.faces.item(0, 2).text() == "Restored as Unnamed person"


def test_a_face_sampled_once_offers_no_choice_of_candidates(qtbot: QtBot,
                                                           window: MainWindow) -> None:
    result = PhotoResult("one.jpg", "restored", faces=[
        face(1, match(), "restored", "generic")])
    photo = QueuedPhoto(Path("one.jpg"), "restored", found=result, result=result,
                        before=grey_image(), after=grey_image(400, 160),
                        candidates={1: [grey_image(32, 32)]})
    window.show_page("restore")
    queue(window, photo)
    window.restore.faces.select_face(1)
    label = window.restore.candidates_label.text()
    assert label == "Face 1: one candidate (more under Advanced give a choice)"
    photo.candidates[1].append(grey_image(32, 32))
    window.restore.faces.clearSelection()
    window.restore.faces.select_face(1)
    assert window.restore.candidates_label.text().startswith("Face 1: 2 candidates; click")

# ---- badges on the photo ---------------------------------------------------------------------

@pytest.mark.parametrize("size", [QSize(420, 300), QSize(260, 190)])
def test_number_badges_never_overlap_even_for_crowded_faces(qtbot: QtBot, size: QSize) -> None:
    view = BeforeAfterWidget()
    qtbot.addWidget(view)
    view.resize(size)
    view.show()
    view.set_images(grey_image(400, 300), None)
    # A crowd: eleven faces 14 px across, 2 px apart, in two rows touching each other.
    marks = [FaceMark(n + 1, (40 + 16 * (n % 6), 100 + 16 * (n // 6), 54 + 16 * (n % 6),
                              114 + 16 * (n // 6)), f"person {n}") for n in range(11)]
    view.set_marks(marks)
    badges = view.badge_rects()
    assert sorted(badges) == [m.number for m in marks]
    placed = list(badges.values())
    for i, a in enumerate(placed):
        assert QSize(round(a.width()), round(a.height())).isValid()
        for b in placed[i + 1:]:
            assert not a.intersects(b), (a, b)
    view.grab()  # and they paint


# ---- Save As ---------------------------------------------------------------------------------

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_as_writes_the_chosen_files_and_never_the_original(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    page = window.restore
    window.show_page("restore")
    rng = np.random.default_rng(1)
    original = tmp_path / "album" / "grandma.jpg"
    original.parent.mkdir()
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), np.uint8)).save(original)
    before = _sha(original)
    work = tmp_path / "work" / "grandma-restored.jpg"
    work.parent.mkdir()
    Image.fromarray(rng.integers(0, 255, (80, 100, 3), np.uint8)).save(work)
    sidecar_paths(work)[0].write_bytes(RestoreNote(source=str(original),
                                                   output=str(work)).to_bytes())
    sidecar_paths(work)[1].write_bytes(xmp_packet(source="grandma.jpg", model_sha256="ab",
                                                  persons=[], faces=1, personal=0))
    result = PhotoResult(str(original), "restored", output=str(work),
                         faces=[face(1, match(), "restored", "generic")])
    photo = QueuedPhoto(original, "restored", found=result, result=result,
                        before=grey_image(50, 40), after=grey_image(100, 80))
    queue(window, photo)
    assert page.save_button.isEnabled() and not page.reveal_button.isEnabled()

    asked: list[tuple[str, str]] = []
    chosen = tmp_path / "exports" / "for the family"  # no suffix: the filter's format counts

    def save_dialog(parent: object, caption: str, start: str, filters: str, selected: str
                    ) -> tuple[str, str]:
        asked.append((start, selected))
        webp = next(f for f in filters.split(";;") if "WebP" in f)
        return str(chosen), webp

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    page.comparison_box.setChecked(True)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(photo.exported) == 1, timeout=20_000)
    start, selected = asked[0]
    assert Path(start) == window.restorer.output_folder() / "grandma-restored.jpg"
    assert selected.startswith("JPEG")  # the result's own format is offered first
    saved = chosen.with_name("for the family.webp")
    assert photo.exported == [saved]
    with Image.open(saved) as img:
        assert img.format == "WEBP" and img.size == (100, 80)
    comparison = chosen.with_name("for the family-comparison.webp")
    with Image.open(comparison) as img:
        assert img.height == 80 and img.width > 200
    assert "Saved as for the family.webp" in page.saved_label.text()
    assert "Saved for the family.webp" in window.task_status.label.text()
    assert _sha(original) == before and sorted(original.parent.iterdir()) == [original]

    assert page.reveal_button.isEnabled()
    qtbot.mouseClick(page.reveal_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(saved.parent))]

    # Again under the same name: a new file beside it, nothing replaced.
    page.comparison_box.setChecked(False)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(photo.exported) == 2, timeout=20_000)
    assert asked[1][0].startswith(str(chosen.parent))  # the folder used last time
    assert photo.exported[1] == chosen.with_name("for the family-2.webp")
    assert "taken" in page.saved_label.text() and _sha(original) == before


# ---- the reason when nothing was restored ----------------------------------------------------

def test_nothing_restored_says_why_never_done(qtbot: QtBot, window: MainWindow) -> None:
    page = window.restore
    window.show_page("restore")
    sharp = PhotoResult("big.jpg", "unchanged", faces=[
        face(n, match(), "skipped", "", f"already sharp: the face is {90 + n} px across")
        for n in (1, 2)])
    photo = QueuedPhoto(Path("big.jpg"), "unchanged", found=sharp, result=sharp,
                        before=grey_image())
    queue(window, photo)
    assert page.status_label.text() == "All faces already sharp: nothing to restore."
    assert page.queue.currentItem().text() == "big.jpg\nAll faces already sharp"
    assert run_summary([photo]) == "big.jpg: All faces already sharp: nothing to restore."
    empty = QueuedPhoto(Path("wall.jpg"), "unchanged", result=PhotoResult("wall.jpg"))
    summary = run_summary([photo, empty])
    assert summary.startswith("Restored 0 of 2 photos.") and "No faces found" in summary
    assert "done" not in summary.lower()
    window.restorer.summary.emit(summary)
    assert window.task_status.label.text() == summary


# ---- the divider on the keyboard -------------------------------------------------------------

def test_arrow_keys_move_the_divider(qtbot: QtBot) -> None:
    view = BeforeAfterWidget()
    qtbot.addWidget(view)
    view.resize(300, 200)
    view.show()
    view.set_images(grey_image(), grey_image(400, 160))
    assert view.accessibleName() and "arrow" in view.accessibleDescription()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.divider == pytest.approx(0.52)
    qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert view.divider == pytest.approx(0.42)
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.divider == 1.0
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.divider == 1.0  # held at the edge


def test_a_repaired_photo_without_restored_faces_says_so(qtbot: QtBot, window: MainWindow
                                                          ) -> None:
    page = window.restore
    window.show_page("restore")
    field = PhotoResult("field.jpg", "restored", output="field-restored.jpg")
    photo = QueuedPhoto(Path("field.jpg"), "restored", found=PhotoResult("field.jpg"),
                        result=field, before=grey_image())
    assert photo.restorable  # no faces, yet a run still repairs it
    queue(window, photo)
    assert page.status_label.text().startswith("Repaired the photo; no faces found.")
    sharp = PhotoResult("big.jpg", "restored", output="big-restored.jpg", faces=[
        face(1, match(), "skipped", "", "already sharp: the face is 140 px across")])
    assert outcome_text(sharp, "restored") == "Repaired the photo; all faces already sharp."
