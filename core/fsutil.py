"""Small file-system helpers: atomic writes, their leftovers, checksums, printable paths."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never a part.

    `durable=False` skips the fsync: right for caches that can be rebuilt."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's content (read in chunks, never whole into memory)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def is_temp_file(name: str) -> bool:
    """Whether a file name is one of atomic_write_bytes' temp files (hidden, `.tmp`)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def sweep_temp_files(folder: Path, *, older_than_s: float = 600.0) -> int:
    """Remove the temp files that killed writers left under `folder`; return how many.

    Only files older than `older_than_s` go, so a write in progress in another process
    (the GUI, say) is never pulled from under it."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            if not is_temp_file(name):
                continue
            path = os.path.join(parent, name)
            try:
                if os.lstat(path).st_mtime < cutoff:
                    os.unlink(path)
                    removed += 1
            except OSError:
                pass  # gone already, or not ours to remove: harmless either way
    return removed


def display_path(path: str | os.PathLike[str]) -> str:
    """A printable form of any path, including names that are not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
