"""Re-applying exported people decisions (core.people.decisions_file) to a library.

Each exported face is found again by its photo's content hash and the face whose box
overlaps its box most (a re-detection moves boxes a little; duplicates of one photo all
get the decision). Each exported person becomes the person that already holds most of its
faces when that one is free to take it (not named otherwise, not taken by another exported
person), else a new person; with `keep_ids` (a rebuild or a restored backup of the same
library) it keeps its own id where that id is free, so fitted identities, which are kept
per person id, stay with the right person (renamed or not).

What the export says wins over the clustering: names, hidden flags, covers, the user's
placements and "nobody"s, "not this person" answers. A face the export only lists as a
member of a person (the clustering's, e.g. after a merge) goes to that person unless the
user decided otherwise in this library. All in one transaction; an import is not an edit
of the undo log. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.context import AppContext
from core.db.models import FaceSource
from core.db.types import utcnow
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.people.decisions_file import Key
from core.people.state import CHUNK, drop_empty_persons, raw_rows

MATCH_IOU = 0.3  # the same face, found again (by another detector, maybe)
USER_SOURCES = {FaceSource.CONFIRMED.value, FaceSource.MOVED.value}


@dataclass
class ImportReport:
    """What an import did."""

    people: int = 0  # exported persons applied
    people_created: int = 0
    people_matched: int = 0  # applied to a person the library had
    faces: int = 0  # face decisions applied (placements, members)
    faces_missing: int = 0  # exported faces not found in this library
    rejections: int = 0
    unassigned: int = 0
    covers: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


def _key(entry: dict[str, Any]) -> Key:
    x0, y0, x1, y1 = (float(v) for v in entry["box"])
    return str(entry["photo"]), (x0, y0, x1, y1)


def _locate(s: Session, keys: Iterable[Key]) -> dict[Key, list[int]]:
    """Face ids for each key: in every photo with that content, the best-overlapping face."""
    wanted: dict[str, list[tuple[float, float, float, float]]] = {}
    for digest, box in keys:
        wanted.setdefault(digest, [])
        if box not in wanted[digest]:
            wanted[digest].append(box)
    hashes = sorted(wanted)
    photos: dict[str, list[int]] = {}
    for start in range(0, len(hashes), CHUNK):
        part = hashes[start:start + CHUNK]
        marks = ",".join("?" * len(part))
        for pid, digest in raw_rows(s, f"SELECT id, content_hash FROM photos "
                                       f"WHERE content_hash IN ({marks})", part):
            photos.setdefault(str(digest), []).append(int(pid))
    faces: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = {}
    ids = sorted(p for ps in photos.values() for p in ps)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        for fid, pid, x0, y0, x1, y1 in raw_rows(
                s, f"SELECT id, photo_id, x0, y0, x1, y1 FROM faces WHERE photo_id IN ({marks})",
                chunk):
            faces.setdefault(int(pid), []).append((int(fid), (x0, y0, x1, y1)))
    found: dict[Key, list[int]] = {}
    for digest, boxes in wanted.items():
        for photo in photos.get(digest, []):
            pairs = sorted(((_iou(b, fb), i, fid) for i, b in enumerate(boxes)
                            for fid, fb in faces.get(photo, [])), reverse=True)
            used_box: set[int] = set()
            used_face: set[int] = set()
            for iou, i, fid in pairs:  # greedy, best overlaps first
                if iou < MATCH_IOU:
                    break
                if i in used_box or fid in used_face:
                    continue
                used_box.add(i)
                used_face.add(fid)
                found.setdefault((digest, boxes[i]), []).append(fid)
    return found


def _all_keys(data: dict[str, Any]) -> list[Key]:
    keys = [_key(f) for p in data.get("people", []) for f in p.get("faces", [])]
    keys += [_key(p["cover"]) for p in data.get("people", []) if p.get("cover")]
    keys += [_key(r) for r in data.get("rejections", [])]
    keys += [_key(u) for u in data.get("unassigned", [])]
    return keys


class _Apply:
    """The writes of one import, inside its session."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.conn = s.connection()
        self.stamp = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        self.rows: dict[int, tuple[int | None, str]] = {}

    def load_rows(self, face_ids: list[int]) -> None:
        for start in range(0, len(face_ids), CHUNK):
            part = face_ids[start:start + CHUNK]
            marks = ",".join("?" * len(part))
            for fid, pid, src in raw_rows(self.s, f"SELECT face_id, person_id, source FROM "
                                                  f"face_persons WHERE face_id IN ({marks})",
                                          part):
                self.rows[int(fid)] = (None if pid is None else int(pid), str(src))

    def person(self, pid: int | None, name: str | None, hidden: bool) -> int:
        """Update an existing person, or create one (with `pid` as its id, when given)."""
        row = None if pid is None else self.conn.exec_driver_sql(
            "SELECT name, hidden FROM persons WHERE id = ?", (pid,)).first()
        if pid is not None and row is not None:
            want = (name or row[0], int(hidden))
            if (row[0], int(row[1])) != want:
                self.conn.exec_driver_sql("UPDATE persons SET name = ?, hidden = ?, "
                                          "updated_at = ? WHERE id = ?", (*want, self.stamp, pid))
            return pid
        result = self.conn.exec_driver_sql(
            "INSERT INTO persons (id, name, hidden, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)", (pid, name or None, int(hidden), self.stamp, self.stamp))
        return int(pid if pid is not None else result.lastrowid)

    def place(self, face: int, person: int | None, source: str) -> bool:
        """Put a face with a person (None: nobody) as `source` says; False if it was so."""
        if self.rows.get(face) == (person, source):
            return False
        model = self.conn.exec_driver_sql("SELECT model_id FROM face_embeddings "
                                          "WHERE face_id = ? LIMIT 1", (face,)).scalar()
        self.conn.exec_driver_sql(
            "INSERT INTO face_persons (face_id, person_id, source, model_id, score, "
            "assigned_at) VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT(face_id) DO UPDATE SET "
            "person_id = excluded.person_id, source = excluded.source, "
            "model_id = excluded.model_id, score = NULL, assigned_at = excluded.assigned_at",
            (face, person, source, model if source == FaceSource.AUTO.value else None,
             self.stamp))
        self.rows[face] = (person, source)
        return True

    def reject(self, face: int, person: int) -> bool:
        done = self.conn.exec_driver_sql(
            "INSERT OR IGNORE INTO face_rejections (face_id, person_id, created_at) "
            "VALUES (?, ?, ?)", (face, person, self.stamp)).rowcount
        return bool(done)


def _choose(s: Session, apply: _Apply, exported: dict[str, Any], faces: list[int],
            claimed: set[int], keep_ids: bool) -> int | None:
    """The existing person an exported person becomes, or None for a new one."""
    name = (exported.get("name") or "").strip().lower()

    def free(pid: int) -> bool:
        row = raw_rows(s, "SELECT name FROM persons WHERE id = ?", (pid,))
        return bool(row) and pid not in claimed and (
            not name or not row[0][0] or str(row[0][0]).strip().lower() == name)

    own = int(exported["id"]) if exported.get("id") is not None else None
    if keep_ids and own is not None and own not in claimed:
        return own  # the same library: the same id is the same person (made if gone)
    holders = Counter(apply.rows[f][0] for f in faces
                      if f in apply.rows and apply.rows[f][0] is not None)
    for pid, _ in holders.most_common():
        if pid is not None and free(pid):
            return pid
    return None


def import_decisions(
    ctx: AppContext,
    data: dict[str, Any],
    *,
    keep_ids: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Apply an export's decisions to this library (see the module)."""
    cancel = cancel or CancelToken()
    report = ImportReport()
    people = sorted(data.get("people", []), key=lambda p: int(p.get("id") or 0))
    with ctx.db.session() as s:
        progress(Progress("import", 0, len(people) + 2, "finding the exported faces"))
        located = _locate(s, _all_keys(data))
        cancel.raise_if_cancelled()
        apply = _Apply(s)
        apply.load_rows(sorted({f for fs in located.values() for f in fs}))
        mapping: dict[int, int] = {}  # exported person id -> this library's
        for n, exported in enumerate(people, 1):
            faces = [(f, entry["source"]) for entry in exported.get("faces", [])
                     for f in located.get(_key(entry), [])]
            report.faces_missing += sum(1 for e in exported.get("faces", [])
                                        if _key(e) not in located)
            target = _choose(s, apply, exported, [f for f, _ in faces], set(mapping.values()),
                             keep_ids)
            existed = target is not None and bool(raw_rows(
                s, "SELECT 1 FROM persons WHERE id = ?", (target,)))
            pid = apply.person(target, exported.get("name"), bool(exported.get("hidden")))
            report.people += 1
            report.people_matched += int(existed)
            report.people_created += int(not existed)
            if exported.get("id") is not None:
                mapping[int(exported["id"])] = pid
            for face, source in faces:
                held = apply.rows.get(face)
                if source in USER_SOURCES:
                    report.faces += apply.place(face, pid, source)
                    s.connection().exec_driver_sql(
                        "DELETE FROM face_rejections WHERE face_id = ? AND person_id = ?",
                        (face, pid))
                elif held is None or held[1] == FaceSource.AUTO.value:
                    report.faces += apply.place(face, pid, FaceSource.AUTO.value)
                # else: the user of this library decided otherwise, and that stands
            cover = exported.get("cover")
            if cover:
                mine = [f for f in located.get(_key(cover), []) if apply.rows.get(f, (None,))[0]
                        == pid]
                if mine:
                    report.covers += s.connection().exec_driver_sql(
                        "UPDATE persons SET cover_face_id = ? WHERE id = ? AND "
                        "cover_face_id IS NOT ?", (mine[0], pid, mine[0])).rowcount
            progress(Progress("import", n, len(people) + 2, "applying people decisions"))
            cancel.raise_if_cancelled()
        for entry in data.get("rejections", []):
            person = mapping.get(int(entry["person"]))
            for face in located.get(_key(entry), []):
                if person is None:
                    continue
                held = apply.rows.get(face)
                if held is not None and held[0] == person and held[1] != FaceSource.AUTO.value:
                    continue  # this library's user placed it there: their word stands
                if apply.reject(face, person):
                    report.rejections += 1
                if held is not None and held[0] == person:
                    apply.place(face, None, FaceSource.AUTO.value)
                    s.connection().exec_driver_sql(
                        "UPDATE persons SET cover_face_id = NULL WHERE id = ? AND "
                        "cover_face_id = ?", (person, face))
        for entry in data.get("unassigned", []):
            for face in located.get(_key(entry), []):
                report.unassigned += apply.place(face, None, FaceSource.UNASSIGNED.value)
        drop_empty_persons(s)
        reserve_person_ids(s, int((data.get("library") or {}).get("max_person_id") or 0))
        progress(Progress("import", len(people) + 2, len(people) + 2, "people decisions applied"))
    return report


def reserve_person_ids(s: Session, at_least: int) -> None:
    """Make the next new person's id greater than `at_least` (ids are never reused: fitted
    identities and logs name persons by id)."""
    conn = s.connection()
    top = max(at_least, int(conn.exec_driver_sql(
        "SELECT coalesce(max(id), 0) FROM persons").scalar() or 0))
    if top <= 0:
        return
    row = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'persons'").first()
    if row is None:
        conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('persons', ?)",
                             (top,))
    elif int(row[0]) < top:
        conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = 'persons'", (top,))
