"""Indexing a library: incremental rescans, moves, missing files, cancel and resume."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from tests_support import make_jpeg

from core.context import AppContext
from core.errors import JobCancelled, LibraryError
from core.jobs import CancelToken, Progress
from core.library import indexer
from core.library.indexer import index_library
from core.library.service import (
    add_root,
    library_status,
    list_photos,
    list_roots,
    photo_thumbnail,
    purge_missing,
    remove_root,
)
from core.library.thumbnails import thumbnail_file


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for i in range(6):
        make_jpeg(root / f"roll{i % 2}" / f"p{i}.jpg", seed=i)
    return root


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def by_name(app: AppContext) -> dict[str, object]:
    return {Path(p.path).name: p for p in list_photos(app)}


def test_first_scan_records_everything(app: AppContext, library: Path) -> None:
    add_root(app, library)
    reports: list[Progress] = []
    report = index_library(app, progress=reports.append)
    assert (report.seen, report.new, report.errors) == (6, 6, 0)
    photos = list_photos(app)
    assert len(photos) == 6
    p = photos[0]
    assert p.status == "ok" and p.format == "JPEG" and (p.width, p.height) == (320, 240)
    assert p.content_hash == hashlib.sha256(Path(p.path).read_bytes()).hexdigest()
    assert thumbnail_file(app.paths.thumbnails, p.content_hash).exists()
    assert reports[-1].stage == "done"
    assert any(r.stage == "indexing" and r.total == 6 for r in reports)


def test_second_run_touches_nothing(app: AppContext, library: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    add_root(app, library)
    index_library(app)
    opened: list[str] = []
    real = indexer._hash_file
    monkeypatch.setattr(indexer, "_hash_file", lambda p: opened.append(p) or real(p))
    report = index_library(app)
    assert report.unchanged == 6 and report.new == report.changed == 0
    assert opened == []  # no file was even opened


def test_changed_file_is_reread(app: AppContext, library: Path) -> None:
    add_root(app, library)
    index_library(app)
    target = library / "roll0" / "p0.jpg"
    before = by_name(app)["p0.jpg"]
    make_jpeg(target, seed=100, size=(200, 100))
    os.utime(target, ns=(1, 1_000_000_000))  # a different mtime whatever the clock says
    report = index_library(app)
    after = by_name(app)["p0.jpg"]
    assert report.changed == 1 and report.unchanged == 5
    assert after.id == before.id
    assert (after.width, after.height) == (200, 100)
    assert after.content_hash != before.content_hash


def test_moved_and_renamed_files_keep_their_rows(app: AppContext, library: Path) -> None:
    add_root(app, library)
    index_library(app)
    before = by_name(app)
    (library / "sorted").mkdir()
    shutil.move(library / "roll0" / "p0.jpg", library / "sorted" / "grandma.jpg")
    (library / "roll1" / "p1.jpg").rename(library / "roll1" / "renamed.jpg")
    report = index_library(app)
    after = by_name(app)
    assert report.moved == 2 and report.new == 0 and report.missing == 0
    assert after["grandma.jpg"].id == before["p0.jpg"].id
    assert after["renamed.jpg"].id == before["p1.jpg"].id
    assert "p0.jpg" not in after


def test_deleted_files_are_marked_missing_until_purged(app: AppContext, library: Path) -> None:
    add_root(app, library)
    index_library(app)
    (library / "roll0" / "p2.jpg").unlink()
    report = index_library(app)
    assert report.missing == 1
    gone = by_name(app)["p2.jpg"]
    assert gone.status == "missing"
    status = library_status(app)
    assert status["photos"]["missing"] == 1
    assert any(p["path"].endswith("p2.jpg") for p in status["problems"])
    # A missing file that comes back is simply ok again.
    make_jpeg(library / "roll0" / "p2.jpg", seed=2)
    index_library(app)
    assert by_name(app)["p2.jpg"].status == "ok"
    (library / "roll0" / "p2.jpg").unlink()
    index_library(app)
    assert purge_missing(app) == 1
    assert "p2.jpg" not in by_name(app)
    assert not thumbnail_file(app.paths.thumbnails, gone.content_hash).exists()


def test_file_moved_after_being_marked_missing_is_recognised(app: AppContext,
                                                             library: Path, tmp_path: Path) -> None:
    add_root(app, library)
    index_library(app)
    original_id = by_name(app)["p3.jpg"].id
    shutil.move(library / "roll1" / "p3.jpg", tmp_path / "aside.jpg")
    index_library(app)
    assert by_name(app)["p3.jpg"].status == "missing"
    shutil.move(tmp_path / "aside.jpg", library / "back.jpg")
    report = index_library(app)
    assert report.moved == 1
    assert by_name(app)["back.jpg"].id == original_id


def test_cancel_then_resume(app: AppContext, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "many"
    for i in range(40):
        make_jpeg(root / f"{i:03d}.jpg", seed=1000 + i, size=(64, 48))
    add_root(app, root)
    monkeypatch.setattr(indexer, "COMMIT_EVERY", 5)
    token = CancelToken()

    def stop_midway(p: Progress) -> None:
        if p.stage == "indexing" and p.done >= 12:
            token.cancel()

    with pytest.raises(JobCancelled, match="run it again to resume"):
        index_library(app, progress=stop_midway, cancel=token)
    done_first = len(list_photos(app))
    assert 12 <= done_first < 40
    report = index_library(app)
    assert report.new == 40 - done_first and report.unchanged == done_first
    assert len(list_photos(app)) == 40


def test_rescan_rereads_everything(app: AppContext, library: Path) -> None:
    add_root(app, library)
    index_library(app)
    report = index_library(app, rescan=True)
    assert report.changed == 6 and report.unchanged == 0 and len(list_photos(app)) == 6


def test_originals_are_byte_identical(app: AppContext, library: Path) -> None:
    before = fingerprint(library)
    add_root(app, library)
    index_library(app)
    index_library(app, rescan=True)
    assert fingerprint(library) == before


def test_thumbnails_rebuild_lazily(app: AppContext, library: Path) -> None:
    add_root(app, library)
    index_library(app)
    shutil.rmtree(app.paths.thumbnails)
    photo = list_photos(app)[0]
    thumb = photo_thumbnail(app, photo)
    assert thumb is not None and thumb.exists()
    with Image.open(thumb) as im:
        assert max(im.size) <= app.settings.index.thumbnail_size


def test_root_rules(app: AppContext, library: Path, tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no such folder"):
        add_root(app, tmp_path / "nowhere")
    make_jpeg(tmp_path / "file.jpg", 1)
    with pytest.raises(LibraryError, match="not a folder"):
        add_root(app, tmp_path / "file.jpg")
    with pytest.raises(LibraryError, match="app's own data"):
        add_root(app, app.paths.data)
    add_root(app, library / "roll0")
    index_library(app)
    with pytest.raises(LibraryError, match="already in the library"):
        add_root(app, library / "roll0")
    kept_ids = {p.id for p in list_photos(app)}
    add_root(app, library)  # contains roll0: roll0 folds into it, its photos keep their rows
    assert [r.path for r in list_roots(app)] == [str(library.resolve())]
    assert kept_ids <= {p.id for p in list_photos(app)}
    index_library(app)
    assert len(list_photos(app)) == 6
    assert remove_root(app, library) == 6
    assert list_photos(app) == [] and library.exists()


def test_app_home_inside_a_root_is_not_indexed(tmp_path: Path, library: Path) -> None:
    with AppContext.open(library / "app-home") as ctx:
        make_jpeg(ctx.paths.cache / "x.jpg", 9)
        add_root(ctx, library)
        index_library(ctx)
        assert not [p for p in list_photos(ctx) if "app-home" in p.path]


def test_unreachable_root_keeps_its_photos(app: AppContext, library: Path, tmp_path: Path) -> None:
    """An unplugged drive is reported, and its photos are not marked missing."""
    add_root(app, library)
    index_library(app)
    library.rename(tmp_path / "unplugged")
    report = index_library(app)
    assert report.missing == 0
    assert {p.status for p in list_photos(app)} == {"ok"}
    issues = library_status(app)["scan_issues"]
    assert [i["kind"] for i in issues] == ["root_unavailable"]
    assert "not reachable" in issues[0]["reason"]
    (tmp_path / "unplugged").rename(library)
    assert index_library(app).unchanged == 6
    assert library_status(app)["scan_issues"] == []


def test_thumbnail_cache_failure_does_not_stop_the_scan(
    app: AppContext, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(indexer, "save_thumbnail", disk_full)
    add_root(app, library)
    report = index_library(app)
    assert report.new == 6 and report.errors == 0
    assert {p.status for p in list_photos(app)} == {"ok"}


def test_unexpected_error_in_one_file_is_recorded_not_raised(
    app: AppContext, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = indexer.inspect_image

    def buggy(source: object, **kw: object) -> object:
        if isinstance(source, bytes) and source == (library / "roll1" / "p1.jpg").read_bytes():
            raise RuntimeError("decoder bug")
        return real(source, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer, "inspect_image", buggy)
    add_root(app, library)
    report = index_library(app)
    assert report.new == 6 and report.errors == 1
    bad = by_name(app)["p1.jpg"]
    assert bad.status == "error" and bad.error_kind == "internal"
    assert "RuntimeError: decoder bug" in (bad.error or "")
