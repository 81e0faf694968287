"""The files that live beside the library DB, by name: backups, the decisions export,
damaged copies set aside by a repair, and what an interrupted backup leaves behind.

    library.db                               the database (with -wal, -shm while open)
    library.db.backup-auto-20251204-081200Z-3fa9c2d1   rolling (the decisions' digest last)
    library.db.backup-manual-20251204-081200Z  `idfsr library backup`
    library.db.backup-<revision>-<local time>  before a schema upgrade
    library.db.partial-backup-…              a backup being written (never read back)
    library.db.damaged-20251204-081200Z      a damaged database, set aside, never deleted
    library.db.damage-found                  damage met while in use (core.db.health)
    people-decisions.json                    the people decisions (core.people.decisions_file)
    people-decisions.rebuild.json, rebuild-pending.json   while a rebuild is not finished
"""

from __future__ import annotations

from pathlib import Path

EXPORT_NAME = "people-decisions.json"
REBUILD_DECISIONS_NAME = "people-decisions.rebuild.json"  # the export a rebuild re-applies
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")  # SQLite's own files beside a database
MARK_SUFFIX = ".damage-found"  # beside a database damage was met in while in use


def backups_of(db: Path) -> list[Path]:
    """Every backup of the DB (rolling, manual, before upgrades), by name."""
    return sorted(p for p in db.parent.glob(f"{db.name}.backup-*")
                  if p.is_file() and not p.name.endswith(SIDE_SUFFIXES))


def partial_backups_of(db: Path) -> list[Path]:
    """Backups a killed or failed process left half-written."""
    return sorted(db.parent.glob(f"{db.name}.partial-backup-*"))


def damaged_of(db: Path) -> list[Path]:
    """Damaged databases a repair set aside (their -wal and -shm beside them)."""
    return sorted(p for p in db.parent.glob(f"{db.name}.damaged-*")
                  if not p.name.endswith((*SIDE_SUFFIXES, MARK_SUFFIX)))


def damage_mark(db: Path) -> Path:
    """The note left when damage no check at open can see was met while the database was
    in use (a row whose bytes changed); it stands until a repair sets the database aside."""
    return db.with_name(db.name + MARK_SUFFIX)


def export_file(db: Path) -> Path:
    """The automatic export of the user's people decisions, beside the DB."""
    return db.with_name(EXPORT_NAME)


def rebuild_decisions_file(db: Path) -> Path:
    """The copy of the export an unfinished rebuild will re-apply."""
    return db.with_name(REBUILD_DECISIONS_NAME)


def side_files(db: Path) -> list[Path]:
    """SQLite's files that belong with a database (its log, its index), where present."""
    return [p for p in (db.with_name(db.name + s) for s in SIDE_SUFFIXES) if p.exists()]


def has_history(db: Path) -> bool:
    """Whether there was a library here before: a backup, an export, a set-aside copy."""
    return bool(backups_of(db) or export_file(db).exists() or damaged_of(db))


FileStamp = tuple[tuple[int, int], ...]


def files_stamp(db: Path) -> FileStamp:
    """Size and modification time of the database and its log: whether anything wrote."""
    out = []
    for path in (db, db.with_name(db.name + "-wal")):
        try:
            st = path.stat()
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((-1, -1))
    return tuple(out)
