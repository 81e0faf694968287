"""Identity fitting from the People page, with a stand-in for core.tasks.fitting that keeps the
real contract (fit_person with progress and cancel → FitOutcome; fit_status): per person,
fit all (one at a time), progress and time left, cancel, failure reasons, the result on the
card and in the Jobs page. test_gui_fitting_core.py runs the real engine."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.errors import IdfsrError
from core.jobs import CancelToken, Progress, ProgressCallback
from idfsr_desktop.fit_controller import NO_MODEL, UNAVAILABLE, FitEngine
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.person_list_model import FitStateRole, FittedRole
from idfsr_desktop.task_runner import InlineExecutor

WEIGHTS = "diffusion_pytorch_model.safetensors"


class FakeFitting:
    """fit_person / fit_status with the real signatures, a step every `step_s` seconds."""

    def __init__(self, ctx: AppContext, steps: int = 40, step_s: float = 0.02) -> None:
        self.ctx, self.steps, self.step_s = ctx, steps, step_s
        self.fitted: dict[int, Path] = {}
        self.calls: list[tuple[int, str | None]] = []
        self.running = 0
        self.most_at_once = 0
        self.fail: dict[int, str] = {}
        self._lock = threading.Lock()

    def fit_person(self, ctx: AppContext, person_id: int, *, model: str | None = None,
                   steps: int | None = None, device: str | None = None,
                   progress: ProgressCallback, cancel: CancelToken) -> object:
        from core.tasks.fitting import FitOutcome

        with self._lock:
            self.calls.append((person_id, device))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if person_id in self.fail:
                raise IdfsrError(self.fail[person_id])
            total = steps or self.steps
            progress(Progress("loading", 0, None, "loading the model"))
            for i in range(1, total + 1):
                cancel.raise_if_cancelled()
                time.sleep(self.step_s)
                progress(Progress("fit", i, total))
            path = ctx.paths.identities / f"person-{person_id}.safetensors"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"fitted")
            self.fitted[person_id] = path
            return FitOutcome(person_id, path, total, total * self.step_s, 7, 0.31, 0.74)
        finally:
            with self._lock:
                self.running -= 1

    def fit_status(self, ctx: AppContext, model_sha256: str) -> dict[int, Path]:
        return dict(self.fitted)


def install_fake_model(app: AppContext) -> None:
    """A restoration model folder (its weights are only hashed, never loaded here)."""
    folder = app.paths.models / "idfsr" / "idfsr-default"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / WEIGHTS).write_bytes(b"tiny weights")


@pytest.fixture
def fake(people_window: MainWindow, app: AppContext, qtbot: QtBot) -> FakeFitting:
    install_fake_model(app)
    engine = FakeFitting(app)
    fits = people_window.fits
    people_window.placement.in_child = frozenset()  # the stand-in's methods stay here
    fits.set_engine(FitEngine(engine.fit_person, engine.fit_status))
    qtbot.waitUntil(lambda: fits.model_checked and fits.model is not None, timeout=30_000)
    people_window.page_actions[1].trigger()
    return engine


def open_first_person(window: MainWindow) -> int:
    person = window.people.model.person(0)
    assert window.people.show_person(person.id)
    return person.id


@pytest.mark.threaded  # watches the task while it runs
def test_fit_one_person_shows_progress_then_the_result(
    qtbot: QtBot, people_window: MainWindow, app: AppContext, fake: FakeFitting
) -> None:
    window = people_window
    fake.step_s = 0.05
    person_id = open_first_person(window)
    panel = window.people.person_page.fit_panel
    assert panel.fit_button.isEnabled() and panel.fit_button.text() == "Learn This Person’s Face"
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    assert panel.cancel_button.isVisible() and not panel.fit_button.isVisible()
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Step "), timeout=10_000)
    assert panel.bar.isVisible()
    row = window.people.model.row_of(person_id)
    state = window.people.model.index(row).data(FitStateRole)
    assert state is not None and state.status == "running"
    assert window.task_status.label.text().startswith("Fitting ")

    qtbot.waitUntil(lambda: fake.fitted.get(person_id) is not None, timeout=20_000)
    qtbot.waitUntil(lambda: "ID similarity 0.31 → 0.74" in panel.status_label.text())
    assert "on 7 faces (40 steps)" in panel.status_label.text()
    assert panel.fit_button.text() == "Learn Again"
    assert window.people.model.index(row).data(FittedRole) is True
    assert "ID 0.31 → 0.74" in window.people.model.index(row).data(
        Qt.ItemDataRole.ToolTipRole).replace("ID similarity", "ID")
    jobs = window.jobs.model
    assert jobs.handle(0).title.startswith("Fitting ") and jobs.handle(0).state == "done"
    assert fake.calls == [(person_id, None)]  # the settings' device


@pytest.mark.threaded  # watches the task while it runs
def test_cancel_a_running_fit(qtbot: QtBot, people_window: MainWindow, app: AppContext,
                              fake: FakeFitting) -> None:
    window = people_window
    fake.step_s = 0.2
    person_id = open_first_person(window)
    panel = window.people.person_page.fit_panel
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Step "), timeout=10_000)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status_label.text() == "Fitting was cancelled.",
                    timeout=10_000)
    assert person_id not in fake.fitted
    assert panel.fit_button.isVisible() and panel.fit_button.text() == "Learn This Person’s Face"
    handle = window.jobs.model.handle(0)
    assert handle.state == "cancelled"
    assert window.jobs.model.index(0, 2).data().startswith("Cancelled after")


@pytest.mark.threaded  # watches the task while it runs
def test_fit_all_runs_one_at_a_time_with_a_time_estimate(
    qtbot: QtBot, people_window: MainWindow, app: AppContext, fake: FakeFitting
) -> None:
    window = people_window
    fake.steps, fake.step_s = 30, 0.05
    overview = window.people.overview
    overview.device_combo.setCurrentIndex(overview.device_combo.findData("cpu"))
    assert overview.fit_all_button.isEnabled()
    qtbot.mouseClick(overview.fit_all_button, Qt.MouseButton.LeftButton)
    assert overview.fit_bar.isVisible()
    assert overview.fit_label.text().startswith("Fitting 1 of 3")
    queued = [window.people.model.index(r).data(FitStateRole) for r in range(3)]
    assert sorted(s.status for s in queued) == ["queued", "queued", "running"]
    # Once the first fit has a pace, the bar says how long the rest will take.
    qtbot.waitUntil(lambda: "left" in overview.fit_label.text(), timeout=20_000)
    qtbot.waitUntil(lambda: len(fake.fitted) == 3, timeout=60_000)
    qtbot.waitUntil(lambda: not overview.fit_bar.isVisible())
    assert fake.most_at_once == 1
    assert [device for _, device in fake.calls] == ["cpu"] * 3
    assert all(window.people.model.index(r).data(FittedRole) for r in range(3))
    assert [h.state for h in window.jobs.model.handles()][:3] == ["done"] * 3
    # Fit All again: nothing left to fit.
    assert overview.fit_all() == 0


@pytest.mark.threaded  # watches the task while it runs
def test_cancel_fitting_drops_the_queue(qtbot: QtBot, people_window: MainWindow,
                                        app: AppContext, fake: FakeFitting) -> None:
    window = people_window
    fake.step_s = 0.2
    overview = window.people.overview
    assert overview.fit_all() == 3
    qtbot.waitUntil(lambda: fake.calls != [], timeout=10_000)
    qtbot.mouseClick(overview.cancel_fits_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.fits.is_busy(), timeout=10_000)
    assert len(fake.calls) == 1 and fake.fitted == {}
    states = [window.people.model.index(r).data(FitStateRole).status for r in range(3)]
    assert states == ["cancelled"] * 3


def test_a_failed_fit_says_why(qtbot: QtBot, people_window: MainWindow, app: AppContext,
                               fake: FakeFitting, tasks: InlineExecutor) -> None:
    window = people_window
    person_id = open_first_person(window)
    fake.fail[person_id] = f"none of person {person_id}'s 5 faces is usable for fitting"
    panel = window.people.person_page.fit_panel
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    tasks.drain()
    assert panel.status_label.text().startswith("Fitting failed:")
    assert "is usable for fitting" in panel.status_label.text()
    window.page_actions[3].trigger()  # Jobs
    jobs = window.jobs
    jobs.select_row(0)
    assert jobs.model.index(0, 2).data().startswith("Failed: none of person")
    assert "failed." in jobs.details.text() and "usable for fitting" in jobs.details.text()


def test_without_the_engine_or_a_model_fitting_is_offered_honestly(
    no_bundled_model: Path, qtbot: QtBot, people_window: MainWindow, app: AppContext,
    tasks: InlineExecutor
) -> None:
    window = people_window
    fits = window.fits
    tasks.drain()
    assert fits.model_checked
    person_id = open_first_person(window)
    panel = window.people.person_page.fit_panel
    if fits.fitting is not None:  # the engine is installed, the model is not (a new home)
        assert fits.model is None and fits.unavailable_reason == NO_MODEL
    fits.set_engine(None)
    assert not panel.fit_button.isEnabled()
    assert panel.status_label.text() == UNAVAILABLE
    assert fits.fit([(person_id, "x")]) == 0
    assert not window.people.overview.fit_all_button.isEnabled()
    assert not window.fit_action.isEnabled() and not window.fit_all_action.isEnabled()
    assert window.fit_action.toolTip() == UNAVAILABLE
