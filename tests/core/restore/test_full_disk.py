"""A full disk (or one pulled out) while results are written: the error says so plainly, no
file of that output is left behind (image, notes, crops, temp files), the originals are
untouched, and a restore run stops rather than fail every photo after minutes of work."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.context import AppContext
from core.restore import outputs
from core.restore.notes import RestoreNote
from core.restore.options import RestoreOptions
from core.tasks.restore import restore_photos

FAST = dict(steps=1, candidates=1, fit_missing=False)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() \
        else []


class HalfWritten(io.RawIOBase):
    """A file whose write puts half the bytes on disk, then fails as a full disk does."""

    def __init__(self, fd: int, code: int) -> None:
        self.fd, self.code = fd, code

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        os.write(self.fd, bytes(data)[: len(data) // 2])
        raise OSError(self.code, os.strerror(self.code))

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def test_full_disk_while_restoring_leaves_nothing_and_stops(
        lib: AppContext, model_dir: Path, old_photos: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = _digest(old_photos)
    real = outputs.write_new

    def fills_up(path: Path, data: bytes) -> None:
        if path.name.endswith(outputs.SIDE_JSON):  # the last note before the image
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(outputs, "write_new", fills_up)
    out = tmp_path / "out"
    report = restore_photos(lib, [old_photos / "grey.png", old_photos / "group.jpg"], out,
                            RestoreOptions(**FAST, model=str(model_dir), save_crops=True))
    grey, group = report.photos
    assert grey.status == "error" and grey.output is None
    assert "cannot write the result" in grey.message and "the disk is full" in grey.message
    assert "nothing of this output was left behind" in grey.message
    assert group.status == "error" and group.message.startswith("not restored: the disk is "
                                                                 "full")  # not even started
    assert "Errno" not in grey.message + group.message
    assert _everything(out) == []  # crops, their folder and the XMP note were removed again
    assert _digest(old_photos) == before

    monkeypatch.setattr(outputs, "write_new", real)  # space freed: the same run works
    again = restore_photos(lib, [old_photos / "grey.png"], out,
                           RestoreOptions(**FAST, model=str(model_dir), save_crops=True))
    (photo,) = again.photos
    assert photo.status == "restored" and Path(photo.output or "").name == "grey-restored.png"


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "the disk is full"),
    (errno.EIO, "input/output error"),
])
def test_export_cut_short_leaves_no_part(lib: AppContext, model_dir: Path, old_photos: Path,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         code: int, words: str) -> None:
    src = tmp_path / "in" / "grey.png"
    src.parent.mkdir()
    shutil.copy(old_photos / "grey.png", src)
    report = restore_photos(lib, [src], tmp_path / "work",
                            RestoreOptions(**FAST, model=str(model_dir)))
    work = Path(report.photos[0].output or "")
    kept = _digest(work.parent)
    fdopen = os.fdopen

    def half_written(fd: int, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if "w" in mode and fd > 2:
            return HalfWritten(fd, code)  # every write of the export fails half way
        return fdopen(fd, mode, *args, **kw)

    monkeypatch.setattr(outputs.os, "fdopen", half_written)
    out = tmp_path / "exported"
    with pytest.raises(outputs.OutputWriteError) as failed:
        outputs.export_output(work, out)
    assert words in (failed.value.strerror or "") and failed.value.disk_trouble
    assert failed.value.errno == code
    assert _everything(out) == []  # no copy, no note, no temp file
    assert _digest(work.parent) == kept and _digest(src.parent) == {"grey.png": _digest(
        old_photos)["grey.png"]}


def test_a_failing_write_of_the_image_takes_its_notes_away(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = outputs.write_new
    calls: list[str] = []

    def image_fails(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if path.suffix == ".jpg":
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        real(path, data)

    monkeypatch.setattr(outputs, "write_new", image_fails)

    def notes(image: Path, put: outputs.Put) -> None:
        put(image.with_name(image.stem + outputs.SIDE_XMP), b"<x/>")
        put(image.with_name(image.stem + outputs.CROPS) / "face-01-lr.png", b"png")

    with pytest.raises(outputs.OutputWriteError, match="quota"):
        outputs.write_output(tmp_path, "a", ".jpg", b"jpeg", notes)
    assert calls == ["a-restored.xmp", "face-01-lr.png", "a-restored.jpg"]  # the image last
    assert list(tmp_path.iterdir()) == []


def test_what_a_killed_run_left_is_swept_later(tmp_path: Path) -> None:
    def notes(image: Path, put: outputs.Put) -> None:
        side_json, side_xmp, crops = outputs.sidecar_paths(image)
        put(crops / "face-01-lr.png", b"png")
        put(side_xmp, b"<x/>")
        put(side_json, RestoreNote(output=str(image)).to_bytes())

    done = outputs.write_output(tmp_path, "a", ".jpg", b"jpeg", notes)
    # A run killed after the notes, before its image (which is always last).
    notes(tmp_path / "b-restored.jpg", outputs.write_new)
    (tmp_path / ".b-restored.jpg.k2j4.tmp").write_bytes(b"half an image")
    (tmp_path / "b-restored-crops" / ".face-02-lr.png.x1.tmp").write_bytes(b"half")
    (tmp_path / "mine.idfsr.json").write_text('{"format": "something else"}')  # not ours
    young = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert outputs.sweep_unfinished(tmp_path) == 0  # young: maybe another run's, writing now
    old = 1_000_000_000
    for path in young:
        os.utime(path, (old, old))
    assert outputs.sweep_unfinished(tmp_path) == 5
    assert _everything(tmp_path) == ["a-restored-crops", "a-restored-crops/face-01-lr.png",
                                     "a-restored.idfsr.json", "a-restored.jpg",
                                     "a-restored.xmp", "mine.idfsr.json"]
    assert done.read_bytes() == b"jpeg"
