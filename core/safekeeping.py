"""Keeping the user's work safe between sessions, at the end of each one.

When a session (a command, a run of the app) wrote to the library, its people decisions
are exported beside the database (`people-decisions.json`, core.people.decisions_file)
if they changed: the file a rebuild re-applies them from. And when the decisions differ
from those in the newest rolling backup, and that backup is older than the interval
(`settings.backups`, daily by default), a new verified backup is made with SQLite's online
backup API and the oldest beyond `keep` are removed (core.db.backup). A library with no
decision at all is not backed up: everything in it comes back by indexing the photos.

Nothing here may fail a session: a backup that cannot be written (disk full) is reported
as a warning and the earlier ones stay as they were.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from core.context import AppContext
from core.db.backup import BackupInfo, list_backups, make_backup
from core.db.files import export_file, files_stamp
from core.errors import IdfsrError
from core.people.decisions_file import (
    decisions_digest,
    export_decisions,
    read_decisions,
    stored_digest,
    write_decisions,
)

log = logging.getLogger(__name__)

@dataclass
class SafekeepingReport:
    """What the end of a session did."""

    exported: Path | None = None
    backup: BackupInfo | None = None
    warnings: list[str] = field(default_factory=list)


def _previous_digest(path: Path) -> str | None:
    found = stored_digest(path)
    if found is not None:
        return found
    try:  # an export written by hand, or by `people export` into this folder
        return decisions_digest(read_decisions(path))
    except IdfsrError:
        return None


def _has_decisions(data: dict[str, object]) -> bool:
    return any(data.get(k) for k in ("people", "rejections", "unassigned"))


def backup_due(newest: BackupInfo | None, digest: str, now: datetime,
               interval: timedelta) -> bool:
    """Whether a new rolling backup is called for: the decisions changed since the newest,
    and it is at least `interval` old."""
    if newest is None:
        return True
    return newest.digest != digest and now - newest.made_at >= interval


def end_session(ctx: AppContext, *, now: datetime | None = None) -> SafekeepingReport:
    """Export the decisions and make a rolling backup, when called for (see the module)."""
    report = SafekeepingReport()
    db = ctx.db.path
    now = now or ctx.clock()
    target = export_file(db)
    if ctx.db.damage is not None or not db.exists():
        return report
    try:
        if ctx.opened_stamp != files_stamp(db) or not target.exists():
            data = export_decisions(ctx, now)
            digest = decisions_digest(data)
            if (target.exists() or _has_decisions(data)) and _previous_digest(target) != digest:
                write_decisions(data, target, digest)
                report.exported = target
            has = _has_decisions(data)
        else:  # nothing written in this session: the export is as current as the database
            digest = _previous_digest(target) or ""
            has = digest not in ("", decisions_digest({}))  # {}: no decision at all
        rules = ctx.settings.backups
        newest = next((b for b in list_backups(db) if b.kind == "auto"), None)
        if (rules.enabled and has
                and backup_due(newest, digest, now, timedelta(hours=rules.interval_hours))):
            report.backup = make_backup(db, "auto", now=now, digest=digest, keep=rules.keep)
    except (IdfsrError, OSError, sqlite3.Error) as exc:
        message = (f"the automatic backup of your people decisions failed: {exc}; the earlier "
                   "backups are as they were")
        log.warning("%s", message)
        report.warnings.append(message)
    return report


def open_session(home: str | os.PathLike[str] | None = None, *,
                 checked: bool = False) -> AppContext:
    """The app home opened for a user's session (a command, a run of the app): closing it
    keeps the session's work safe (`end_session`). See `AppContext.open` for the rest."""
    return AppContext.open(home, checked=checked, on_close=[end_session])
