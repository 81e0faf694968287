"""Repairing a damaged library database, three ways; the damaged file is always kept aside.

- restore: the newest backup that passes SQLite's integrity check (or one the user names)
  is copied into place with the online backup API; when the export of the people
  decisions is newer, its decisions are applied on top (same person ids).
- salvage: what can still be read is copied into a new database (core.db.salvage), then
  the export's decisions fill what could not be read.
- rebuild: a new database holding the library's folders; the photos are indexed again,
  faces found again, and the export's decisions re-applied (`finish_rebuild`; an
  interrupted rebuild carries on where it stopped when run again).

Before any of them replaces it, the damaged database, its log and its index are renamed
to `library.db.damaged-<time>` (`-wal`, `-shm`): kept, never written, never deleted.
Caches keyed by face id (face thumbnails, the FAISS indexes) are cleared, since ids may
now name other faces; person ids are never reused (fitted identities are kept per id).
Each is a plain function taking `progress` and `cancel`, for the CLI and the app alike.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.context import AppContext
from core.db.backup import parse_backup, verify_backup, write_backup
from core.db.database import Database
from core.db.files import MARK_SUFFIX, SIDE_SUFFIXES, export_file, rebuild_decisions_file
from core.db.health import Diagnosis, check_database
from core.db.lock import file_lock
from core.db.models import LibraryRoot
from core.db.salvage import SalvageReport, salvage_database
from core.errors import IdfsrError
from core.faces.wipe import index_cache_dirs, remove_tree
from core.fsutil import atomic_write_bytes
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.paths import AppPaths
from core.people.decisions_file import decisions_digest, exported_at, read_decisions
from core.people.decisions_import import import_decisions, reserve_person_ids
from core.repair_plan import REBUILD_MARK, newest_sound_backup, plan_repair, rebuild_pending
from core.settings import load_settings
from core.tasks.indexing import index_everything

log = logging.getLogger(__name__)

STAMP = "%Y%m%d-%H%M%SZ"


@dataclass
class RepairReport:
    """What a repair did, in words and in numbers."""

    action: str  # restore | salvage | rebuild | rebuild-finished
    message: str = ""
    kept: list[str] = field(default_factory=list)  # the damaged files, set aside
    backup: str | None = None
    salvage: dict[str, Any] | None = None
    decisions: dict[str, Any] | None = None
    index: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)


def _check(db: Path, force: bool) -> Diagnosis:
    diagnosis = check_database(db)
    if not diagnosis.damaged and not force:
        raise IdfsrError(f"the library database {db} is sound ({diagnosis.summary}); there "
                         "is nothing to repair")
    return diagnosis


def set_aside(db: Path, now: datetime) -> list[Path]:
    """Rename the database and SQLite's files beside it (and the note of damage met in use)
    to `<db>.damaged-<time>`; returns the new paths, the database's first (nothing is
    copied, written or deleted)."""
    stamp = now.astimezone(UTC).strftime(STAMP)
    base = db.with_name(f"{db.name}.damaged-{stamp}")
    n = 1
    while base.exists():
        n += 1
        base = db.with_name(f"{db.name}.damaged-{stamp}-{n}")
    kept = []
    for suffix in ("", *SIDE_SUFFIXES, MARK_SUFFIX):
        source = db.with_name(db.name + suffix)
        if source.exists():
            target = base.with_name(base.name + suffix)
            os.replace(source, target)
            kept.append(target)
    return kept


def _lock(db: Path) -> Any:
    return file_lock(db.with_name(f"{db.name}.lock"), timeout=30,
                     what=f"the library database {db}")


def _open(paths: AppPaths) -> AppContext:
    settings = load_settings(paths.settings_file)
    ctx = AppContext(paths=paths, settings=settings, db=Database.open(paths.db_file))
    ctx.apply_models_dir()
    return ctx


def _remove(path: Path) -> None:
    """A temporary database and every file beside it (its log, index, upgrade lock)."""
    for p in (path, *(path.with_name(path.name + s) for s in (*SIDE_SUFFIXES, ".lock"))):
        p.unlink(missing_ok=True)


def known_person_ids(paths: AppPaths) -> int:
    """The greatest person id the fitted identities name (`person-<id>.safetensors`)."""
    top = 0
    if paths.identities.is_dir():
        for path in paths.identities.rglob("person-*.safetensors"):
            found = re.match(r"person-(\d+)", path.name)
            if found:
                top = max(top, int(found[1]))
    return top


def clear_face_caches(paths: AppPaths) -> None:
    """Forget the caches keyed by face id; they are made again on demand."""
    # core.faces.scan.face_thumbnail_path: <cache>/faces/<id // 1000>/<id>.jpg
    for folder in (paths.cache / "faces", *index_cache_dirs(paths)):
        remove_tree(folder)


def _reapply(ctx: AppContext, data: dict[str, Any] | None, at_least: int) -> dict[str, Any] | None:
    report = None
    if data is not None:
        report = import_decisions(ctx, data, keep_ids=True).to_dict()
    with ctx.db.session() as s:
        reserve_person_ids(s, max(at_least, known_person_ids(ctx.paths)))
    return report


def _decisions(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    return read_decisions(path)


def _mark_pending(db: Path, kept: list[Path], decisions: Path | None, now: datetime) -> None:
    """Note that the photos must be indexed again and then these decisions re-applied
    (`finish_rebuild`); the decisions are copied, as the export is rewritten meanwhile."""
    copy = rebuild_decisions_file(db)
    if decisions is not None:
        shutil.copyfile(decisions, copy)
    mark = {"started_at": now.isoformat(), "kept": [str(k) for k in kept],
            "decisions": str(copy) if decisions is not None else None}
    atomic_write_bytes(db.with_name(REBUILD_MARK), json.dumps(mark).encode("utf-8"))


def _max_id(data: dict[str, Any] | None) -> int:
    return int(((data or {}).get("library") or {}).get("max_person_id") or 0)


def restore_backup(
    paths: AppPaths,
    *,
    backup: Path | None = None,
    now: datetime,
    force: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RepairReport:
    """Put the newest good backup (or `backup`) in place of the damaged database, then the
    newer people decisions of the export on top."""
    db = paths.db_file
    _check(db, force)
    if backup is None:
        chosen, _, _ = newest_sound_backup(db)
        if chosen is None:
            raise IdfsrError("there is no backup of the library database that passes SQLite's "
                             "integrity check; salvage it or rebuild from the photos instead")
        info = chosen.info
    else:
        found = parse_backup(db, backup)
        if found is None or not backup.is_file():
            raise IdfsrError(f"{backup} is not one of the library database's backups")
        verify_backup(backup)
        info = found
    export = export_file(db)
    data = _decisions(export) if export.exists() else None

    newer = (data is not None and (exported_at(data) or info.made_at) > info.made_at
             and decisions_digest(data) != info.digest)
    progress(Progress("restore", 0, 3, "copying the backup"))
    restoring = db.with_name(f"{db.name}.restoring")
    _remove(restoring)
    write_backup(info.path, restoring, partial=db.with_name(f"{db.name}.partial-restore"),
                 progress=progress, cancel=cancel)
    with _lock(db):
        kept = set_aside(db, now)
        os.replace(restoring, db)
    clear_face_caches(paths)
    progress(Progress("restore", 2, 3, "applying the newer people decisions"))
    ctx = _open(paths)
    try:
        applied = _reapply(ctx, data if newer else None, _max_id(data))
    finally:
        ctx.close()
    progress(Progress("restore", 3, 3, "restored"))
    words = f"restored the backup made {info.made_at.astimezone():%Y-%m-%d %H:%M}"
    if applied:
        words += (f", then re-applied {applied['people']} people's decisions from the export "
                  f"({applied['faces']} faces placed)")
    return RepairReport("restore", words + f"; the damaged file is kept as {kept[0].name}",
                        [str(k) for k in kept], backup=str(info.path), decisions=applied)


def salvage_library(
    paths: AppPaths,
    *,
    now: datetime,
    force: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RepairReport:
    """Copy what can be read into a new database, put it in place, re-apply the export."""
    db = paths.db_file
    diagnosis = _check(db, force)
    target = db.with_name(f"{db.name}.salvaging")
    _remove(target)
    try:
        report: SalvageReport = salvage_database(
            db, target, without_log=diagnosis.problem == "foreign_log", progress=progress,
            cancel=cancel)
    except BaseException:
        _remove(target)
        raise
    if report.copied == 0:
        _remove(target)
        raise IdfsrError("nothing could be read from the damaged database (its table of "
                         "contents is lost); restore a backup or rebuild from the photos")
    data = _decisions(export_file(db))
    with _lock(db):
        kept = set_aside(db, now)
        os.replace(target, db)
    _remove(target)  # what is left of it: its upgrade lock
    if report.lost or report.damaged_ranges:
        # What was lost is found again by indexing (`finish_rebuild`), then the decisions of
        # the export (as it is now, before this session rewrites it) go on it too.
        _mark_pending(db, kept, export_file(db) if data is not None else None, now)
    clear_face_caches(paths)
    ctx = _open(paths)
    try:
        applied = _reapply(ctx, data, _max_id(data))
    finally:
        ctx.close()
    lost = report.lost
    words = (f"salvaged {report.copied:,} rows into a new database; {lost:,} rows were "
             "unreadable or lost with them")
    if report.damaged_ranges:
        words += (f" (and {report.damaged_ranges} damaged stretch(es) of tables whose rows "
                  "cannot be counted)")
    if applied:
        words += f"; re-applied {applied['people']} people's decisions from the export"
    if lost or report.damaged_ranges:
        words += "; the photos are to be indexed again to find what was lost"
    return RepairReport("salvage", words + f"; the damaged file is kept as {kept[0].name}",
                        [str(k) for k in kept], salvage=report.to_dict(), decisions=applied)


def start_rebuild(
    paths: AppPaths,
    *,
    now: datetime,
    decisions: Path | None = None,
    force: bool = False,
) -> RepairReport:
    """Set the damaged database aside and start a new one holding the library's folders;
    `finish_rebuild` then indexes the photos and re-applies the decisions."""
    db = paths.db_file
    diagnosis = _check(db, force)
    plan = plan_repair(db, now=now, diagnosis=diagnosis)
    source = decisions or export_file(db)
    data = _decisions(source)
    roots = [str(r) for r in ((data or {}).get("library") or {}).get("roots", [])] or plan.roots
    if not roots:
        raise IdfsrError("the library's folders are not known (no export of the decisions, no "
                         "readable backup): add them again with `idfsr library add`")
    with _lock(db):
        kept = set_aside(db, now)
    _mark_pending(db, kept, source if data is not None else None, now)
    clear_face_caches(paths)
    fresh = Database.open(db)  # (it takes the lock itself, to make its schema)
    try:
        with fresh.session() as s:
            for root in sorted(set(roots)):
                s.add(LibraryRoot(path=root, added_at=now))
            s.flush()
            reserve_person_ids(s, max(_max_id(data), known_person_ids(paths)))
    finally:
        fresh.close()
    return RepairReport("rebuild", f"started a new library database with {len(roots)} "
                        f"folder(s); the damaged file is kept as {kept[0].name}",
                        [str(k) for k in kept])


def finish_rebuild(
    ctx: AppContext,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RepairReport:
    """Index the photos again, then re-apply the saved decisions (run again after a stop):
    the end of a rebuild, and of a salvage that lost rows."""
    db = ctx.db.path
    mark = rebuild_pending(db)
    if mark is None:
        raise IdfsrError("no rebuild of the library is under way")
    indexed = index_everything(ctx, faces=True, progress=progress, cancel=cancel)
    source = Path(mark["decisions"]) if mark.get("decisions") else None
    data = _decisions(source)
    applied = _reapply(ctx, data, _max_id(data))
    db.with_name(REBUILD_MARK).unlink(missing_ok=True)
    if source is not None:
        source.unlink(missing_ok=True)
    p = indexed.photos
    faces = indexed.faces.faces if indexed.faces is not None else 0
    words = f"rebuilt the library: {p.seen:,} photos indexed, {faces:,} faces found"
    if applied:
        words += (f"; re-applied {applied['people']} people's decisions ({applied['faces']} "
                  f"faces placed, {applied['faces_missing']} not found)")
    else:
        words += "; there were no saved people decisions to re-apply"
    return RepairReport("rebuild-finished", words, list(mark.get("kept", [])),
                        decisions=applied, index=indexed.to_dict())


def repair(
    paths: AppPaths,
    action: str,
    *,
    now: datetime,
    interactive: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RepairReport:
    """One repair from start to end, for the app: "restore", "salvage", "rebuild", or
    "continue" (an unfinished rebuild); with the indexing and the re-applied decisions a
    rebuild or a salvage that lost rows calls for. `interactive`: a window is waiting (the
    face models run in child processes, as in the app)."""
    if rebuild_pending(paths.db_file) is not None and not check_database(paths.db_file).damaged:
        action = "continue"  # an unfinished rebuild or salvage: carry it on
    if action == "restore":
        return restore_backup(paths, now=now, progress=progress, cancel=cancel)
    first = None
    if action == "salvage":
        first = salvage_library(paths, now=now, progress=progress, cancel=cancel)
    elif action == "rebuild":
        first = start_rebuild(paths, now=now)
    elif action != "continue":
        raise ValueError(f"unknown repair {action!r}")
    if rebuild_pending(paths.db_file) is None:
        assert first is not None
        return first
    ctx = _open(paths)
    ctx.interactive = interactive
    try:
        done = finish_rebuild(ctx, progress=progress, cancel=cancel)
    finally:
        ctx.close()
    if first is not None:
        done.message = f"{first.message}; {done.message}"
        done.kept = first.kept
        done.salvage = first.salvage
    return done
