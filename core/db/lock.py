"""An exclusive lock between processes, held on a small file next to what it guards.

`filelock` takes the OS lock (`flock` on POSIX, `msvcrt.locking` on Windows), which the
OS drops when its holder dies (even by SIGKILL), so a crashed process can never leave it
stuck; the lock file itself stays, empty and harmless. Each `file_lock` opens the file
anew, so two threads of one process exclude each other too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from core.errors import IdfsrError

_POLL = 0.05  # seconds between tries while another process holds the lock


class LockTimeout(IdfsrError):
    """Another process held the lock for longer than we were willing to wait."""


@contextmanager
def file_lock(path: Path, *, timeout: float, what: str = "this folder") -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the `with` block.

    Waits up to `timeout` seconds for another holder; then raises LockTimeout, whose
    message names `what` is being waited for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A native OS lock only: a soft (existence) lock would outlive a killed holder.
    lock = FileLock(path, mode=0o600, preserve_lock_file=True, fallback_to_soft=False,
                    poll_interval=_POLL)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise LockTimeout(
            f"another IDFSR process has been busy with {what} for over "
            f"{timeout:.0f} s; try again when it has finished (lock: {path})"
        ) from None
    try:
        yield
    finally:
        lock.release()
