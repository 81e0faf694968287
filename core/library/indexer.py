"""Indexing: walk the roots, read new and changed photos in parallel, record them in the DB.

Incremental: a file whose size and mtime match the DB is not opened. A file that
reappears under another path with the content hash of a photo no longer at its old
path is a move: the photo row (and everything attached to it) follows it. Files that
are gone are marked missing, never purged here. Results are committed in batches, so a
cancelled or killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update

from core.context import AppContext
from core.db.models import LibraryRoot, Photo, PhotoStatus, ScanIssue
from core.db.types import utcnow
from core.errors import ImageReadError, JobCancelled
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress, run_on_threads
from core.library.imageio import ImageInfo, inspect_image
from core.library.thumbnails import save_thumbnail, thumbnail_file
from core.library.walk import FoundFile, WalkIssue, walk_images

log = logging.getLogger(__name__)

IN_MEMORY_LIMIT = 64 * 1024 * 1024  # larger files are hashed and decoded from disk
COMMIT_EVERY = 256


@dataclass
class IndexReport:
    """What one indexing run did."""

    roots: int = 0
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    missing: int = 0
    errors: int = 0
    issues: int = 0
    seconds: float = 0.0
    error_files: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)


@dataclass(frozen=True)
class _ReadResult:
    found: FoundFile
    root_id: int
    content_hash: str | None
    info: ImageInfo | None
    error_kind: str | None = None
    error: str | None = None


class _NotAFile(OSError):
    """The path became something other than a regular file (a pipe, say) after the walk."""


def _hash_file(path: str) -> tuple[str, bytes | None]:
    """sha256 of the file; its bytes too when small enough to decode from memory."""
    # Read-only, and non-blocking so that a file swapped for a named pipe cannot hang us.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotAFile("not a regular file")
        size = st.st_size
        if size <= IN_MEMORY_LIMIT:
            data = f.read()
            return hashlib.sha256(data).hexdigest(), data
        return hashlib.file_digest(f, "sha256").hexdigest(), None


def _read_photo(found: FoundFile, root_id: int, ctx: AppContext) -> _ReadResult:
    try:
        return _read_photo_unguarded(found, root_id, ctx)
    except Exception as exc:  # noqa: BLE001 - one file must never stop the scan
        log.exception("unexpected error reading %s", found.path)
        return _ReadResult(found, root_id, None, None, "internal",
                           f"unexpected error: {type(exc).__name__}: {exc}")


def _read_photo_unguarded(found: FoundFile, root_id: int, ctx: AppContext) -> _ReadResult:
    settings = ctx.settings.index
    try:
        content_hash, data = _hash_file(found.path)
    except FileNotFoundError:
        return _ReadResult(found, root_id, None, None, "vanished", "deleted during the scan")
    except PermissionError:
        return _ReadResult(found, root_id, None, None, "unreadable", "permission denied")
    except _NotAFile:
        return _ReadResult(found, root_id, None, None, "not_a_file", "not a regular file")
    except OSError as exc:
        return _ReadResult(found, root_id, None, None, "unreadable",
                           f"cannot read file: {exc.strerror or exc}")
    thumbs = ctx.paths.thumbnails
    want_thumb = settings.thumbnails_on_index
    size = settings.thumbnail_size
    try:
        source = data if data is not None else Path(found.path)
        info, thumb = inspect_image(source, max_pixels=settings.max_image_pixels,
                                    thumb_size=size if want_thumb else None)
    except ImageReadError as exc:
        return _ReadResult(found, root_id, content_hash, None, exc.kind, str(exc))
    if thumb is not None and not thumbnail_file(thumbs, content_hash).exists():
        try:
            save_thumbnail(thumbs, content_hash, thumb)
        except OSError as exc:  # full disk, say: the cache is rebuilt on demand later
            log.warning("could not cache the thumbnail of %s: %s", found.path, exc)
    return _ReadResult(found, root_id, content_hash, info)


def _row_values(r: _ReadResult) -> dict[str, Any]:
    now = utcnow()
    values: dict[str, Any] = {
        "root_id": r.root_id,
        "path": r.found.path,
        "size": r.found.size,
        "mtime_ns": r.found.mtime_ns,
        "content_hash": r.content_hash,
        "indexed_at": now,
        "missing_since": None,
    }
    if r.info is not None:
        values.update(
            status=PhotoStatus.OK.value, error_kind=None, error=None, format=r.info.format,
            width=r.info.width, height=r.info.height, orientation=r.info.orientation,
            captured_at=r.info.captured_at,
        )
    elif r.error_kind == "vanished":
        values.update(status=PhotoStatus.MISSING.value, error_kind="vanished", error=r.error,
                      missing_since=now, orientation=1)
    else:
        values.update(status=PhotoStatus.ERROR.value, error_kind=r.error_kind, error=r.error,
                      format=None, width=None, height=None, orientation=1, captured_at=None)
    return values


class _Writer:
    """Collects row changes from results and writes them in batches from one thread."""

    def __init__(self, ctx: AppContext, report: IndexReport) -> None:
        self.ctx = ctx
        self.report = report
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()

    def add(self, r: _ReadResult, known_id: int | None, moved_from: int | None) -> None:
        values = _row_values(r)
        if r.info is None:
            self.report.errors += r.error_kind != "vanished"
            self.report.error_files.append(
                {"path": r.found.path, "kind": r.error_kind or "", "reason": r.error or ""})
        row_id = known_id if known_id is not None else moved_from
        if row_id is not None:
            self.updates.append({"id": row_id, **values})
        else:
            values["first_seen_at"] = values["indexed_at"]
            self.inserts.append(values)
        if len(self.inserts) + len(self.updates) >= COMMIT_EVERY or (
            time.monotonic() - self.last_flush > 2.0
        ):
            self.flush()

    def flush(self) -> None:
        if self.inserts or self.updates:
            with self.ctx.db.session() as s:
                if self.inserts:
                    s.execute(insert(Photo), self.inserts)
                if self.updates:
                    s.execute(update(Photo), self.updates)
            self.inserts, self.updates = [], []
        self.last_flush = time.monotonic()


def _exclusions(ctx: AppContext) -> frozenset[str]:
    return frozenset(str(p) for p in ctx.paths.all_roots())


def index_library(
    ctx: AppContext,
    *,
    rescan: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IndexReport:
    """Bring the DB up to date with every library root. `rescan` re-reads every file."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    report = IndexReport()
    settings = ctx.settings.index

    with ctx.db.session() as s:
        roots = [(r.id, r.path) for r in s.scalars(select(LibraryRoot))]
        known = {
            row.path: row
            for row in s.execute(
                select(Photo.id, Photo.root_id, Photo.path, Photo.size, Photo.mtime_ns,
                       Photo.status, Photo.content_hash)
            )
        }
    report.roots = len(roots)

    # 1. Walk every root (cheap: stat only).
    found_by_root: dict[int, list[FoundFile]] = defaultdict(list)
    issues_by_root: dict[int, list[WalkIssue]] = defaultdict(list)
    seen_paths: set[str] = set()
    offline: set[int] = set()
    for root_id, root_path in roots:
        if not os.path.isdir(root_path):
            # An unplugged drive is not a deletion: its photos stay as they were.
            offline.add(root_id)
            issues_by_root[root_id].append(WalkIssue(
                root_path, "root_unavailable",
                "library folder is not reachable (unplugged or unmounted?); its photos are "
                "kept as they were"))
            continue
        for item in walk_images(root_path, follow_symlinks=settings.follow_symlinks,
                                skip_hidden=settings.skip_hidden, exclude=_exclusions(ctx)):
            if isinstance(item, WalkIssue):
                issues_by_root[root_id].append(item)
                continue
            if item.path in seen_paths:
                continue  # reached twice through a symlinked folder
            seen_paths.add(item.path)
            found_by_root[root_id].append(item)
            if len(seen_paths) % 1000 == 0:
                progress(Progress("scanning", len(seen_paths), None, "looking for photos"))
                cancel.raise_if_cancelled()
    report.seen = len(seen_paths)

    with ctx.db.session() as s:
        for root_id, _ in roots:
            s.execute(delete(ScanIssue).where(ScanIssue.root_id == root_id))
            rows = [{"root_id": root_id, "path": i.path, "kind": i.kind, "reason": i.reason,
                     "seen_at": utcnow()} for i in issues_by_root[root_id]]
            if rows:
                s.execute(insert(ScanIssue), rows)
    report.issues = sum(len(v) for v in issues_by_root.values())

    # 2. Decide what must be read.
    todo: list[tuple[int, FoundFile]] = []
    for root_id, files in found_by_root.items():
        for f in files:
            row = known.get(f.path)
            if (not rescan and row is not None and row.status != PhotoStatus.MISSING
                    and row.size == f.size and row.mtime_ns == f.mtime_ns):
                report.unchanged += 1
            else:
                todo.append((root_id, f))
    gone = [row for path, row in known.items()
            if path not in seen_paths and row.root_id not in offline]
    move_sources: dict[str, list[int]] = defaultdict(list)
    for row in gone:
        if row.content_hash:
            move_sources[row.content_hash].append(row.id)
    moved_ids: set[int] = set()

    # 3. Read in parallel, write from this thread.
    writer = _Writer(ctx, report)
    workers = settings.workers or os.cpu_count() or 2
    total = len(todo)
    done = 0
    progress(Progress("indexing", 0, total, "reading photos"))

    def take(r: _ReadResult) -> None:
        nonlocal done
        row = known.get(r.found.path)
        moved_from = None
        sources = move_sources.get(r.content_hash or "")
        if row is None and r.info is not None and sources:
            moved_from = sources.pop()
            moved_ids.add(moved_from)
            report.moved += 1
        elif row is None:
            report.new += 1
        else:
            report.changed += 1
        writer.add(r, row.id if row is not None else None, moved_from)
        done += 1
        progress(Progress("indexing", done, total, "reading photos"))

    try:
        run_on_threads(_read_photo, ((f, root_id, ctx) for root_id, f in todo), take,
                       workers=workers, ahead=workers * 4, name="idfsr-index", cancel=cancel)
    except JobCancelled:
        writer.flush()
        raise JobCancelled(
            f"indexing stopped after {done} of {total} photos; run it again to resume"
        ) from None
    writer.flush()

    # 4. What was not seen (and did not move) is missing; kept until the user purges.
    now = utcnow()
    newly_missing = [
        {"id": row.id, "status": PhotoStatus.MISSING.value, "missing_since": now}
        for row in gone
        if row.id not in moved_ids and row.status != PhotoStatus.MISSING
    ]
    report.missing = len(newly_missing)
    with ctx.db.session() as s:
        if newly_missing:
            s.execute(update(Photo), newly_missing)
        s.execute(update(LibraryRoot).where(LibraryRoot.id.not_in(offline))
                  .values(last_scan_at=now))
    report.seconds = round(time.monotonic() - started, 3)
    progress(Progress("done", total, total, "index up to date"))
    return report
