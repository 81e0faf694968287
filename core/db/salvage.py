"""Salvage: what can still be read of a damaged library database, copied into a new one.

Tables are copied row by row, in the order their rows depend on each other. A table is
read in rowid order; where SQLite stops at a damaged page, the reader seeks past it (a
rowid-only seek, doubling, then halving the step) and carries on, so one bad page costs
the rows on it, not the table. Rows the table's indexes still name but the table cannot
give are counted as unreadable. Once copied, rows whose parent was lost are dropped as
the schema's own foreign keys say (faces of a lost photo go; a cover whose face was lost
is cleared), and counted. The source is opened read-only (a log that does not belong to
it is left out); the new database is checked by SQLite before it is used.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.db.database import Database
from core.db.errors import READ_ERRORS
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

# Parents before children; face_index_state is rebuilt by the new database's triggers.
TABLES = ("library_roots", "photos", "scan_issues", "faces", "face_embeddings", "persons",
          "face_persons", "face_rejections", "people_edits")
MAX_ROWID = 2**63 - 1
MIN_ROWID = -(2**63)


@dataclass
class TableSalvage:
    """What became of one table's rows."""

    table: str
    copied: int = 0
    unreadable: int = 0  # known to exist (an index names them), could not be read
    dropped: int = 0  # read, but their parent row was lost (or they broke a constraint)
    damaged_ranges: int = 0  # stretches of the table skipped over damaged pages


@dataclass
class SalvageReport:
    """What a salvage copied, per table."""

    schema_readable: bool = True
    tables: list[TableSalvage] = field(default_factory=list)
    seconds: float = 0.0
    photos_to_analyse: int = 0  # photos whose faces were lost: found again at the next index

    @property
    def copied(self) -> int:
        """Rows copied in all."""
        return sum(t.copied for t in self.tables)

    @property
    def lost(self) -> int:
        """Rows known lost: unreadable, or dropped with their parent."""
        return sum(t.unreadable + t.dropped for t in self.tables)

    @property
    def damaged_ranges(self) -> int:
        """Stretches of tables skipped over damaged pages (their rows cannot be counted)."""
        return sum(t.damaged_ranges for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {**asdict(self), "copied": self.copied, "lost": self.lost}


def open_damaged(path: Path, *, without_log: bool = False) -> sqlite3.Connection:
    """A read-only connection to a damaged database (`without_log`: its file alone)."""
    mode = "immutable=1" if without_log else "mode=ro"
    return sqlite3.connect(f"{path.absolute().as_uri()}?{mode}", uri=True, timeout=15)


def _readable_from(conn: sqlite3.Connection, table: str, rowid: int) -> int | None | bool:
    """The first rowid at or after `rowid` (None: there is none), or False where the seek
    meets damage."""
    try:
        row = conn.execute(f'SELECT rowid FROM "{table}" WHERE rowid >= ? ORDER BY rowid '
                           "LIMIT 1", (rowid,)).fetchone()
    except READ_ERRORS:
        return False
    return None if row is None else int(row[0])


def _past_damage(conn: sqlite3.Connection, table: str, start: int) -> int | None:
    """The smallest rowid after `start` from which a seek works again (None: none does)."""
    step = 1
    while True:
        probe = start + step
        if probe >= MAX_ROWID:
            return None
        if _readable_from(conn, table, probe) is not False:
            break
        step *= 2
    lo, hi = start + step // 2, probe  # a seek from lo fails (or lo is start), from hi works
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _readable_from(conn, table, mid) is False:
            lo = mid
        else:
            hi = mid
    return hi


def _scan(conn: sqlite3.Connection, table: str, columns: list[str],
          out: TableSalvage) -> tuple[dict[int, tuple[Any, ...]], set[int]]:
    """Every readable row by rowid, and the rowids seen whose content could not be read."""
    cols = ", ".join(f'"{c}"' for c in columns)
    rows: dict[int, tuple[Any, ...]] = {}
    bad: set[int] = set()
    start: int | None = MIN_ROWID
    while start is not None:
        at = start  # where the read stands: past the last row it gave
        try:
            for row in conn.execute(f'SELECT rowid, {cols} FROM "{table}" WHERE rowid >= ? '
                                    "ORDER BY rowid", (at,)):
                rows[int(row[0])] = tuple(row[1:])
                at = int(row[0]) + 1
        except READ_ERRORS:
            found = _readable_from(conn, table, at)
            if found is None:
                break
            if found is not False:  # the leaf is sound, that row's content is not
                bad.add(int(found))
                start = int(found) + 1
                continue
            out.damaged_ranges += 1
            start = _past_damage(conn, table, at)
            continue
        start = None
    return rows, bad


def _known_rowids(conn: sqlite3.Connection, table: str) -> set[int]:
    """Rowids the table's indexes hold (as far as each index can be read)."""
    known: set[int] = set()
    for (index,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                 "tbl_name = ?", (table,)).fetchall():
        try:
            for (rowid,) in conn.execute(f'SELECT rowid FROM "{table}" INDEXED BY "{index}"'):
                known.add(int(rowid))
        except READ_ERRORS:
            continue
    return known


def read_table(conn: sqlite3.Connection, table: str, columns: list[str],
               out: TableSalvage) -> Iterator[tuple[Any, ...]]:
    """The readable rows of a table; `out.unreadable` counts those known but lost."""
    rows, bad = _scan(conn, table, columns, out)
    cols = ", ".join(f'"{c}"' for c in columns)
    for rowid in sorted((_known_rowids(conn, table) | bad) - set(rows)):
        try:
            row = conn.execute(f'SELECT {cols} FROM "{table}" WHERE rowid = ?',
                               (rowid,)).fetchone()
        except READ_ERRORS:
            out.unreadable += 1
            continue
        if row is not None:
            rows[rowid] = tuple(row)
        elif rowid in bad:
            out.unreadable += 1
    for rowid in sorted(rows):
        yield rows[rowid]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')]


def _drop_orphans(dst: sqlite3.Connection, by_table: dict[str, TableSalvage]) -> None:
    """Apply the foreign keys' own ON DELETE rules to rows whose parent was lost."""
    actions = {}
    for table in TABLES:
        for fk in dst.execute(f'PRAGMA foreign_key_list("{table}")'):
            actions[(table, int(fk[0]))] = (str(fk[3]), str(fk[6]).upper())  # column, rule
    for _ in range(len(TABLES)):  # each round may orphan the next generation
        broken = dst.execute("PRAGMA foreign_key_check").fetchall()
        if not broken:
            return
        for table, rowid, _parent, fkid in broken:
            column, rule = actions.get((table, int(fkid)), ("", "CASCADE"))
            if rule == "SET NULL" and column:
                dst.execute(f'UPDATE "{table}" SET "{column}" = NULL WHERE rowid = ?', (rowid,))
            else:
                dst.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
                if table in by_table:
                    by_table[table].dropped += 1
                    by_table[table].copied -= 1


def _sequence(src: sqlite3.Connection) -> dict[str, int]:
    try:
        return {str(n): int(s) for n, s in src.execute("SELECT name, seq FROM sqlite_sequence")}
    except READ_ERRORS:
        return {}


def salvage_database(
    source: Path,
    target: Path,
    *,
    without_log: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SalvageReport:
    """Copy what can be read of `source` into a new library database at `target`."""
    started = time.perf_counter()
    cancel = cancel or CancelToken()
    report = SalvageReport()
    Database.open(target, check=False).close()  # the newest schema, empty
    src = open_damaged(source, without_log=without_log)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        try:
            src_tables = {r[0] for r in src.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except READ_ERRORS:
            report.schema_readable = False
            src_tables = set()
        dst.execute("PRAGMA foreign_keys=OFF")
        dst.execute("BEGIN")
        by_table = {}
        for n, table in enumerate(TABLES):
            progress(Progress("salvage", n, len(TABLES), f"reading {table}"))
            cancel.raise_if_cancelled()
            out = by_table[table] = TableSalvage(table)
            report.tables.append(out)
            if table not in src_tables:
                continue
            try:
                columns = [c for c in _columns(src, table) if c in set(_columns(dst, table))]
            except READ_ERRORS:
                continue
            names = ", ".join(f'"{c}"' for c in columns)
            insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
            for row in read_table(src, table, columns, out):
                try:
                    dst.execute(insert, row)
                    out.copied += 1
                except sqlite3.DatabaseError:  # a constraint broken by damaged contents
                    out.dropped += 1
        _drop_orphans(dst, by_table)
        # A photo whose faces (or their embeddings) were lost is analysed again.
        report.photos_to_analyse = dst.execute(
            "UPDATE photos SET faces_hash = NULL, faces_model = NULL WHERE faces_hash IS NOT "
            "NULL AND (id NOT IN (SELECT photo_id FROM faces) OR id IN (SELECT f.photo_id FROM "
            "faces f LEFT JOIN face_embeddings e ON e.face_id = f.id WHERE e.face_id IS NULL))"
        ).rowcount if (by_table["faces"].unreadable + by_table["faces"].dropped
                       + by_table["faces"].damaged_ranges + by_table["face_embeddings"].unreadable
                       + by_table["face_embeddings"].dropped
                       + by_table["face_embeddings"].damaged_ranges) else 0
        for name, seq in _sequence(src).items():
            dst.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, name))
            dst.execute("INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS "
                        "(SELECT 1 FROM sqlite_sequence WHERE name = ?)", (name, seq, name))
        dst.execute("COMMIT")
        problems = [r[0] for r in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"the salvaged database failed its check: {problems[0]}")
    except BaseException:
        if dst.in_transaction:
            dst.execute("ROLLBACK")
        raise
    finally:
        dst.close()
        src.close()
    progress(Progress("salvage", len(TABLES), len(TABLES), "salvaged"))
    report.seconds = time.perf_counter() - started
    return report
