"""Reading and writing the people tables in bulk, as arrays aligned to face ids.

The clustering jobs read the state once, think for a while without the DB, then write.
Writes are guarded so that what the user did meanwhile wins: a user's row is never
overwritten (the upsert only touches `auto` rows), a face is never written onto a person
it has been rejected from by then, nor onto a person that no longer exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.db.models import FaceSource, Person
from core.db.types import utcnow
from core.people.reconcile import NEW_BASE, Current

CHUNK = 900  # ids per IN (...) list: under SQLite's oldest variable limit


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def raw_rows(s: Session, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Plain tuples from the DB driver, in the session's transaction: ~10x faster than ORM
    rows when a whole table's worth of ids and numbers go straight into numpy."""
    cursor = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        return cursor.execute(sql, tuple(params)).fetchall()
    finally:
        cursor.close()


def _rows(s: Session, sql: str, ids: NDArray[np.int64] | None, params: tuple[Any, ...] = ()
          ) -> list[tuple[Any, ...]]:
    """Rows of `sql` (whose WHERE ends with `{ids}`) for these face ids, or for all faces."""
    if ids is None:
        return raw_rows(s, sql.format(ids="1=1"), params)
    out: list[tuple[Any, ...]] = []
    for part in _chunks(ids.tolist()):
        marks = ",".join("?" * len(part))
        out.extend(raw_rows(s, sql.format(ids=f"face_id IN ({marks})"), params + tuple(part)))
    return out


def _align(ids: NDArray[np.int64], keys: NDArray[np.int64]) -> tuple[NDArray[np.int64],
                                                                      NDArray[np.bool_]]:
    """Positions of `keys` within sorted `ids`, and which keys are there at all."""
    if not len(ids):
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    pos = np.searchsorted(ids, keys).clip(0, len(ids) - 1)
    return pos, ids[pos] == keys


def _subset(ids: NDArray[np.int64]) -> NDArray[np.int64] | None:
    # Small sets by id; big ones by one scan of the table (faster than thousands of INs).
    return ids if len(ids) <= 20 * CHUNK else None


def face_meta(s: Session, ids: NDArray[np.int64]) -> tuple[NDArray[np.float32],
                                                           NDArray[np.float32]]:
    """Size in pixels and quality of each face (sorted ids)."""
    size = np.zeros(len(ids), np.float32)
    quality = np.zeros(len(ids), np.float32)
    rows = _rows(s, "SELECT id AS face_id, size_px, quality FROM faces WHERE {ids}",
                 _subset(ids))
    if rows:
        arr = np.asarray(rows, dtype=np.float64)
        pos, ok = _align(ids, arr[:, 0].astype(np.int64))
        size[pos[ok]] = arr[ok, 1]
        quality[pos[ok]] = arr[ok, 2]
    return size, quality


def current(s: Session, ids: NDArray[np.int64]) -> tuple[Current, NDArray[np.bool_]]:
    """Person, user flag and rejections of each face (sorted ids), and which have a row."""
    person = np.full(len(ids), -1, np.int64)
    user = np.zeros(len(ids), bool)
    has_row = np.zeros(len(ids), bool)
    sub = _subset(ids)
    rows = _rows(s, "SELECT face_id, person_id, source FROM face_persons WHERE {ids}", sub)
    if rows:
        fid = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        pid = np.fromiter((-1 if r[1] is None else r[1] for r in rows), np.int64, len(rows))
        src = np.fromiter((r[2] != FaceSource.AUTO for r in rows), bool, len(rows))
        pos, ok = _align(ids, fid)
        person[pos[ok]] = pid[ok]
        user[pos[ok]] = src[ok]  # a user's "nobody" (UNASSIGNED) is a decision too
        has_row[pos[ok]] = True
    rejected: dict[int, set[int]] = {}
    for face_id, person_id in _rows(s, "SELECT face_id, person_id FROM face_rejections "
                                       "WHERE {ids}", sub):
        pos, ok = _align(ids, np.array([face_id], np.int64))
        if ok[0]:
            rejected.setdefault(int(pos[0]), set()).add(int(person_id))
    return Current(person, user, rejected), has_row


def new_faces(s: Session, model_id: str) -> NDArray[np.int64]:
    """Ids of this model's faces that have no people row yet: the new faces."""
    rows = raw_rows(
        s,
        "SELECT fe.face_id FROM face_embeddings fe LEFT JOIN face_persons fp "
        "ON fp.face_id = fe.face_id WHERE fe.model_id = ? AND fp.face_id IS NULL "
        "ORDER BY fe.face_id",
        (model_id,),
    )
    return np.array([r[0] for r in rows], np.int64)


def write_auto(
    s: Session,
    ids: NDArray[np.int64],
    target: NDArray[np.int64],
    scores: NDArray[np.float32],
    model_id: str,
    only: NDArray[np.bool_] | None = None,
) -> int:
    """Store the clustering's person for each face (NEW_BASE - g: make the g-th new person);
    user rows are left alone. Returns how many persons were created."""
    rows = np.flatnonzero(only) if only is not None else np.arange(len(ids))
    target = target.copy()
    new_codes = np.unique(target[rows][target[rows] <= NEW_BASE])[::-1]  # biggest first
    now = utcnow()
    created: dict[int, int] = {}
    if len(new_codes):
        result = s.execute(
            insert(Person).returning(Person.id, sort_by_parameter_order=True),
            [{"hidden": False, "created_at": now, "updated_at": now}] * len(new_codes),
        )
        created = dict(zip(new_codes.tolist(), (r[0] for r in result), strict=True))
    conn = s.connection()
    alive = {r[0] for r in conn.exec_driver_sql("SELECT id FROM persons")}
    banned = {(r[0], r[1]) for r in conn.exec_driver_sql(
        "SELECT face_id, person_id FROM face_rejections")}
    batch: list[tuple[Any, ...]] = []
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores a UTC DateTime
    for row in rows.tolist():
        t = int(target[row])
        pid: int | None = created.get(t, t) if t != -1 else None
        face = int(ids[row])
        if pid is not None and (pid not in alive or (face, pid) in banned):
            pid = None
        score = float(scores[row]) if pid is not None else None
        batch.append((face, pid, FaceSource.AUTO.value, model_id, score, stamp))
    if not batch:
        return len(created)
    conn.exec_driver_sql(
        "INSERT INTO face_persons (face_id, person_id, source, model_id, score, assigned_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(face_id) DO UPDATE SET "
        "person_id = excluded.person_id, source = excluded.source, "
        "model_id = excluded.model_id, score = excluded.score, "
        "assigned_at = excluded.assigned_at WHERE face_persons.source = 'auto'",
        batch,
    )
    return len(created)


def drop_empty_persons(s: Session) -> int:
    """Delete persons the clustering made that now hold nothing the user cares about."""
    result = s.connection().exec_driver_sql(
        "DELETE FROM persons WHERE name IS NULL AND hidden = 0 AND cover_face_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM face_persons fp WHERE fp.person_id = persons.id) "
        "AND NOT EXISTS (SELECT 1 FROM face_rejections fr WHERE fr.person_id = persons.id)"
    )
    return int(result.rowcount or 0)
