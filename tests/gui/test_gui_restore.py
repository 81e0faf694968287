"""The Restore page with the real engine: the demo library as the people, a tiny seeded model,
an old photo whose faces are 12-20 px. Drop it, see its faces and who they are, change one,
restore, compare before/after, cancel a run, export; the files on disk are checked and the
original must be byte-identical."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot
from qt_drag import drop
from restore_support import GROUPS, old_print_of_two_people

from core.context import AppContext
from core.people.service import resolve_person
from core.restore.options import RestoreOptions
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.restore_faces_widget import NO_ONE

FAST = RestoreOptions(steps=1, candidates=2, fit_steps=1, scale=2.0)


@pytest.fixture
def demo_app(restore_demo_home: Path, tmp_path: Path) -> Iterator[AppContext]:
    home = tmp_path / "home"
    shutil.copytree(restore_demo_home, home)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; the model is tiny
    ctx = AppContext.open(home)
    yield ctx
    ctx.close()
    torch.set_num_threads(before)


@pytest.fixture
def old_photo(tmp_path: Path) -> Path:
    """Obama and Biden, shrunk ten times and grey: an old print scanned small."""
    return old_print_of_two_people(tmp_path / "old photos" / "grey.png")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def window(qtbot: QtBot, demo_app: AppContext) -> Iterator[MainWindow]:
    win = MainWindow(demo_app)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def test_drop_change_person_restore_compare_export(qtbot: QtBot, window: MainWindow,
                                                   demo_app: AppContext, old_photo: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    original = sha(old_photo)
    page = window.restore
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    window.show_page("restore")
    assert page.centre.currentWidget() is page.empty_state
    assert not drop(page, [notes])  # no photo: the drag is refused
    assert drop(page, [old_photo, notes])  # the text file is ignored
    assert [p.path.name for p in window.restorer.photos] == ["grey.png"]
    window.show_page("library")
    assert drop(window, [old_photo])  # on the window: the Restore page opens; queued once
    assert window.current_page() == "restore" and len(window.restorer.photos) == 1

    # The faces are found and matched in the background.
    faces = page.faces
    qtbot.waitUntil(lambda: faces.rowCount() == 2, timeout=60_000)
    photo = page.current
    assert photo is not None and photo.status == "ready"
    assert page.centre.currentIndex() == 1 and not page.view.has_result()
    assert len(page.view.marks) == 2
    biden = faces.picker(1)
    assert biden.currentText() == "Joe Biden"
    assert faces.item(1, 2).text().endswith("Joe Biden (small face: check)")
    assert faces.horizontalHeaderItem(2).text() == "Status"
    assert "Joe Biden" in page.view.marks[1].label and page.view.marks[1].weak

    # Face 1 is Obama, says the user; face 2 back and forth ends on Biden.
    obama = resolve_person(demo_app, "Barack Obama")
    picker = faces.picker(0)
    picker.setCurrentIndex(picker.findData(obama))
    picker.activated.emit(picker.currentIndex())
    assert photo.choices == {1: obama}
    assert faces.item(0, 2).text() == "Barack Obama (your choice)"
    assert page.view.marks[0].label == "Barack Obama"
    biden.setCurrentIndex(biden.findData(NO_ONE))
    biden.activated.emit(biden.currentIndex())
    assert photo.choices[2] is None and page.view.marks[1].label == "no one"
    biden.setCurrentIndex(biden.findText("Joe Biden"))
    biden.activated.emit(biden.currentIndex())

    # Restore: a task of the shared runner, listed on the Jobs page.
    page.options.set_options(FAST)
    assert page.run_button.isEnabled()
    seen: list[str] = []  # what the page says as the run goes (after it took each report)
    window.restorer.progress.connect(lambda _: seen.append(page.status_label.text()))
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert window.restorer.is_running() and not page.run_button.isEnabled()
    qtbot.waitUntil(lambda: photo.status == "restored", timeout=120_000)
    assert window.jobs.model.handle(0).title == "Restoring grey.png"
    assert window.jobs.model.handle(0).state == "done"
    # The run happened in the restoring child process, which stays for the next run.
    assert window.restorer.worker_pid not in (None, os.getpid())
    result = photo.result
    assert result is not None and result.output is not None
    work = Path(result.output)
    assert work.parent == window.restorer.work_folder()
    assert [f.match.source for f in result.faces] == ["user", "user"]
    assert [f.match.name for f in result.faces] == ["Barack Obama", "Joe Biden"]
    assert all(f.status == "restored" and f.path == "personal" for f in result.faces)
    assert page.status_label.text().startswith("Restored 2 faces (2 as known people)")
    assert window.task_status.label.text() == "grey.png: Restored 2 faces (2 as known people)."
    # Progress in words: the faces counted, each person's fit named (they are fitted now).
    assert any(t.startswith("Restoring face 1 of 2") for t in seen)
    assert any(t.startswith("Restoring face 2 of 2") for t in seen)
    assert any(t.startswith("Learning Barack Obama's face…") for t in seen)
    assert seen.index(next(t for t in seen if t.startswith("Learning Joe Biden's face"))) > \
        seen.index(next(t for t in seen if t.startswith("Restoring face 2 of 2")))

    # Before/after: the result is twice the size; the divider follows the mouse.
    view = page.view
    assert view.has_result() and view.after.width() == 2 * view.before.width()
    assert faces.cellWidget(0, 3).pixmap() is not None  # the face before and after
    assert len(faces.item(0, 2).toolTip().split("Sampled: ")[1].split(";")) == 2
    rect = view.visible_photo_rect()
    y = round(rect.center().y())
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(round(rect.left() + 4), y))
    qtbot.mouseMove(view, QPoint(round(rect.left() + rect.width() * 0.25), y))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton,
                       pos=QPoint(round(rect.left() + rect.width() * 0.25), y))
    assert abs(view.divider - 0.25) < 0.05
    faces.selectRow(1)  # zoom on face 2
    assert view.zoom > 1.5 and view.selected_face == 2
    view.reset_view()
    assert view.zoom == 1

    # Save As: into the output folder under the name offered, never over a file; the
    # original untouched.
    out = window.restorer.output_folder()
    assert not out.exists() or not any(out.iterdir())
    offered: list[str] = []

    def save_dialog(parent: object, caption: str, start: str, filters: str, selected: str
                    ) -> tuple[str, str]:
        offered.append(start)
        return start, selected

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(photo.exported) == 1, timeout=30_000)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(photo.exported) == 2, timeout=30_000)
    assert offered == [str(out / "grey-restored.png")] * 2
    first, second = photo.exported
    assert (first.parent, first.name, second.name) == (out, "grey-restored.png",
                                                       "grey-restored-2.png")
    assert first.read_bytes() == work.read_bytes() == second.read_bytes()
    note = json.loads((out / "grey-restored.idfsr.json").read_text())
    assert note["output"] == str(first) and note["source_sha256"] == original
    assert note["exported_from"] == str(work)
    assert note["options"]["persons"] == [f"{old_photo}:1={obama}",
                                          f"{old_photo}:2={resolve_person(demo_app, 'Joe Biden')}"]
    assert "saved" in page.queue.item(0).text()
    assert sha(old_photo) == original
    assert sorted(p.name for p in old_photo.parent.iterdir()) == ["grey.png"]

    # Another candidate of face 2: the photo is composed again into a new work file.
    faces.selectRow(1)
    strip = page.candidates
    assert strip.isVisible() and strip.count() == 2 and strip.face is not None
    assert "2 candidates" in page.candidates_label.text()
    kept = next(i for i in range(2) if "kept" in strip.item(i).text())
    other = strip.item(1 - kept)
    assert "Click to use" in other.toolTip() and "Likeness" in other.toolTip()
    before_pixels = page.view.after
    strip.itemClicked.emit(other)
    qtbot.waitUntil(lambda: not photo.composing and photo.result is not result, timeout=30_000)
    new = photo.result
    assert new is not None and new.output and Path(new.output).parent == work.parent
    assert Path(new.output).name == "grey-restored-2.png" and work.is_file()
    assert [c.chosen for c in new.faces[1].candidates] == [i != kept for i in range(2)]
    assert [c.chosen for c in new.faces[0].candidates] == [
        c.chosen for c in result.faces[0].candidates]
    assert page.view.after is not before_pixels
    assert page.view.after.width() == 2 * page.view.before.width()
    assert "kept" in strip.item(1 - kept).text() and sha(old_photo) == original
    jobs = window.jobs.model  # a quick step of the page, not a job in the list
    assert not any(jobs.handle(i).title.startswith("Composing") for i in range(jobs.rowCount()))

    # A long run, cancelled: nothing more is written, the photo says so.
    written = sorted(window.restorer.work_folder().iterdir())
    page.options.set_options(RestoreOptions(steps=400, candidates=1, fit_steps=1))
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.cancel_button.isVisible() and page.status_label.text()
                    .startswith("Restoring face 1 of 2"), timeout=30_000)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.restorer.is_running(), timeout=60_000)
    assert photo.status == "cancelled" and window.jobs.model.handle(0).state in (
        "done", "cancelled")
    assert sorted(window.restorer.work_folder().iterdir()) == written
    assert sha(old_photo) == original


def test_a_photo_whose_faces_are_already_sharp_says_so(qtbot: QtBot, window: MainWindow,
                                                       tmp_path: Path) -> None:
    """The full-size group photo: its faces are larger than the tiny model restores, so the
    run restores none, and the page and the status bar say why (never "done").
    Repair and tone are off: with them a photo is written repaired even so."""
    page = window.restore
    sharp = tmp_path / "sharp.jpg"
    shutil.copy(GROUPS / "two_people.jpg", sharp)
    page.add_photos([sharp])
    qtbot.waitUntil(lambda: page.current is not None and page.current.status == "ready",
                    timeout=60_000)
    page.options.set_options(FAST)
    page.repair.repair_box.setChecked(False)
    page.repair.tone.setValue(0)
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.restorer.is_running(), timeout=120_000)
    photo = page.current
    assert photo is not None and photo.status == "unchanged"
    assert page.status_label.text() == "All faces already sharp: nothing to restore."
    assert window.task_status.label.text() == (
        "sharp.jpg: All faces already sharp: nothing to restore.")
    assert all(page.faces.item(r, 2).text().startswith("Skipped: already sharp (")
               for r in range(page.faces.rowCount()))
    assert page.queue.currentItem().text() == "sharp.jpg\nAll faces already sharp"
