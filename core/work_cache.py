"""The restore work folder: results that wait there until the user exports them.

Everything in it can be made again by restoring again, so it is a cache: its size is
shown, old entries are pruned at start (`RestoreSettings.keep_work_days`) and the user may
clear it. An output is an image with its notes and crops folder beside it
(core.restore.outputs.sidecar_paths); entries of outputs still in use are kept, the rest
goes by the age of its newest file.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.paths import AppPaths
from core.restore.outputs import sidecar_paths

WORK_FOLDER = "restore-work"  # under the cache folder
DAY_S = 86_400.0


def work_folder(paths: AppPaths) -> Path:
    """Where restore runs write their results before any export."""
    return paths.cache / WORK_FOLDER


@dataclass(frozen=True)
class WorkUsage:
    """How much the work folder holds."""

    files: int
    bytes: int


@dataclass(frozen=True)
class Pruned:
    """What pruning or clearing removed, and what it left."""

    removed_files: int
    removed_bytes: int
    kept: WorkUsage


def _walk(entry: Path) -> tuple[int, int, float]:
    """(files, bytes, newest mtime) of a file or a whole folder; symlinks are not followed."""
    try:
        st = entry.lstat()
    except OSError:
        return 0, 0, 0.0
    if not entry.is_dir() or entry.is_symlink():
        return 1, st.st_size, st.st_mtime
    files, size, newest = 0, 0, st.st_mtime
    for root, _, names in os.walk(entry):
        for name in names:
            try:
                sub = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            files, size, newest = files + 1, size + sub.st_size, max(newest, sub.st_mtime)
    return files, size, newest


def usage(folder: Path) -> WorkUsage:
    """Files and bytes under the work folder (zero when it does not exist)."""
    files = size = 0
    for entry in _entries(folder):
        f, b, _ = _walk(entry)
        files, size = files + f, size + b
    return WorkUsage(files, size)


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def prune(folder: Path, *, older_than_days: float | None, keep: Iterable[Path] = (),
          now: float | None = None) -> Pruned:
    """Remove the work folder's entries older than that many days (None: all of them),
    except the outputs in `keep` and their notes and crops."""
    kept_names = set()
    for image in keep:
        image = Path(image)
        if image.parent == folder:
            kept_names |= {image.name, *(p.name for p in sidecar_paths(image))}
    cutoff = None if older_than_days is None else (now or time.time()) - older_than_days * DAY_S
    removed_files = removed_bytes = 0
    for entry in _entries(folder):
        files, size, newest = _walk(entry)
        if entry.name in kept_names or (cutoff is not None and newest >= cutoff):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # in use or gone: left for the next time
        removed_files, removed_bytes = removed_files + files, removed_bytes + size
    return Pruned(removed_files, removed_bytes, usage(folder))
