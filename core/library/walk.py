"""Walking a library root: every image file once, loops and unreadable folders reported."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from core.fsutil import display_path
from core.library.imageio import suffix_supported


@dataclass(frozen=True)
class FoundFile:
    """An image file seen on disk, with the stat figures used for change detection."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class WalkIssue:
    """Something under a root that could not be walked; `kind` is a short stable code."""

    path: str
    kind: str
    reason: str


def walk_images(
    root: str,
    *,
    follow_symlinks: bool = True,
    skip_hidden: bool = True,
    exclude: frozenset[str] = frozenset(),
) -> Iterator[FoundFile | WalkIssue]:
    """Yield every image file under `root` (recursively) and every problem met.

    Symlinked folders are followed once: a folder already visited (same device and
    inode) is reported as a loop, not entered again. `exclude` holds absolute folder
    paths never to enter (the app's own home, for instance).
    """
    visited: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
    except OSError as exc:
        yield WalkIssue(root, "unreadable_folder", f"cannot open folder: {exc.strerror or exc}")
        return
    visited.add((st.st_dev, st.st_ino))
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield WalkIssue(folder, "unreadable_folder",
                            f"cannot list folder: {exc.strerror or exc}")
            continue
        subfolders = []
        for entry in entries:
            if skip_hidden and entry.name.startswith("."):
                continue
            try:
                is_link = entry.is_symlink()
                if is_link and not follow_symlinks:
                    continue
                est = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                if _is_link(entry.path) and suffix_supported(entry.name):
                    yield WalkIssue(entry.path, "broken_link", _broken_link_reason(entry.path))
                continue  # deleted while we looked: simply not there
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    yield WalkIssue(entry.path, "symlink_loop",
                                    "symbolic link loop: the link leads back to itself")
                elif suffix_supported(entry.name):
                    yield WalkIssue(entry.path, "unreadable",
                                    f"cannot look at the file: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(est.st_mode):
                key = (est.st_dev, est.st_ino)
                if key in visited:
                    if is_link:
                        yield WalkIssue(entry.path, "symlink_loop",
                                        "symbolic link loop: it points to a folder already scanned")
                    continue
                if entry.path in exclude:
                    continue
                visited.add(key)
                subfolders.append(entry.path)
            elif suffix_supported(entry.name):
                if stat.S_ISREG(est.st_mode):
                    yield FoundFile(entry.path, est.st_size, est.st_mtime_ns)
                else:  # opening a named pipe would wait forever; a device is no photo
                    yield WalkIssue(entry.path, "not_a_file",
                                    f"not a regular file (a {_file_type(est.st_mode)})")
        stack.extend(reversed(subfolders))


def _is_link(path: str) -> bool:
    try:
        return os.path.islink(path)
    except OSError:
        return False


def _broken_link_reason(path: str) -> str:
    try:
        target = display_path(os.readlink(path))
    except OSError:
        return "broken symbolic link: its target does not exist"
    return f"broken symbolic link: its target {target} does not exist"


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
