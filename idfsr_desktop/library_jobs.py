"""The library's work started from the window: adding folders, the demo library, indexing.

`LibraryJobs` adds folders (and the bundled demo) to the library and indexes it in the
background, one run at a time; after the demo's first indexing it names the demo's people
after their portrait folders, as `idfsr demo` does. It speaks to the window through signals
only: the window turns them into the status bar, warnings and refreshed pages.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.context import AppContext
from core.errors import IdfsrError
from core.jobs import CancelToken, ProgressCallback
from core.library.service import add_root, list_roots
from core.resources import demo_library_path
from core.tasks.demo import name_demo_people
from core.tasks.indexing import FullIndexReport, index_everything
from idfsr_desktop.task_runner import TaskHandle, TaskRunner


def report_text(full: FullIndexReport) -> str:
    """How an indexing run ended, in one status-bar line."""
    report = full.photos
    changes = report.new + report.changed + report.moved
    parts = [f"Library up to date: {report.seen:,} photos seen",
             f"{changes:,} new or changed" if changes else "nothing new"]
    if report.errors:
        parts.append(f"{report.errors:,} unreadable")
    if report.missing:
        parts.append(f"{report.missing:,} newly missing")
    seconds = report.seconds
    if full.faces is not None and full.faces.photos:  # none: every photo was already done
        parts.append(f"{full.faces.faces:,} faces found in {full.faces.photos:,} photos")
        seconds += full.faces.seconds
    return ", ".join(parts) + f" ({seconds:.1f} s)."


def _name_demo_job(ctx: AppContext, demo: Path, *, progress: ProgressCallback,
                   cancel: CancelToken) -> list[str]:
    return [person["name"] for person in name_demo_people(ctx, demo)]


class LibraryJobs(QObject):
    """Adds folders to the library and indexes it through the runner; reports by signals."""

    failed = Signal(str, str)  # title, message
    message = Signal(str)  # how a run ended, in words (for the status bar)
    indexing_changed = Signal(bool)  # an indexing run started (True) or ended (False)
    index_progress = Signal(object)  # Progress of the running indexing (the grid fills in)
    people_named = Signal()  # the demo's people got their names

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.index_task: TaskHandle | None = None
        self._name_demo: Path | None = None  # the demo library, to name once it is indexed
        self._shut_down = False

    def add_folders(self, folders: list[str]) -> bool:
        """Add folders to the library; False (after a `failed` for each) if any was refused."""
        ok = True
        for folder in folders:
            try:
                add_root(self.ctx, folder)
            except IdfsrError as exc:
                self.failed.emit("Cannot add this folder", str(exc))
                ok = False
        return ok

    def add_demo(self) -> bool:
        """Add the bundled demo library (once) and name its people when the next indexing
        ends; False (after a `failed`) if it cannot be added."""
        try:
            demo = demo_library_path().resolve()
            if not any(root.path == str(demo) for root in list_roots(self.ctx)):
                add_root(self.ctx, demo)
        except IdfsrError as exc:
            self.failed.emit("Cannot open the demo library", str(exc))
            return False
        self._name_demo = demo  # once this indexing is done; not later ones (a user's renames)
        return True

    def start_indexing(self, rescan: bool = False) -> TaskHandle:
        """Index every library folder in the background (the running run, if one is)."""
        if self.index_task is not None and self.index_task.running:
            return self.index_task
        job = functools.partial(index_everything, self.ctx, rescan=rescan)
        title = "Rescanning photos" if rescan else "Indexing photos"
        handle = self.runner.submit(job, title=title, on_finished=self._on_indexed,
                                    on_failed=self._on_index_failed)
        handle.ended.connect(self._on_index_ended)
        handle.progress.connect(self.index_progress)
        self.index_task = handle
        self.indexing_changed.emit(True)
        return handle

    def shutdown(self) -> None:
        """No signal from now on: a late one after close would reach a closed library."""
        self._shut_down = True

    def _on_indexed(self, report: FullIndexReport) -> None:
        self.message.emit(report_text(report))
        demo, self._name_demo = self._name_demo, None
        if demo is not None and report.faces is not None and not self._shut_down:
            self._name_demo_people(demo)

    def _on_index_failed(self, message: str) -> None:
        self.failed.emit("Indexing failed", message)

    def _on_index_ended(self) -> None:
        if self._shut_down:  # a late signal after close: the DB may be gone
            return
        self.indexing_changed.emit(False)

    def _name_demo_people(self, demo: Path) -> None:
        job = functools.partial(_name_demo_job, self.ctx, demo)
        self.runner.submit(
            job, title="Naming the demo's people",
            on_finished=self._on_demo_named,
            on_failed=lambda message: self.failed.emit("Naming the demo's people failed",
                                                       message))

    def _on_demo_named(self, names: list[str]) -> None:
        if self._shut_down:
            return
        if names:
            self.message.emit("Demo people named after their folders: " + ", ".join(names) + ".")
        self.people_named.emit()
