"""Writing a restored photo: a new file next to its notes, never over anything.

Every output is a new name (`<stem>-restored.<ext>`, then `-restored-2`, ...) chosen so
that neither the image nor its sidecars (`.idfsr.json`, `.xmp`, the crops folder) exist
yet; each file is written to a temporary file and linked into place, which is atomic
and fails rather than replace a file that appeared meanwhile. The image goes last, so
an image that is there is complete with its notes; when any write fails (a full disk,
a drive pulled out) the files of that output written so far are removed again and the
error says plainly what happened (`OutputWriteError`). The original is only ever read.

What is written comes from core.restore.encoding (the image, encoded like its source)
and core.restore.notes (the JSON note and the XMP packet).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.fsutil import is_temp_file
from core.restore.notes import NoteError, read_note

log = logging.getLogger(__name__)

SIDE_JSON = ".idfsr.json"
SIDE_XMP = ".xmp"
CROPS = "-crops"
# Write failures that say the destination itself is unusable: every other output would
# fail alike, so a run stops at the first.
_DISK_TROUBLE = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EIO: "the disk reported an input/output error (unplugged, or failing?)",
    errno.ENXIO: "the disk is no longer there (unplugged?)",
    errno.ENODEV: "the disk is no longer there (unplugged?)",
}
Put = Callable[[Path, bytes], None]


class OutputWriteError(OSError):
    """An output could not be written; nothing of it was left behind. `strerror` says why
    in plain words; `disk_trouble` is true when the destination itself is unusable."""

    def __init__(self, cause: OSError, folder: Path) -> None:
        reason = _DISK_TROUBLE.get(cause.errno or 0) or cause.strerror or str(cause)
        self.reason = f"{reason} ({folder})"
        super().__init__(cause.errno, f"{self.reason}; nothing of this output was left behind")
        self.disk_trouble = (cause.errno or 0) in _DISK_TROUBLE


def write_new(path: Path, data: bytes) -> None:
    """Create `path` with `data` atomically; FileExistsError if it exists (never replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic, and refuses an existing name
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                                 errno.EMLINK, errno.ENOSYS):
                raise
            # No hard links here (FAT, some network shares): reserve the name, then
            # replace our own empty reservation.
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            try:
                os.replace(tmp, path)
            except BaseException:
                path.unlink(missing_ok=True)  # our empty reservation, not a result
                raise
            tmp = ""
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def _taken(folder: Path, stem: str, suffix: str) -> bool:
    names = (stem + suffix, stem + SIDE_JSON, stem + SIDE_XMP, stem + CROPS)
    return any((folder / n).exists() or (folder / n).is_symlink() for n in names)


class _Written:
    """The files (and folders for them) one output has written so far."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self.folders: list[Path] = []

    def put(self, path: Path, data: bytes) -> None:
        if not path.parent.exists() and path.parent != self.folder:
            self.folders.append(path.parent)
        write_new(path, data)
        self.files.append(path)

    def discard(self) -> None:
        """Remove them again: the files, then the folders made for them."""
        for path in reversed(self.files):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:  # the drive is gone: nothing more can be done from here
                log.warning("could not remove %s after a failed write: %s", path, exc)
        for folder in reversed(self.folders):
            with contextlib.suppress(OSError):  # not empty (not ours alone), or gone
                folder.rmdir()


def write_output(folder: Path, base: str, suffix: str, image: bytes,
                 sidecars: Callable[[Path, Put], None]) -> Path:
    """Write one output as `<base>-restored[-N]<suffix>` where no output exists yet.

    `sidecars(image_path, put)` writes the output's other files through `put`; the image
    is written last. On any failure everything written is removed again; a write error
    becomes an OutputWriteError (a name taken meanwhile: the next name is tried).
    """
    for n in range(1, 100_000):
        stem = f"{base}-restored" if n == 1 else f"{base}-restored-{n}"
        if _taken(folder, stem, suffix):
            continue
        target = folder / (stem + suffix)
        written = _Written(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            sidecars(target, written.put)
            written.put(target, image)
        except FileExistsError:
            written.discard()
            continue  # someone took the name meanwhile
        except OSError as exc:
            written.discard()
            raise OutputWriteError(exc, folder) from exc
        except BaseException:
            written.discard()
            raise
        return target
    raise OSError(f"no free output name for {base} in {folder}")


def _unfinished(note: Path) -> bool:
    """Whether a note is one of ours whose image was never written (its run was killed)."""
    try:
        image = Path(read_note(note).output or "")
    except NoteError:
        return False
    return image.parent == note.parent and not (image.exists() or image.is_symlink())


def sweep_unfinished(folder: Path, *, older_than_s: float = 600.0) -> int:
    """Remove what killed runs left in an output folder; return how many files went.

    That is the temp files of our writes, and the notes and crops of an output whose image
    (always written last) is not there. Only what is older than `older_than_s` goes: a run
    in another process may be writing its output right now."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    doomed: list[Path] = []
    emptied: list[Path] = []
    for entry in folder.iterdir():
        name = entry.name
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
        except OSError:
            continue
        if is_temp_file(name) and entry.is_file():
            doomed.append(entry)
        elif name.endswith(SIDE_JSON) and entry.is_file() and _unfinished(entry):
            stem = name.removesuffix(SIDE_JSON)
            crops = folder / (stem + CROPS)
            if crops.is_dir():
                doomed += [p for p in crops.iterdir() if p.is_file() and
                           (p.suffix == ".png" or is_temp_file(p.name))]
                emptied.append(crops)
            doomed += [p for p in (folder / (stem + SIDE_XMP), entry) if p.is_file()]
        elif name.endswith(CROPS) and entry.is_dir():
            doomed += [p for p in entry.iterdir() if is_temp_file(p.name) and p.is_file()]
    removed = 0
    for path in doomed:
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass  # gone already, or not ours to remove: harmless either way
    for crops in emptied:
        with contextlib.suppress(OSError):  # not empty: not ours alone, so it stays
            crops.rmdir()
    return removed


def sidecar_paths(image: Path) -> tuple[Path, Path, Path]:
    """The JSON note, the XMP note and the crops folder of an output image."""
    stem = image.with_suffix("")
    return (stem.with_name(stem.name + SIDE_JSON), stem.with_name(stem.name + SIDE_XMP),
            stem.with_name(stem.name + CROPS))


def export_output(image: Path, out_dir: Path) -> Path:
    """Copy a restored photo and its notes into `out_dir` under a free name; returns the copy.

    Nothing is ever replaced: the copy is `<source stem>-restored[-N]<suffix>` like a
    fresh output, its JSON note names the copy as its output, and the crops stay behind
    (they are for reviewing, not keeping).
    """
    side_json, side_xmp, _ = sidecar_paths(image)
    note = read_note(side_json)
    base = Path(note.source or image.stem).stem
    xmp = side_xmp.read_bytes() if side_xmp.is_file() else None

    def notes(target: Path, put: Put) -> None:
        new_json, new_xmp, _ = sidecar_paths(target)
        if xmp is not None:
            put(new_xmp, xmp)
        copy = note.model_copy(update={"output": str(target), "exported_from": str(image)})
        put(new_json, copy.to_bytes())

    return write_output(out_dir, base, image.suffix, image.read_bytes(), notes)


