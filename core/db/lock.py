"""An exclusive lock between processes, held on a small file next to what it guards.

The OS drops the lock when its holder dies (even by SIGKILL), so a crashed process can
never leave it stuck; the lock file itself stays, empty and harmless. POSIX uses
`flock` (per open file, so two threads of one process exclude each other too), Windows
`msvcrt.locking` on the file's first byte.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import IdfsrError

_POLL = 0.05  # seconds between tries while another process holds the lock


class LockTimeout(IdfsrError):
    """Another process held the lock for longer than we were willing to wait."""


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def file_lock(path: Path, *, timeout: float, what: str = "this folder") -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the `with` block.

    Waits up to `timeout` seconds for another holder; then raises LockTimeout, whose
    message names `what` is being waited for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another IDFSR process has been busy with {what} for over "
                    f"{timeout:.0f} s; try again when it has finished (lock: {path})"
                )
            time.sleep(_POLL)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
