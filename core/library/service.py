"""Library operations the CLI and the GUI share: roots, status, listing, purge."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from core.context import AppContext
from core.db.models import LibraryRoot, Photo, PhotoStatus, ScanIssue
from core.errors import LibraryError
from core.fsutil import display_path
from core.library.thumbnails import ensure_thumbnail, thumbnail_file


@dataclass(frozen=True)
class RootInfo:
    """A library root with its photo counts by status."""

    id: int
    path: str
    photos: int
    ok: int
    errors: int
    missing: int
    last_scan_at: datetime | None


@dataclass(frozen=True)
class PhotoInfo:
    """A photo as the CLI and the GUI show it (never a live ORM object)."""

    id: int
    path: str
    status: str
    format: str | None
    width: int | None
    height: int | None
    orientation: int
    captured_at: datetime | None
    size: int
    content_hash: str | None
    error_kind: str | None
    error: str | None


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def add_root(ctx: AppContext, path: str | os.PathLike[str]) -> RootInfo:
    """Add a folder to the library (it is indexed by the next `index_library`)."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise LibraryError(f"no such folder: {display_path(folder)}")
    if not folder.is_dir():
        raise LibraryError(f"not a folder: {display_path(folder)}")
    folder_s = str(folder.resolve())
    for app_dir in ctx.paths.all_roots():
        if _inside(folder_s, str(app_dir.resolve())):
            raise LibraryError("that folder is inside the app's own data folder")
    with ctx.db.session() as s:
        roots = list(s.scalars(select(LibraryRoot)))
        for r in roots:
            if _inside(folder_s, r.path):
                raise LibraryError(
                    f"{display_path(folder_s)} is already in the library "
                    f"(under {display_path(r.path)})"
                )
        root = LibraryRoot(path=folder_s)
        s.add(root)
        s.flush()
        # Folders the new root contains fold into it; their photos keep their rows.
        for r in roots:
            if _inside(r.path, folder_s):
                s.execute(update(Photo).where(Photo.root_id == r.id).values(root_id=root.id))
                s.execute(delete(ScanIssue).where(ScanIssue.root_id == r.id))
                s.delete(r)
        root_id = root.id
    return next(r for r in list_roots(ctx) if r.id == root_id)


def remove_root(ctx: AppContext, path: str | os.PathLike[str]) -> int:
    """Forget a root and its photos' records (the files are not touched). Returns photos dropped."""
    target = str(Path(path).expanduser().resolve())
    with ctx.db.session() as s:
        root = s.scalar(select(LibraryRoot).where(LibraryRoot.path == target))
        if root is None:
            raise LibraryError(f"not a library folder: {display_path(target)}")
        count = s.scalar(select(func.count()).where(Photo.root_id == root.id)) or 0
        s.delete(root)
    return count


def list_roots(ctx: AppContext) -> list[RootInfo]:
    """Every root with its counts."""
    with ctx.db.session() as s:
        counts: dict[int, dict[str, int]] = {}
        for root_id, status, n in s.execute(
            select(Photo.root_id, Photo.status, func.count()).group_by(Photo.root_id, Photo.status)
        ):
            counts.setdefault(root_id, {})[status] = n
        out = []
        for r in s.scalars(select(LibraryRoot).order_by(LibraryRoot.id)):
            c = counts.get(r.id, {})
            out.append(RootInfo(
                id=r.id, path=r.path, photos=sum(c.values()), ok=c.get(PhotoStatus.OK, 0),
                errors=c.get(PhotoStatus.ERROR, 0), missing=c.get(PhotoStatus.MISSING, 0),
                last_scan_at=r.last_scan_at,
            ))
        return out


def _photo_info(p: Photo) -> PhotoInfo:
    return PhotoInfo(
        id=p.id, path=p.path, status=p.status, format=p.format, width=p.width, height=p.height,
        orientation=p.orientation, captured_at=p.captured_at, size=p.size,
        content_hash=p.content_hash, error_kind=p.error_kind, error=p.error,
    )


def list_photos(
    ctx: AppContext, *, status: str | None = None, offset: int = 0, limit: int | None = None
) -> list[PhotoInfo]:
    """Photos ordered by path, optionally of one status, in a window (for large libraries)."""
    q = select(Photo).order_by(Photo.path).offset(offset)
    if status:
        q = q.where(Photo.status == status)
    if limit is not None:
        q = q.limit(limit)
    with ctx.db.session() as s:
        return [_photo_info(p) for p in s.scalars(q)]


def library_status(ctx: AppContext) -> dict[str, Any]:
    """Counts, roots and every problem with its reason, as plain data."""
    roots = list_roots(ctx)
    with ctx.db.session() as s:
        totals = dict(s.execute(select(Photo.status, func.count()).group_by(Photo.status)).all())
        issues = [
            {"path": display_path(i.path), "kind": i.kind, "reason": i.reason}
            for i in s.scalars(select(ScanIssue).order_by(ScanIssue.path))
        ]
    problems = [
        {"path": display_path(p.path), "status": p.status, "kind": p.error_kind or "missing",
         "reason": p.error or "file no longer on disk"}
        for st in (PhotoStatus.ERROR, PhotoStatus.MISSING)
        for p in list_photos(ctx, status=st)
    ]
    return {
        "home": str(ctx.paths.home) if ctx.paths.home else None,
        "database": str(ctx.paths.db_file),
        "photos": {
            "total": sum(totals.values()),
            "ok": totals.get(PhotoStatus.OK, 0),
            "error": totals.get(PhotoStatus.ERROR, 0),
            "missing": totals.get(PhotoStatus.MISSING, 0),
        },
        "roots": [
            {**asdict(r), "path": display_path(r.path),
             "last_scan_at": r.last_scan_at.isoformat() if r.last_scan_at else None}
            for r in roots
        ],
        "problems": problems,
        "scan_issues": issues,
    }


def purge_missing(ctx: AppContext) -> int:
    """Drop the records of photos marked missing, and thumbnails no other photo shares."""
    with ctx.db.session() as s:
        gone = list(s.execute(select(Photo.id, Photo.content_hash)
                              .where(Photo.status == PhotoStatus.MISSING)))
        s.execute(delete(Photo).where(Photo.status == PhotoStatus.MISSING))
        hashes = {h for _, h in gone if h}
        still_used = set(
            s.scalars(select(Photo.content_hash).where(Photo.content_hash.in_(hashes)))
        )
    for h in hashes - still_used:
        thumbnail_file(ctx.paths.thumbnails, h).unlink(missing_ok=True)
    return len(gone)


def photo_thumbnail(ctx: AppContext, photo: PhotoInfo) -> Path | None:
    """The photo's thumbnail file, made now if the cache lacks it; None if unreadable."""
    if photo.content_hash is None or photo.status == PhotoStatus.ERROR:
        return None
    cfg = ctx.settings.index
    return ensure_thumbnail(ctx.paths.thumbnails, photo.path, photo.content_hash,
                            size=cfg.thumbnail_size, max_pixels=cfg.max_image_pixels)
