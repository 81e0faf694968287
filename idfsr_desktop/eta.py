"""Time estimates for background work, from how fast it has gone so far."""

from __future__ import annotations

import time
from collections.abc import Callable

from core.jobs import Progress

MIN_ELAPSED_S = 2.0  # before this, a rate is mostly start-up cost: no estimate yet
MIN_FRACTION = 0.02


def duration_text(seconds: float) -> str:
    """'45 s', '3 min', '1 h 20 min': rounded the way people say durations."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class Estimator:
    """Remaining time of one job, from its progress reports (per stage: a new stage has its
    own pace, so the estimate starts again)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stage: str | None = None
        self._stage_start = self._clock()
        self._start_done = 0
        self.started = self._stage_start
        self.last: Progress | None = None

    def update(self, report: Progress) -> None:
        """Take a progress report."""
        if report.stage != self._stage:
            self._stage = report.stage
            self._stage_start = self._clock()
            self._start_done = report.done
        self.last = report

    def remaining(self) -> float | None:
        """Seconds left in the current stage, or None while it cannot be told."""
        report = self.last
        if report is None or not report.total:
            return None
        elapsed = self._clock() - self._stage_start
        done = report.done - self._start_done
        left = report.total - report.done
        if left <= 0:
            return 0.0
        if elapsed < MIN_ELAPSED_S or done <= 0 or report.done / report.total < MIN_FRACTION:
            return None
        return elapsed / done * left

    def remaining_text(self) -> str:
        """'about 3 min left', or '' while unknown."""
        left = self.remaining()
        return "" if left is None else f"about {duration_text(left)} left"

    def elapsed(self) -> float:
        """Seconds since the job started."""
        return self._clock() - self.started
