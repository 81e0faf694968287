"""The job API shared by every long operation: a progress callback and a cancel token.

Long work is a plain function taking `progress` and `cancel`; it reports with
`progress(Progress(...))` and calls `cancel.raise_if_cancelled()` between steps. The CLI
shows it as a tqdm bar, the GUI as a progress bar with a Cancel button.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import JobCancelled


@dataclass(frozen=True)
class Progress:
    """One progress report: `done` of `total` units (total None while unknown) in a stage."""

    stage: str
    done: int
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """Done as a fraction of total, or None while the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores every report."""


class CancelToken:
    """Thread-safe flag a caller sets to ask a running job to stop at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise JobCancelled if cancel() was called."""
        if self._event.is_set():
            raise JobCancelled()
