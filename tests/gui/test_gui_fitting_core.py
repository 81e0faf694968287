"""Identity fitting from the GUI with the real engine (core.tasks.fitting) and a tiny seeded
model on the demo library: cancel a fit mid-way, fit another person to the end, see it on the
card and on disk. The fit runs in the app's child process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from restore_support import tiny_restoration_model

from core.context import AppContext
from core.idfsr.checkpoint import DEFAULT_MODEL
from core.people.identity_store import person_identity
from core.people.service import list_people
from core.tasks.demo import run_demo
from idfsr_desktop.fit_controller import CORE_ENGINE
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.person_list_model import FittedRole


@pytest.fixture
def demo_app(tmp_path: Path) -> AppContext:
    """The demo library indexed and named (embedded backend), with a tiny restoration model."""
    ctx = AppContext.open(tmp_path / "demo-home")
    run_demo(ctx, restore=False)
    tiny_restoration_model(ctx.paths.models / "idfsr" / DEFAULT_MODEL)
    yield ctx
    ctx.close()


@pytest.mark.slow
def test_fit_with_cancel_then_to_the_end(qtbot: QtBot, demo_app: AppContext) -> None:
    window = MainWindow(demo_app)
    qtbot.addWidget(window)
    window.show()
    fits = window.fits
    assert fits.fitting is CORE_ENGINE
    qtbot.waitUntil(lambda: fits.model_checked, timeout=60_000)
    assert fits.model is not None and fits.available
    window.show_page("people")
    first, second = list_people(demo_app)[:2]

    # A long fit, cancelled once it is under way.
    fits.steps = 400
    assert window.people.show_person(first.id)
    panel = window.people.person_page.fit_panel
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Step "), timeout=120_000)
    child = window.placement.child
    assert child is not None and child.pid not in (None, os.getpid())  # torch stays out
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status_label.text() == "Fitting was cancelled.",
                    timeout=60_000)
    assert person_identity(demo_app, first.id, fits.model.sha256) is None

    # A short one, to the end: saved, and shown as fitted.
    fits.steps = 3
    assert window.people.show_person(second.id)
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Fitted in"), timeout=180_000)
    saved = person_identity(demo_app, second.id, fits.model.sha256)
    assert saved is not None and saved.is_file()
    row = window.people.model.row_of(second.id)
    assert window.people.model.index(row).data(FittedRole) is True
    assert [h.state for h in window.jobs.model.handles()][:2] == ["done", "cancelled"]
    window.close()
