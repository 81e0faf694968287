"""A restore run's progress as a person follows it: which photo, which face of it, whose face is
being learnt (a fit on demand), how far the photo and the queue are, and the time left.

The engine reports a run in nested stages ("restore": photo n of the run; "face": face k of
the photo; then per face "sample" steps, or a person's fit: "faces", "fit", "fit-check"); this
folds them into one fraction for the photo and one for the run, which only move forward."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.jobs import Progress
from idfsr_desktop.eta import Estimator, duration_text

FIT_STAGES = ("fit", "fit-check")
READ_STAGES = ("faces", "embed")  # a person's library photos read (for a fit or a reference)

Who = Callable[[int, int], str | None]  # (photo index in the run, face number): person's name


class RestoreProgress:
    """Follows one run; `text()`, `photo_fraction()`, `queue_text()` say where it stands."""

    def __init__(self, photos: int, who: Who | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.photos = photos
        self._who = who or (lambda photo, face: None)
        self._clock = clock
        self.photo = 0  # index of the photo being restored
        self.face: int | None = None  # 0-based face of that photo being restored
        self.faces: int | None = None
        self.within = 0.0  # how far the current face's sampling is
        self.stage = ""
        self.last: Progress | None = None
        self._best_photo = 0.0
        self._photo_eta = Estimator(clock)
        self._queue_eta = Estimator(clock)
        self._fit_eta = Estimator(clock)

    def update(self, report: Progress) -> None:
        """Take the engine's next report."""
        self.last, self.stage = report, report.stage
        if report.stage == "restore" and report.total:
            if report.done != self.photo or self.faces is None:
                self.face, self.faces, self.within = None, None, 0.0
                self._best_photo = 0.0
            self.photo = min(report.done, report.total - 1)
            self.photos = report.total
        elif report.stage == "face" and report.total:
            self.face, self.faces, self.within = report.done, report.total, 0.0
        elif report.stage == "sample" and report.total:
            self.within = min(1.0, report.done / report.total)
        elif report.stage in FIT_STAGES:
            self._fit_eta.update(report)
        photo = self.photo_fraction()
        self._photo_eta.update(Progress(f"photo {self.photo}", round(photo * 1000), 1000))
        self._queue_eta.update(Progress("queue", round(self.queue_fraction() * 1000), 1000))

    def photo_fraction(self) -> float:
        """How far the current photo is (0..1), never going back within it."""
        if self.faces:
            now = ((self.face or 0) + self.within) / self.faces
            self._best_photo = max(self._best_photo, min(1.0, now))
        return self._best_photo

    def queue_fraction(self) -> float:
        """How far the whole run is (0..1)."""
        if not self.photos:
            return 0.0
        return min(1.0, (self.photo + self._best_photo) / self.photos)

    def person(self) -> str | None:
        """Whose face the current face is (the user's choice or the match), if known."""
        if self.face is None:
            return None
        return self._who(self.photo, self.face + 1)

    def text(self) -> str:
        """What is happening now, with the time left for the photo."""
        report = self.last
        if report is None:
            return "Starting…"
        stage = report.stage
        name = self.person()
        if stage in FIT_STAGES:
            whose = f"{name}'s face" if name else "this person's face"
            words = f"Learning {whose}…"
            if stage == "fit" and report.total:
                words += f" step {report.done:,} of {report.total:,}"
            left = self._fit_eta.remaining_text()
            return f"{words} · {left}" if left else words
        if stage in READ_STAGES and self.face is not None:
            return f"Reading {name}'s photos…" if name else "Reading the person's photos…"
        if self.face is not None and self.faces:
            words = f"Restoring face {self.face + 1} of {self.faces}"
            left = self._photo_eta.remaining_text()
            return f"{words} · {left} for this photo" if left else words
        if stage == "restore":
            return "Finding the faces…" if report.done < (report.total or 0) else "Finishing…"
        words = report.message or stage
        return f"{words[:1].upper()}{words[1:]}…"

    def queue_text(self) -> str:
        """'Photo 2 of 5 · about 10 min left in all' ('' for a run of one photo)."""
        if self.photos <= 1:
            return ""
        words = f"Queue: photo {self.photo + 1} of {self.photos}"
        left = self._queue_eta.remaining()
        return f"{words} · about {duration_text(left)} left in all" if left is not None \
            else words
