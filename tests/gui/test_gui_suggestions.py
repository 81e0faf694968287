"""Suggestions on the People page: faces that may be a person's (confirm / reject) and persons
that may be one (merge after confirmation). A synthetic library: known identities, no images."""

from __future__ import annotations

import numpy as np
import pytest
from people_support import SynthLibrary, person_of, the_person
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.db.models import FaceRejection
from core.faces.store import normalise
from core.people.recluster import recluster
from core.people.service import list_people
from core.people.suggest import MergeSuggestion
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.task_runner import InlineExecutor


@pytest.fixture
def lib(app: AppContext) -> SynthLibrary:
    """alice 8 and bob 6 faces, clustered; then three faces nobody has considered yet that
    look somewhat like alice (cosine ~0.7: a suggestion, not an assignment)."""
    library = SynthLibrary(app, np.random.default_rng(7))
    library.add("alice", 8)
    library.add("bob", 6)
    recluster(app)
    rng = np.random.default_rng(1)
    centre = library.centre("alice")
    for _ in range(3):
        other = rng.standard_normal(centre.shape).astype(np.float32)
        other -= other.dot(centre) * centre
        library.add("alice-like", 1, vector=normalise(0.72 * centre + 0.69 * normalise(other)))
    return library


@pytest.fixture
def win(qtbot: QtBot, app: AppContext, lib: SynthLibrary, tasks: InlineExecutor) -> MainWindow:
    window = MainWindow(app, tasks=tasks)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.show_page("people")
    yield window
    window.close()


def test_suggested_faces_can_be_confirmed_or_rejected(
    qtbot: QtBot, win: MainWindow, app: AppContext, lib: SynthLibrary, tasks: InlineExecutor
) -> None:
    alice = the_person(app, lib.faces["alice"])
    assert win.people.show_person(alice)
    page = win.people.person_page
    qtbot.waitUntil(lambda: page.suggestion_box.isVisible(), timeout=20_000)
    suggested = [page.suggestions.face(r).id for r in range(page.suggestions.rowCount())]
    assert sorted(suggested) == sorted(lib.faces["alice-like"])
    assert page.suggestion_label.text() == "Is this also this person?"

    # Select one: "No" rejects it for alice.
    first, *rest = suggested
    page.suggestion_view.setCurrentIndex(page.suggestions.index(0))
    qtbot.mouseClick(page.no_button, Qt.MouseButton.LeftButton)
    with app.db.session() as s:
        assert s.get(FaceRejection, (first, alice)) is not None
    tasks.drain()
    assert page.suggestions.rowCount() == 2

    # Nothing selected: "Yes" confirms every suggestion shown.
    page.suggestion_view.clearSelection()
    qtbot.mouseClick(page.yes_button, Qt.MouseButton.LeftButton)
    assert {person_of(app, f) for f in rest} == {alice}
    qtbot.waitUntil(lambda: not page.suggestion_box.isVisible(), timeout=20_000)
    tasks.drain()
    assert page.faces.rowCount() == 10


def test_merge_suggestion_banner_merges_after_confirmation(
    qtbot: QtBot, win: MainWindow, app: AppContext, lib: SynthLibrary
) -> None:
    overview = win.people.overview
    alice = the_person(app, lib.faces["alice"])
    bob = the_person(app, lib.faces["bob"])
    overview.set_merge_suggestions([MergeSuggestion(alice, bob, 0.93)])
    assert overview.merge_bar.isVisible()
    assert overview.merge_label.text() == "Two unnamed people may be the same person."
    qtbot.mouseClick(overview.skip_button, Qt.MouseButton.LeftButton)
    assert not overview.merge_bar.isVisible()
    overview.set_merge_suggestions([MergeSuggestion(alice, bob, 0.93)])
    assert not overview.merge_bar.isVisible()  # skipped stays skipped this session

    overview._skipped.clear()
    overview.set_merge_suggestions([MergeSuggestion(alice, bob, 0.93)])
    qtbot.mouseClick(overview.merge_button, Qt.MouseButton.LeftButton)
    box = next(b for b in win.findChildren(QMessageBox) if b.isVisible())
    assert box.text() == "Merge these 2 unnamed people into one?"
    merge = next(b for b in box.buttons() if b.text() == "Merge")
    qtbot.mouseClick(merge, Qt.MouseButton.LeftButton)
    assert [p.id for p in list_people(app)] == [alice]
    assert {person_of(app, f) for f in lib.faces["bob"]} == {alice}
