"""What can be done about a damaged library database, in plain words, before doing it.

`plan_repair` looks (read-only) at the damaged file, the backups beside it (the newest one
that passes SQLite's integrity check), the export of the people decisions and the folders
the library was made of, and says what each way out gives and what it loses: restore the
newest good backup, salvage what can be read, rebuild from the photos. The CLI
(`idfsr library check|repair`) and the app's start-up dialog show the same words.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.db.backup import BackupInfo, list_backups, verify_backup
from core.db.errors import READ_ERRORS
from core.db.files import damaged_of, export_file
from core.db.health import Diagnosis, check_database, lenient_text
from core.db.salvage import open_damaged
from core.errors import IdfsrError
from core.people.decisions_file import decisions_digest, exported_at, read_decisions, summary

REBUILD_MARK = "rebuild-pending.json"  # beside the DB while a rebuild is not finished


def when(moment: datetime, now: datetime) -> str:
    """'3 December 2025 at 14:02 (2 days ago)', in local time."""
    local = moment.astimezone()
    ago = now - moment
    if ago.total_seconds() < 90:
        rel = "just now"
    elif ago.total_seconds() < 5400:
        rel = f"{round(ago.total_seconds() / 60)} minutes ago"
    elif ago.total_seconds() < 36 * 3600:
        rel = f"{round(ago.total_seconds() / 3600)} hours ago"
    else:
        rel = f"{ago.days} days ago"
    return f"{local.day} {local:%B %Y} at {local:%H:%M} ({rel})"


@dataclass(frozen=True)
class Contents:
    """What a library database holds, as the user counts it."""

    photos: int = 0
    faces: int = 0
    people: int = 0
    named: int = 0
    decisions: int = 0  # faces placed by the user, "not this person"s

    def words(self) -> str:
        """'12 people (5 named), 340 faces in 200 photos, 31 face decisions'."""
        return (f"{self.people:,} people ({self.named:,} named), {self.faces:,} faces in "
                f"{self.photos:,} photos, {self.decisions:,} face decisions")


def contents_of(path: Path, *, without_log: bool = False) -> Contents | None:
    """Count what a (maybe damaged) database holds; None when it cannot be read."""
    def one(conn: sqlite3.Connection, sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0] or 0)

    try:
        conn = open_damaged(path, without_log=without_log)
        conn.text_factory = lenient_text  # what it says, not whether it is whole
        try:
            return Contents(
                one(conn, "SELECT count(*) FROM photos"),
                one(conn, "SELECT count(*) FROM faces"),
                one(conn, "SELECT count(*) FROM persons"),
                one(conn, "SELECT count(*) FROM persons WHERE name IS NOT NULL"),
                one(conn, "SELECT count(*) FROM face_persons WHERE source != 'auto'")
                + one(conn, "SELECT count(*) FROM face_rejections"))
        finally:
            conn.close()
    except READ_ERRORS:
        return None


@dataclass(frozen=True)
class BackupOption:
    """A backup, and what a check of it found."""

    info: BackupInfo
    sound: bool
    problem: str = ""
    contents: Contents | None = None


@dataclass(frozen=True)
class ExportOption:
    """An export of the people decisions."""

    path: Path
    made_at: datetime | None
    counts: dict[str, int]
    digest: str
    roots: list[str]

    def contents(self) -> str:
        """What it holds, in the user's words."""
        c = self.counts
        return (f"{c['people']} people, {c['named']} named, {c['decided_faces']} placed "
                f"faces, {c['rejections']} \"not this person\" answers")


def read_export(path: Path) -> ExportOption | None:
    """An export, if it is there and readable."""
    try:
        data = read_decisions(path)
    except IdfsrError:
        return None
    roots = [str(r) for r in (data.get("library") or {}).get("roots", [])]
    return ExportOption(path, exported_at(data), summary(data), decisions_digest(data), roots)


def _roots_of(path: Path, *, without_log: bool = False) -> list[str]:
    try:
        conn = open_damaged(path, without_log=without_log)
        conn.text_factory = lenient_text  # what it says, not whether it is whole
        try:
            return [os.fsdecode(r[0]) for r in conn.execute("SELECT path FROM library_roots")]
        finally:
            conn.close()
    except READ_ERRORS:
        return []


def _edits_since(path: Path, since: datetime, *, without_log: bool) -> list[str] | None:
    """Summaries of the people edits the damaged file holds from after `since` (None: the
    log cannot be read)."""
    stamp = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as UtcDateTime stores
    try:
        conn = open_damaged(path, without_log=without_log)
        conn.text_factory = lenient_text  # what it says, not whether it is whole
        try:
            return [str(r[0]) for r in conn.execute(
                "SELECT summary FROM people_edits WHERE created_at > ? AND undone = 0 "
                "ORDER BY id", (stamp,))]
        finally:
            conn.close()
    except READ_ERRORS:
        return None


@dataclass
class RepairPlan:
    """The damaged database and the ways out, with what each gives and loses."""

    db: Path
    diagnosis: Diagnosis
    now: datetime
    backup: BackupOption | None = None  # the newest sound backup
    checked: list[BackupOption] = field(default_factory=list)  # newest first, up to it
    unchecked: list[BackupInfo] = field(default_factory=list)  # older ones
    export: ExportOption | None = None
    roots: list[str] = field(default_factory=list)
    edits_since_backup: list[str] | None = None
    damaged_copies: list[Path] = field(default_factory=list)  # set aside by earlier repairs

    @property
    def without_log(self) -> bool:
        """Whether the database must be read without its log (it belongs elsewhere)."""
        return self.diagnosis.problem == "foreign_log"

    @property
    def export_after_backup(self) -> bool:
        """Whether the export holds decisions newer than the backup (re-applied after it)."""
        if self.export is None or self.backup is None or self.export.made_at is None:
            return False
        return (self.export.made_at > self.backup.info.made_at
                and self.export.digest != self.backup.info.digest)

    def restore_words(self) -> str:
        """What restoring the newest good backup gives and loses."""
        if self.backup is None:
            bad = f" ({len(self.checked)} found, none sound)" if self.checked else ""
            return f"There is no good backup to restore{bad}."
        b = self.backup
        held = f": {b.contents.words()}" if b.contents else ""
        words = [f"Restore the backup made on {when(b.info.made_at, self.now)}{held}."]
        if self.export_after_backup and self.export is not None:
            made = when(self.export.made_at, self.now) if self.export.made_at else "later"
            words.append(f"Your people decisions made after it come back from the export of "
                         f"{made}.")
        elif self.edits_since_backup:
            shown = "; ".join(self.edits_since_backup[:3])
            more = len(self.edits_since_backup) - 3
            words.append(f"Lost: {len(self.edits_since_backup)} people edit(s) made after it "
                         f"({shown}{f'; and {more} more' if more > 0 else ''}).")
        elif self.edits_since_backup is None:
            words.append("Lost: any people edit made after it (the damaged file does not say "
                         "which).")
        else:
            words.append("No people edit made after it is lost.")
        words.append("Photos added or changed since then are found again at the next scan.")
        return " ".join(words)

    def salvage_words(self) -> str:
        """What salvaging gives and loses."""
        words = ["Salvage: copy what can still be read into a new database, table by table "
                 "and row by row; rows that cannot be read are counted and left out."]
        if self.without_log:
            words.append("The log that does not belong to it is left out.")
        if self.export is not None:
            words.append("Then your people decisions are applied again from the export of "
                         + (when(self.export.made_at, self.now) if self.export.made_at
                            else "the decisions") + ", filling what could not be read.")
        return " ".join(words)

    def rebuild_words(self) -> str:
        """What rebuilding from the photos gives and loses."""
        if not self.roots:
            return ("Rebuild from the photos: not possible here, the library's folders are "
                    "not known (no export, no readable backup); add them again by hand.")
        folders = f"{len(self.roots)} folder{'s' if len(self.roots) > 1 else ''}"
        words = [f"Rebuild from your photos: index the library's {folders} again and find "
                 "every face again (as long as the first indexing took)"]
        if self.export is not None:
            made = when(self.export.made_at, self.now) if self.export.made_at else "unknown date"
            words.append(f", then re-apply your people decisions from the export of {made} "
                         f"({self.export.contents()}).")
        else:
            words.append(". There is no export of your people decisions: people would have to "
                         "be named again.")
        return "".join(words)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "database": str(self.db), "diagnosis": self.diagnosis.to_dict(),
            "backup": None if self.backup is None else {
                **self.backup.info.to_dict(),
                "contents": None if self.backup.contents is None else vars(self.backup.contents)},
            "backups_checked": [{**b.info.to_dict(), "sound": b.sound, "problem": b.problem}
                                for b in self.checked],
            "backups_unchecked": [b.to_dict() for b in self.unchecked],
            "export": None if self.export is None else {
                "path": str(self.export.path), "counts": self.export.counts,
                "made_at": self.export.made_at.isoformat() if self.export.made_at else None},
            "roots": self.roots, "damaged_copies": [str(p) for p in self.damaged_copies],
            "options": {"restore": self.restore_words(), "salvage": self.salvage_words(),
                        "rebuild": self.rebuild_words()},
        }


def newest_sound_backup(db: Path) -> tuple[BackupOption | None, list[BackupOption],
                                           list[BackupInfo]]:
    """Check backups newest first (SQLite's integrity check) up to the first sound one."""
    checked: list[BackupOption] = []
    backups = list_backups(db)
    for n, info in enumerate(backups):
        try:
            verify_backup(info.path)
        except IdfsrError as exc:
            checked.append(BackupOption(info, False, str(exc)))
            continue
        option = BackupOption(info, True, contents=contents_of(info.path))
        checked.append(option)
        return option, checked, backups[n + 1:]
    return None, checked, []


def plan_repair(db: Path, *, now: datetime, diagnosis: Diagnosis | None = None) -> RepairPlan:
    """Look at the damaged database and at what could replace it (reads only)."""
    diagnosis = diagnosis or check_database(db)
    plan = RepairPlan(db, diagnosis, now, damaged_copies=damaged_of(db))
    plan.backup, plan.checked, plan.unchecked = newest_sound_backup(db)
    plan.export = read_export(export_file(db))
    if db.exists() and db.stat().st_size:
        plan.roots = _roots_of(db, without_log=plan.without_log)
        if plan.backup is not None and diagnosis.damaged:
            plan.edits_since_backup = _edits_since(db, plan.backup.info.made_at,
                                                   without_log=plan.without_log)
    if not plan.roots and plan.export is not None:
        plan.roots = plan.export.roots
    if not plan.roots and plan.backup is not None:
        plan.roots = _roots_of(plan.backup.info.path)
    return plan


def rebuild_pending(db: Path) -> dict[str, Any] | None:
    """The unfinished rebuild's note (which decisions to apply once indexed), if any."""
    mark = db.with_name(REBUILD_MARK)
    try:
        return dict(json.loads(mark.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
