"""A new user's first restore, start to finish, through the widgets they would touch: the
window opens on a fresh home whose small library already knows two people; an old print is
dropped on the window, shown on the Restore page; the user says who one face is by picking
from its list, clicks Restore, waits, and saves the result with Save As. Only the engine's
own loading code runs, on a tiny seeded model, so it takes seconds.

The files on disk are checked (a larger, decodable image; the original's bytes the same), and
so are the words the user reads: the page and the status bar say what was restored, as whom."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QFileDialog
from pytestqt.qtbot import QtBot
from qt_drag import drop
from restore_support import old_print_of_two_people

from core.context import AppContext
from core.people.service import list_people
from core.tasks.fitting import fit_person
from idfsr_desktop.main_window import MainWindow


@pytest.fixture(scope="module")
def known_people_home(restore_demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose library (the bundled demo's portraits) is indexed, its two people named
    and briefly fitted to a tiny restoration model installed as the default."""
    home = tmp_path_factory.mktemp("walk-home") / "home"
    shutil.copytree(restore_demo_home, home)
    with AppContext.open(home) as ctx:
        for person in list_people(ctx, best=0):
            if person.name in ("Barack Obama", "Joe Biden"):
                fit_person(ctx, person.id, steps=2)
    return home


@pytest.fixture
def window(qtbot: QtBot, known_people_home: Path, isolated_home: Path
           ) -> Iterator[MainWindow]:
    """The main window as the user meets it, on a home of its own (IDFSR_HOME in tmp)."""
    shutil.copytree(known_people_home, isolated_home)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; the model is tiny
    ctx = AppContext.open(isolated_home)
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    ctx.close()
    torch.set_num_threads(threads)


@pytest.fixture
def old_print(tmp_path: Path) -> Path:
    """Barack Obama and Joe Biden, ten times smaller and grey: an old print scanned small."""
    return old_print_of_two_people(tmp_path / "Old prints" / "grandpa and friend.png")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pick(qtbot: QtBot, combo: QComboBox, text: str) -> None:
    """Open the list with a click and click the entry, as a user picks from it."""
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=5_000)
    row = combo.findText(text)
    assert row >= 0, [combo.itemText(i) for i in range(combo.count())]
    rect = view.visualRect(view.model().index(row, 0))
    # A release this soon after the list opened belongs to the opening click: Qt ignores it.
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=5_000)


def type_into(qtbot: QtBot, box: QAbstractSpinBox, text: str) -> None:
    """Click into a number field, select what it holds, type over it and Tab away."""
    qtbot.mouseClick(box.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    assert box.text() == text


def test_a_new_user_restores_an_old_print_and_saves_it(
        qtbot: QtBot, window: MainWindow, old_print: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = sha(old_print)
    page = window.restore

    # Dropped on the window from the file manager: the Restore page opens with the photo.
    assert window.current_page() != "restore"
    assert drop(window, [old_print])
    assert window.current_page() == "restore"
    assert page.queue.count() == 1 and "grandpa and friend.png" in page.queue.item(0).text()
    faces = page.faces
    qtbot.waitUntil(lambda: faces.rowCount() == 2 and faces.isVisible(), timeout=60_000)
    assert not page.view.has_result() and len(page.view.marks) == 2

    # Face 1 is Barack Obama, face 2 Joe Biden, says the user, picking each from its list.
    pick(qtbot, faces.picker(0), "Barack Obama")
    pick(qtbot, faces.picker(1), "Joe Biden")
    assert faces.picker(0).currentText() == "Barack Obama"
    assert faces.item(0, 2).text() == "Barack Obama (your choice)"
    assert page.view.marks[0].label == "Barack Obama"

    # Fewer steps and one candidate, under Advanced (seconds, not a minute, on a shared CPU).
    knobs = page.options
    qtbot.mouseClick(knobs.advanced_button, Qt.MouseButton.LeftButton)
    assert knobs.advanced.isVisible()
    type_into(qtbot, knobs.knobs.steps, "4")
    type_into(qtbot, knobs.knobs.candidates, "1")
    assert knobs.strength_label.text().startswith("Balanced")  # the strength left as it was

    # Restore, and wait for it (nothing but waiting: the run is the app's own).
    assert page.run_button.isEnabled()
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.save_button.isEnabled(), timeout=180_000)
    assert page.view.has_result()
    assert faces.item(0, 2).text() == "Restored as Barack Obama"
    assert faces.item(1, 2).text() == "Restored as Joe Biden"
    assert page.status_label.text().startswith("Restored 2 faces (2 as known people)")
    assert window.task_status.label.text() == (
        "grandpa and friend.png: Restored 2 faces (2 as known people).")

    # Save As, where the user says.
    chosen = tmp_path / "For the family" / "grandpa restored.png"
    chosen.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args: (str(chosen), args[-1]))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.saved_label.text().startswith("Saved as"), timeout=30_000)
    assert page.saved_label.text() == (
        f"Saved as grandpa restored.png in {chosen.parent}.")
    assert "grandpa restored.png" in window.task_status.label.text()
    assert chosen.is_file()
    with Image.open(chosen) as saved, Image.open(old_print) as before:
        saved.load()
        assert saved.format == "PNG"
        assert saved.width > before.width and saved.height > before.height
    assert sha(old_print) == original
    assert sorted(p.name for p in old_print.parent.iterdir()) == ["grandpa and friend.png"]
