"""Identity fitting from the GUI: one person at a time through the shared task runner.

`core.tasks.fitting` (fit_person, fit_status) is the engine. Fitting saturates the machine, so
fits queue and run one after another; each is a task of its own in the Jobs page,
cancellable on its own. Where a fit runs (the app's child process, or here) is the
JobPlacement's call; a stand-in engine (tests) is given through `set_engine`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.context import AppContext
from core.jobs import CancelToken, JobState, Progress, ProgressCallback
from core.model_status import RestorationModel, restoration_model
from core.tasks.fitting import FitOutcome, fit_person, fit_status
from idfsr_desktop.eta import Estimator, duration_text
from idfsr_desktop.job_placement import JobKind, JobPlacement
from idfsr_desktop.task_runner import TaskHandle, TaskRunner


@dataclass(frozen=True)
class FitEngine:
    """The two calls fitting needs, with core.tasks.fitting's signatures."""

    fit_person: Callable[..., Any]  # (ctx, person_id, *, device, steps, progress, cancel)
    fit_status: Callable[[AppContext, str], Mapping[int, Path]]  # (ctx, model sha256)


CORE_ENGINE = FitEngine(fit_person, fit_status)
FIT_STAGE = "fit"  # core's progress stage of the optimisation itself (the other stages
# load the model, read the person's photos and check identity before and after)
UNAVAILABLE = "Identity fitting is switched off in this installation."
NO_MODEL = ("No restoration model is installed, so there is nothing to fit identities to. "
            "Train one with `idfsr train`, or install a release that bundles it.")


@dataclass
class FitState:
    """Where one person's fit stands."""

    status: JobState
    label: str
    estimator: Estimator = field(default_factory=Estimator)
    outcome: FitOutcome | None = None  # once done
    message: str = ""  # why it failed
    handle: TaskHandle | None = None

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.status in (JobState.QUEUED, JobState.RUNNING)

    @property
    def fraction(self) -> float | None:
        """How far the optimisation is (None before it starts: loading, reading photos)."""
        last = self.estimator.last
        return last.fraction if last is not None and last.stage == FIT_STAGE else None

    def progress_text(self) -> str:
        """'Step 120 of 300 · about 2 min left', 'Queued', 'Starting…'."""
        if self.status == JobState.QUEUED:
            return "Queued"
        last = self.estimator.last
        if last is None:
            return "Starting…"
        if last.stage != FIT_STAGE or not last.total:  # loading, reading photos, checking
            words = last.message or last.stage
            return f"{words[0].upper()}{words[1:]}…"
        left = self.estimator.remaining_text()
        words = f"Step {last.done:,} of {last.total:,}"
        return f"{words} · {left}" if left else words

    def result_text(self) -> str:
        """'ID similarity 0.41 → 0.78', from the outcome ('' when it was not measured)."""
        o = self.outcome
        before = getattr(o, "id_similarity_before", None)
        after = getattr(o, "id_similarity_after", None)
        if before is None or after is None:
            return ""
        return f"ID similarity {before:.2f} → {after:.2f}"


class FitController(QObject):
    """Queues fits, runs them one by one, and knows who is fitted on the current model."""

    changed = Signal(int)  # a person's state changed; -1: possibly everyone's

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QObject | None = None, *,
                 engine: FitEngine | None = CORE_ENGINE,
                 placement: JobPlacement | None = None) -> None:
        """`placement`: where fits run (default: a placement of this controller's own)."""
        super().__init__(parent)
        self._ctx = ctx
        self._runner = runner
        self.fitting = engine
        self._placement = placement or JobPlacement(ctx)
        self._owns_placement = placement is None
        self.device = ctx.settings.device  # "auto", "cpu", "cuda", "mps"
        self.steps: int | None = None  # None: core's default
        self.model: RestorationModel | None = None
        self.model_checked = False
        self._fitted: dict[int, Path] = {}
        self._states: dict[int, FitState] = {}
        self._queue: list[int] = []
        self._current: int | None = None
        self._durations: list[float] = []  # of this session's finished fits
        self._batch = 0  # fits queued since the queue was last empty
        self._closed = False

    # ---- what the views ask ----------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether fitting can be offered at all."""
        return self.fitting is not None and (not self.model_checked or self.model is not None)

    @property
    def unavailable_reason(self) -> str:
        """Why fitting cannot be offered ('' when it can)."""
        if self.fitting is None:
            return UNAVAILABLE
        if self.model_checked and self.model is None:
            return NO_MODEL
        return ""

    def state(self, person_id: int) -> FitState | None:
        """The person's fit this session (None: never asked for)."""
        return self._states.get(person_id)

    def is_fitted(self, person_id: int) -> bool:
        """Whether the person has an identity fitted on the current restoration model."""
        return person_id in self._fitted

    def is_busy(self) -> bool:
        """Whether a fit runs or waits."""
        return self._current is not None or bool(self._queue)

    def batch_text(self) -> str:
        """'Fitting 2 of 5 people · about 6 min left' while fits run, else ''."""
        if not self.is_busy():
            return ""
        left_people = len(self._queue) + (1 if self._current is not None else 0)
        number = self._batch - left_people + 1
        text = f"Fitting {number} of {self._batch}"
        seconds = self._remaining_seconds()
        return f"{text} · about {duration_text(seconds)} left" if seconds is not None else text

    # ---- actions ----------------------------------------------------------------------------

    def fit(self, people: list[tuple[int, str]]) -> int:
        """Queue fits for (person id, label) pairs not queued or running; how many were queued."""
        if self.fitting is None or self._closed:
            return 0
        added = 0
        for person_id, label in people:
            current = self._states.get(person_id)
            if current is not None and current.active:
                continue
            if not self.is_busy():
                self._batch = 0
            self._states[person_id] = FitState(JobState.QUEUED, label)
            self._queue.append(person_id)
            self._batch += 1
            added += 1
            self.changed.emit(person_id)
        self._start_next()
        return added

    def cancel(self, person_id: int) -> None:
        """Stop a running fit (what it saved so far stays, for a resume) or drop a queued one."""
        state = self._states.get(person_id)
        if state is None or not state.active:
            return
        if person_id in self._queue:
            self._queue.remove(person_id)
            self._batch -= 1
            state.status = JobState.CANCELLED
            self.changed.emit(person_id)
        elif state.handle is not None:
            state.handle.cancel()

    def cancel_all(self) -> None:
        """Drop the queue and stop the running fit."""
        for person_id in list(self._queue):
            self.cancel(person_id)
        if self._current is not None:
            self.cancel(self._current)

    def set_engine(self, engine: FitEngine | None) -> None:
        """Use this fitting engine (tests, or None to switch fitting off); re-reads who is
        fitted."""
        self.fitting = engine
        self.changed.emit(-1)
        self.refresh_fitted()

    def refresh_fitted(self) -> TaskHandle | None:
        """Re-read (in the background) the restoration model and who is fitted on it."""
        if self._closed:
            return None
        fitting = self.fitting
        ctx = self._ctx

        def job(*, progress: ProgressCallback, cancel: CancelToken
                ) -> tuple[RestorationModel | None, dict[int, Path]]:
            model = restoration_model(ctx)
            if model is None or fitting is None:
                return model, {}
            return model, dict(fitting.fit_status(ctx, model.sha256))

        return self._runner.submit(job, title="Checking fitted identities", listed=False,
                                   on_finished=self._on_fitted_status)

    def shutdown(self) -> None:
        """Drop the queue and stop the running fit (and the placement's child, if it is this
        controller's own)."""
        self._closed = True
        self._queue.clear()
        if self._current is not None:
            self.cancel(self._current)
        if self._owns_placement:
            self._placement.close()

    def _fit_job(self, person_id: int, device: str | None) -> functools.partial[Any]:
        assert self.fitting is not None
        executor = self._placement.executor(JobKind.FIT)
        return functools.partial(executor.run, self.fitting.fit_person, person_id,
                                 device=device, steps=self.steps)

    # ---- running ----------------------------------------------------------------------------

    def _start_next(self) -> None:
        if self._current is not None or not self._queue or self._closed:
            return
        assert self.fitting is not None
        person_id = self._queue.pop(0)
        state = self._states[person_id]
        device = None if self.device == self._ctx.settings.device else self.device
        job = self._fit_job(person_id, device)
        state.status = JobState.RUNNING
        state.estimator = Estimator()
        handle = self._runner.submit(
            job, title=f"Fitting {state.label}",
            on_progress=functools.partial(self._on_progress, person_id),
            on_finished=functools.partial(self._on_finished, person_id),
            on_failed=functools.partial(self._on_failed, person_id),
            on_cancelled=functools.partial(self._on_cancelled, person_id))
        handle.ended.connect(self._on_ended)
        state.handle = handle
        self._current = person_id
        self.changed.emit(person_id)

    def _on_progress(self, person_id: int, report: Progress) -> None:
        self._states[person_id].estimator.update(report)
        self.changed.emit(person_id)

    def _on_finished(self, person_id: int, outcome: FitOutcome) -> None:
        state = self._states[person_id]
        state.status, state.outcome = JobState.DONE, outcome
        self._durations.append(float(getattr(outcome, "seconds", 0.0)) or state.estimator.elapsed())
        path = getattr(outcome, "path", None)
        if path is not None:
            self._fitted[person_id] = Path(path)

    def _on_failed(self, person_id: int, message: str) -> None:
        state = self._states[person_id]
        state.status, state.message = JobState.FAILED, message

    def _on_cancelled(self, person_id: int) -> None:
        self._states[person_id].status = JobState.CANCELLED

    def _on_ended(self) -> None:
        done, self._current = self._current, None
        if done is not None:
            self.changed.emit(done)
        self._start_next()

    def _on_fitted_status(self, result: tuple[RestorationModel | None, dict[int, Path]]) -> None:
        self.model, fitted = result
        self.model_checked = True
        self._fitted = fitted
        self.changed.emit(-1)

    def _remaining_seconds(self) -> float | None:
        """The running fit's time left plus the queue's at the pace seen so far (None while
        there is no pace yet)."""
        per_person = sum(self._durations) / len(self._durations) if self._durations else None
        left = 0.0
        current = self._states.get(self._current) if self._current is not None else None
        if current is not None:
            estimate = current.estimator.remaining()
            if estimate is None and per_person is not None:
                estimate = max(0.0, per_person - current.estimator.elapsed())
            if estimate is None:
                return None
            left = estimate
            if per_person is None:
                per_person = current.estimator.elapsed() + estimate
        if self._queue and per_person is None:
            return None
        return left + len(self._queue) * (per_person or 0.0)
