"""Restoring photos from the GUI: the queue, each photo's faces and the user's choices, runs and
exports through the shared task runner. `core.restore` is the engine; this only holds state.

A photo joins the queue, its faces are found and matched (`find_faces`, one photo at a time,
no model loaded), the user may change who each face is, then a run restores the chosen
photos into a working folder (`restore_photos` with the choices for each photo's path).
Nothing leaves the work folder until the user saves a result (`save_restored`, which
never replaces a file); originals are only ever read. Where a run happens (in the app, a
child process, so torch never runs in the window's) is the JobPlacement's call.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

from core.context import AppContext
from core.errors import IdfsrError
from core.jobs import CancelToken, JobExecutor, Progress, ProgressCallback
from core.restore.options import NOBODY, PersonChoice, RestoreOptions
from core.restore.report import FaceResult, PhotoResult, RestoreReport
from core.restore.save_as import Saved, save_restored
from core.tasks.recompose import candidate_paths, chosen_index, recompose
from core.tasks.restore import collect_inputs, find_faces, restore_photos
from core.work_cache import Pruned, WorkUsage, prune, usage, work_folder
from idfsr_desktop.job_placement import JobKind, JobPlacement
from idfsr_desktop.restore_words import outcome_text
from idfsr_desktop.task_runner import TaskHandle, TaskRunner

MAX_VIEW_SIDE = 4096  # photos are shown at most this large (old scans are far smaller)


def read_image(path: Path | str, max_side: int = MAX_VIEW_SIDE) -> QImage:
    """A photo upright (EXIF orientation applied, as the engine sees it), at most `max_side`
    across; a null image when unreadable. Safe off the GUI thread (QImage, not QPixmap)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > max_side:
        reader.setScaledSize(size.scaled(QSize(max_side, max_side),
                                         Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


@dataclass
class QueuedPhoto:
    """One photo of the queue: its faces, the user's choices, the result once restored."""

    path: Path
    status: str = "waiting"  # waiting | finding | ready | no_faces | error | restoring |
    # restored | unchanged | cancelled
    message: str = ""
    found: PhotoResult | None = None  # faces and matches, before restoring
    before: QImage | None = None
    choices: dict[int, int | None] = field(default_factory=dict)  # face -> person (None: no one)
    result: PhotoResult | None = None
    after: QImage | None = None
    crops: dict[int, tuple[QImage, QImage]] = field(default_factory=dict)  # face -> (LR, result)
    candidates: dict[int, list[QImage]] = field(default_factory=dict)  # face -> sampled ones
    exported: list[Path] = field(default_factory=list)
    composing: bool = False  # another candidate is being put in

    @property
    def faces(self) -> list[FaceResult]:
        """The faces as last seen: restored ones once there is a result."""
        source = self.result if self.result is not None and self.result.faces else self.found
        return source.faces if source is not None else []

    @property
    def restorable(self) -> bool:
        """Whether a run can restore it now."""
        # A photo without faces is run too: its scratches and fading are still repaired.
        return self.status in ("ready", "restored", "unchanged", "no_faces", "cancelled",
                               "error") and self.found is not None and not self.composing

    def person_choices(self) -> tuple[PersonChoice, ...]:
        """The user's choices as the engine takes them, limited to this photo's path."""
        return tuple(PersonChoice(face, NOBODY if pid is None else str(pid), str(self.path))
                     for face, pid in sorted(self.choices.items()))


def _find_job(executor: JobExecutor, path: Path, *, progress: ProgressCallback,
              cancel: CancelToken) -> tuple[PhotoResult, QImage]:
    found = executor.run(find_faces, path, progress=progress, cancel=cancel)
    return found, read_image(path)


@dataclass
class ResultImages:
    """The pictures of one output, read off the GUI thread: the photo and per face its crops."""

    after: QImage
    crops: dict[int, tuple[QImage, QImage]]  # face -> (LR, result)
    candidates: dict[int, list[QImage]]  # face -> every sampled candidate, in order


def read_result_images(photo: PhotoResult) -> ResultImages:
    """The output photo, each face's LR/result pair and its kept candidates."""
    crops: dict[int, tuple[QImage, QImage]] = {}
    candidates: dict[int, list[QImage]] = {}
    for face in photo.faces:
        if "lr" in face.crops and "result" in face.crops:
            crops[face.number] = (read_image(face.crops["lr"]),
                                  read_image(face.crops["result"]))
        kept = candidate_paths(face)
        if kept and None not in kept:
            candidates[face.number] = [read_image(p) for p in kept if p is not None]
    return ResultImages(read_image(photo.output or ""), crops, candidates)


def _restore_job(executor: JobExecutor, paths: list[Path], out_dir: Path,
                 options: RestoreOptions, *, progress: ProgressCallback, cancel: CancelToken
                 ) -> tuple[RestoreReport, dict[str, ResultImages]]:
    report = executor.run(restore_photos, paths, out_dir, options, progress=progress,
                          cancel=cancel)
    images = {photo.source: read_result_images(photo) for photo in report.photos
              if photo.output is not None}
    return report, images


def _recompose_job(executor: JobExecutor, result: PhotoResult, choices: dict[int, int], *,
                   progress: ProgressCallback, cancel: CancelToken
                   ) -> tuple[PhotoResult, ResultImages]:
    done = executor.run(recompose, result, choices, progress=progress, cancel=cancel)
    return done, read_result_images(done)


class RestoreController(QObject):
    """The queue of photos to restore and the background work on them."""

    changed = Signal(object)  # a QueuedPhoto whose state changed; None: the queue itself
    running_changed = Signal(bool)
    progress = Signal(object)  # Progress of the running restore
    failed = Signal(str, str)  # title, message
    summary = Signal(str)  # how a run ended, in words (for the status bar)
    saved = Signal(object, object)  # QueuedPhoto, Saved: a Save As is written

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QObject | None = None,
                 *, placement: JobPlacement | None = None) -> None:
        """`placement`: where runs happen (default: a placement of this controller's own)."""
        super().__init__(parent)
        self._ctx = ctx
        self._runner = runner
        self._placement = placement or JobPlacement(ctx)
        self._owns_placement = placement is None
        self.photos: list[QueuedPhoto] = []
        self.task: TaskHandle | None = None  # the running restore
        self.running_photos: list[QueuedPhoto] = []  # the run's photos, in the engine's order
        self._finding: QueuedPhoto | None = None
        self._closed = False

    # ---- the queue ------------------------------------------------------------------------

    def add(self, paths: list[Path]) -> list[QueuedPhoto]:
        """Queue the photos named or found under `paths` (once each); the ones added."""
        files, _ = collect_inputs(paths)
        known = {p.path for p in self.photos}
        added = [QueuedPhoto(f) for f in files if f not in known]
        if not added:
            return []
        self.photos.extend(added)
        self.changed.emit(None)
        self._find_next()
        return added

    def remove(self, photo: QueuedPhoto) -> None:
        """Take a photo off the queue (its files stay; a running restore still finishes it)."""
        if photo in self.photos:
            self.photos.remove(photo)
            self.changed.emit(None)

    def set_choice(self, photo: QueuedPhoto, face: int, person_id: int | None) -> None:
        """The user says face `face` is this person (None: no one, the generic path)."""
        photo.choices[face] = person_id
        self.changed.emit(photo)

    def clear_choice(self, photo: QueuedPhoto, face: int) -> None:
        """Back to the automatic match."""
        if photo.choices.pop(face, "unset") != "unset":
            self.changed.emit(photo)

    @property
    def worker_pid(self) -> int | None:
        """The restoring child process's id while it runs (None: none started)."""
        child = self._placement.child
        return child.pid if child is not None else None

    def is_idle(self) -> bool:
        """Whether no face search or restore runs."""
        return self._finding is None and not self.is_running()

    def is_running(self) -> bool:
        """Whether a restore runs."""
        return self.task is not None and self.task.running

    def output_folder(self) -> Path:
        """Where exports go: the settings' output folder, else the app's."""
        return Path(self._ctx.settings.output_dir or self._ctx.paths.outputs)

    def work_folder(self) -> Path:
        """Where runs write their results before any export."""
        return work_folder(self._ctx.paths)

    # ---- the work folder (a cache) ---------------------------------------------------------

    def outputs_in_use(self) -> list[Path]:
        """The results the queue shows: never pruned or cleared."""
        return [Path(p.result.output) for p in self.photos
                if p.result is not None and p.result.output]

    def prune_old_work(self) -> TaskHandle | None:
        """Remove results older than the settings keep (at start; none when set to 0)."""
        days = self._ctx.settings.restore.keep_work_days
        if days <= 0 or self._closed:
            return None
        job = functools.partial(_prune_job, self.work_folder(), days, self.outputs_in_use())
        return self._runner.submit(job, title="Pruning old restore results", listed=False)

    def measure_work(self) -> TaskHandle:
        """How much the work folder holds (finished: WorkUsage)."""
        folder = self.work_folder()

        def job(*, progress: ProgressCallback, cancel: CancelToken) -> WorkUsage:
            return usage(folder)

        return self._runner.submit(job, title="Measuring restore results", listed=False)

    def clear_work(self) -> TaskHandle | None:
        """Remove every result the queue does not show (finished: Pruned); None while a
        restore runs (it writes there)."""
        if self.is_running() or self._closed:
            return None
        job = functools.partial(_prune_job, self.work_folder(), None, self.outputs_in_use())
        return self._runner.submit(job, title="Clearing restore results")

    # ---- finding faces --------------------------------------------------------------------

    def _find_next(self) -> None:
        if self._finding is not None or self._closed:
            return
        photo = next((p for p in self.photos if p.status == "waiting"), None)
        if photo is None:
            return
        self._finding = photo
        photo.status = "finding"
        self.changed.emit(photo)
        job = functools.partial(_find_job, self._placement.executor(JobKind.FIND_FACES),
                                photo.path)
        self._runner.submit(job,
                            title=f"Finding faces in {photo.path.name}", listed=False,
                            on_finished=functools.partial(self._on_found, photo),
                            on_failed=functools.partial(self._on_find_failed, photo),
                            on_cancelled=functools.partial(self._on_find_failed, photo,
                                                           "stopped"))

    def _on_found(self, photo: QueuedPhoto, result: tuple[PhotoResult, QImage]) -> None:
        photo.found, photo.before = result
        if photo.found.faces:
            photo.status, photo.message = "ready", ""
        else:
            photo.status, photo.message = "no_faces", "No faces found: nothing to restore."
        self._found_one(photo)

    def _on_find_failed(self, photo: QueuedPhoto, message: str) -> None:
        photo.status, photo.message = "error", message
        if photo.before is None:
            photo.before = read_image(photo.path, 1024)  # small: only to show what failed
        self._found_one(photo)

    def _found_one(self, photo: QueuedPhoto) -> None:
        self._finding = None
        if self._closed:
            return
        self.changed.emit(photo)
        self._find_next()

    # ---- restoring ------------------------------------------------------------------------

    def run(self, photos: list[QueuedPhoto], options: RestoreOptions) -> TaskHandle | None:
        """Restore these photos (with their choices) in one background task; None if nothing
        can run (a run is under way, or none of them is ready)."""
        ready = [p for p in photos if p.restorable]
        if self.is_running() or not ready or self._closed:
            return None
        choices = tuple(c for p in ready for c in p.person_choices())
        options = replace(options, persons=choices, save_crops=True)
        options.check()
        self.running_photos = ready
        for photo in ready:
            photo.status, photo.message = "restoring", ""
            self.changed.emit(photo)
        title = (f"Restoring {ready[0].path.name}" if len(ready) == 1
                 else f"Restoring {len(ready)} photos")
        job = functools.partial(_restore_job, self._placement.executor(JobKind.RESTORE),
                                [p.path for p in ready], self.work_folder(), options)
        handle = self._runner.submit(
            job, title=title, on_progress=self.progress.emit,
            on_finished=functools.partial(self._on_restored, ready),
            on_failed=functools.partial(self._on_restore_failed, ready),
            on_cancelled=functools.partial(self._on_restore_failed, ready, ""))
        handle.ended.connect(lambda: self.running_changed.emit(False))
        self.task = handle
        self.running_changed.emit(True)
        return handle

    def cancel(self) -> None:
        """Stop the running restore (photos already written stay written)."""
        if self.task is not None:
            self.task.cancel()

    def _on_restored(self, photos: list[QueuedPhoto],
                     result: tuple[RestoreReport, dict[str, ResultImages]]) -> None:
        report, images = result
        by_source = {Path(p.source): p for p in report.photos}
        for photo in photos:
            done = by_source.get(photo.path)
            if done is None:  # never reached: the run was stopped before it
                photo.status, photo.message = "cancelled", "Stopped before this photo."
            elif done.status in ("cancelled", "error"):  # an earlier result stays shown
                photo.status, photo.message = done.status, done.message
            else:
                photo.result = done
                photo.status = done.status if done.status != "no_faces" else "unchanged"
                photo.message = done.message
                self._show_images(photo, images.get(done.source))
            self.changed.emit(photo)
        self.summary.emit(run_summary(photos))

    @staticmethod
    def _show_images(photo: QueuedPhoto, images: ResultImages | None) -> None:
        if images is None:
            photo.after, photo.crops, photo.candidates = None, {}, {}
        else:
            photo.after, photo.crops = images.after, images.crops
            photo.candidates = images.candidates

    # ---- choosing another candidate -------------------------------------------------------

    def choose_candidate(self, photo: QueuedPhoto, face: int, index: int) -> TaskHandle | None:
        """Show candidate `index` (0-based) of face `face` instead: the photo is composed again
        from the original into a new file of the work folder (no model runs); None if there is
        nothing to change or the photo is busy."""
        result = photo.result
        if result is None or result.output is None or photo.status != "restored" \
                or self._closed or photo.composing:
            return None
        current = next((f for f in result.faces if f.number == face), None)
        if current is None or chosen_index(current) in (None, index) \
                or not 0 <= index < len(current.candidates):
            return None
        photo.composing = True
        self.changed.emit(photo)
        job = functools.partial(_recompose_job, self._placement.executor(JobKind.RECOMPOSE),
                                result, {face: index})
        return self._runner.submit(
            job, title=f"Composing {photo.path.name} again", listed=False,
            on_finished=functools.partial(self._on_recomposed, photo),
            on_failed=functools.partial(self._on_recompose_failed, photo),
            on_cancelled=functools.partial(self._on_recompose_failed, photo, ""))

    def _on_recomposed(self, photo: QueuedPhoto, done: tuple[PhotoResult, ResultImages]
                       ) -> None:
        photo.composing = False
        photo.result, images = done
        self._show_images(photo, images)
        self.changed.emit(photo)

    def _on_recompose_failed(self, photo: QueuedPhoto, message: str) -> None:
        photo.composing = False
        self.changed.emit(photo)
        if message:
            self.failed.emit("Choosing the candidate failed", message)

    def _on_restore_failed(self, photos: list[QueuedPhoto], message: str) -> None:
        for photo in photos:
            if photo.status == "restoring":
                photo.status = "error" if message else "cancelled"
                photo.message = message or "The restore was cancelled."
                self.changed.emit(photo)
        if message:
            self.failed.emit("Restoring failed", message)

    # ---- exporting ------------------------------------------------------------------------

    def save_as(self, photo: QueuedPhoto, target: Path, *, comparison: bool = False
                ) -> TaskHandle | None:
        """Save the photo's result as `target` (its suffix names the format; a taken name
        becomes `name-2`), with the before/after comparison beside it if asked."""
        if photo.result is None or photo.result.output is None:
            return None
        job = functools.partial(_save_job, Path(photo.result.output), target,
                                photo.path if comparison else None,
                                self._ctx.settings.index.max_image_pixels)
        return self._runner.submit(
            job, title=f"Saving {target.name}",
            on_finished=functools.partial(self._on_saved, photo),
            on_failed=lambda message: self.failed.emit("Saving failed", message))

    def _on_saved(self, photo: QueuedPhoto, saved: Saved) -> None:
        photo.exported.append(saved.image)
        self.changed.emit(photo)
        self.saved.emit(photo, saved)

    def shutdown(self) -> None:
        """Start nothing new and stop the running restore (and the placement's child, if it
        is this controller's own)."""
        self._closed = True
        self.cancel()
        if self._owns_placement:
            self._placement.close()


def run_summary(photos: list[QueuedPhoto]) -> str:
    """How a run ended: the one photo's outcome, or counts with each unrestored one's reason."""
    def one(photo: QueuedPhoto) -> str:
        return outcome_text(photo.result, photo.status, photo.message)

    if len(photos) == 1:
        return f"{photos[0].path.name}: {one(photos[0])}"
    restored = [p for p in photos if p.status == "restored"]
    others = [f"{p.path.name}: {one(p).rstrip('.')}" for p in photos if p.status != "restored"]
    text = f"Restored {len(restored)} of {len(photos)} photos."
    return text + (" Not restored: " + "; ".join(others) + "." if others else "")


def _save_job(result: Path, target: Path, original: Path | None, max_pixels: int, *,
              progress: ProgressCallback, cancel: CancelToken) -> Saved:
    progress(Progress("save", 0, 1, f"saving {target.name}"))
    try:
        return save_restored(result, target, original=original, max_pixels=max_pixels)
    except OSError as exc:
        raise IdfsrError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _prune_job(folder: Path, days: float | None, keep: list[Path], *,
               progress: ProgressCallback, cancel: CancelToken) -> Pruned:
    return prune(folder, older_than_days=days, keep=keep)
