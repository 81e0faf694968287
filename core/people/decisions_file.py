"""The user's people decisions as a file that outlives the database: `idfsr people export`.

Names, hidden people, covers, confirmations and placements, "not this person" answers,
faces taken out of every person, and merges (a person's whole membership is kept, so
clusters the user merged stay merged) are written as JSON, each face keyed by the SHA-256
of its photo's content and its box in the upright photo's pixels, never by a database id.
So the decisions re-apply to a library rebuilt from the same photos, or to the same photos
on another machine (core.people.decisions_import).

Which persons are written: every person the user decided something about (named, hidden,
given a cover, given or refused a face, or the survivor of a merge), with all their faces.
Persons the clustering alone made are left out: a rebuild clusters them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.context import AppContext
from core.db.models import FaceSource
from core.db.types import utcnow
from core.errors import IdfsrError
from core.fsutil import atomic_write_bytes
from core.people.state import CHUNK, raw_rows

FORMAT = "idfsr-people-decisions"
VERSION = 1

Key = tuple[str, tuple[float, float, float, float]]


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _face_keys(s: Session, face_ids: set[int]) -> dict[int, Key]:
    """Each face's (photo content hash, box); faces of photos without a hash are left out."""
    keys: dict[int, Key] = {}
    sql = ("SELECT f.id, p.content_hash, round(f.x0, 1), round(f.y0, 1), round(f.x1, 1), "
           "round(f.y1, 1) FROM faces f JOIN photos p ON p.id = f.photo_id WHERE {where}")
    if len(face_ids) > 20 * CHUNK:  # most of the library: one scan beats thousands of INs
        rows = [r for r in raw_rows(s, sql.format(where="p.content_hash IS NOT NULL"))
                if r[0] in face_ids]
    else:
        rows = []
        for part in _chunks(sorted(face_ids)):
            marks = ",".join("?" * len(part))
            rows += raw_rows(s, sql.format(where=f"f.id IN ({marks})"), part)
    for fid, digest, x0, y0, x1, y1 in rows:
        if digest:
            keys[int(fid)] = (str(digest), (x0, y0, x1, y1))
    return keys


def _key_dict(key: Key) -> dict[str, Any]:
    return {"photo": key[0], "box": list(key[1])}


def _merge_survivors(s: Session, alive: set[int]) -> set[int]:
    """Persons that took in others by a merge still in the log (and not undone)."""
    out: set[int] = set()
    for (before,) in raw_rows(s, "SELECT before FROM people_edits "
                                 "WHERE action = 'merge' AND undone = 0"):
        try:
            out |= {int(p["id"]) for p in json.loads(before).get("persons", [])}
        except (ValueError, TypeError, KeyError):
            continue
    return out & alive


def export_decisions(ctx: AppContext, now: datetime | None = None) -> dict[str, Any]:
    """The user's people decisions as plain data (see the module)."""
    with ctx.db.session() as s:
        persons = {int(r[0]): r for r in raw_rows(
            s, "SELECT id, name, hidden, cover_face_id FROM persons")}
        user_rows = raw_rows(s, "SELECT face_id, person_id, source FROM face_persons "
                                "WHERE source != ?", (FaceSource.AUTO.value,))
        rejections = raw_rows(s, "SELECT face_id, person_id FROM face_rejections")
        decided = {pid for pid, r in persons.items() if r[1] or r[2] or r[3]}
        decided |= {int(r[1]) for r in user_rows if r[1] is not None}
        decided |= {int(r[1]) for r in rejections}
        decided |= _merge_survivors(s, set(persons))
        decided &= set(persons)
        members: list[tuple[int, int, str]] = []
        for part in _chunks(sorted(decided)):
            marks = ",".join("?" * len(part))
            members += [(int(f), int(p), str(src)) for f, p, src in raw_rows(
                s, f"SELECT face_id, person_id, source FROM face_persons "
                   f"WHERE person_id IN ({marks})", part)]
        # Strangers the user ignored are set aside too (a restore shows them as unassigned).
        unassigned = [int(r[0]) for r in user_rows
                      if r[2] in (FaceSource.UNASSIGNED.value, FaceSource.IGNORED.value)]
        covers = {int(r[3]) for pid, r in persons.items() if pid in decided and r[3]}
        keys = _face_keys(s, {f for f, _, _ in members} | {int(r[0]) for r in rejections}
                          | set(unassigned) | covers)
        roots = [os.fsdecode(r[0]) for r in raw_rows(s, "SELECT path FROM library_roots")]
        seq = raw_rows(s, "SELECT seq FROM sqlite_sequence WHERE name = 'persons'")
        max_id = max(int(seq[0][0]) if seq else 0, max(persons, default=0))
    faces_of: dict[int, list[dict[str, Any]]] = {p: [] for p in decided}
    skipped = 0
    for f, p, src in members:
        if f in keys:
            faces_of[p].append({**_key_dict(keys[f]), "source": src})
        else:
            skipped += 1
    people = []
    for pid in sorted(decided):
        _, name, hidden, cover = persons[pid]
        people.append({"id": pid, "name": name, "hidden": bool(hidden),
                       "cover": _key_dict(keys[int(cover)]) if cover and int(cover) in keys
                       else None,
                       "faces": sorted(faces_of[pid], key=lambda d: (d["photo"], d["box"]))})
    return {
        "format": FORMAT, "version": VERSION,
        "exported_at": (now or utcnow()).isoformat(),
        "library": {"roots": sorted(roots), "max_person_id": max_id},
        "people": people,
        "rejections": sorted(({**_key_dict(keys[int(f)]), "person": int(p)}
                              for f, p in rejections if int(f) in keys),
                             key=lambda d: (d["person"], d["photo"], d["box"])),
        "unassigned": sorted((_key_dict(keys[f]) for f in unassigned if f in keys),
                             key=lambda d: (d["photo"], d["box"])),
        "skipped_faces": skipped,
    }


def _decisions_json(data: dict[str, Any]) -> str:
    return json.dumps({k: data.get(k) or [] for k in ("people", "rejections", "unassigned")},
                      ensure_ascii=False, separators=(",", ":"))


def decisions_digest(data: dict[str, Any]) -> str:
    """A short digest of the decisions themselves (not when or from where they were taken)."""
    return hashlib.sha256(_decisions_json(data).encode("utf-8")).hexdigest()[:8]


def summary(data: dict[str, Any]) -> dict[str, int]:
    """How much an export holds, for the user."""
    people = data.get("people", [])
    return {"people": len(people), "named": sum(1 for p in people if p.get("name")),
            "hidden": sum(1 for p in people if p.get("hidden")),
            "faces": sum(len(p.get("faces", [])) for p in people),
            "decided_faces": sum(1 for p in people for f in p.get("faces", [])
                                 if f.get("source") != FaceSource.AUTO.value),
            "rejections": len(data.get("rejections", [])),
            "unassigned": len(data.get("unassigned", []))}


def write_decisions(data: dict[str, Any], path: Path, digest: str | None = None) -> None:
    """Write an export atomically (readers see the old file or the new one), with the
    digest of its decisions (`digest`, when known) near the top, where `stored_digest`
    reads it without parsing the file."""
    head = {"format": FORMAT, "version": VERSION, "digest": digest or decisions_digest(data)}
    body = {**head, **{k: v for k, v in data.items() if k not in head}}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    atomic_write_bytes(path, text.encode("utf-8"))


def stored_digest(path: Path) -> str | None:
    """The digest an export says it has (read from its first bytes), if it is there."""
    try:
        with path.open("rb") as fh:
            head = fh.read(256).decode("utf-8", "replace")
    except OSError:
        return None
    found = re.search(r'"digest":\s*"([0-9a-f]{8})"', head)
    return found[1] if found else None


def read_decisions(path: Path) -> dict[str, Any]:
    """Read an export; IdfsrError when it is not one this version understands."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IdfsrError(f"no such file: {path}") from exc
    except (OSError, ValueError) as exc:
        raise IdfsrError(f"{path} is not a people decisions file ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IdfsrError(f"{path} is not a people decisions file (exported by `idfsr people "
                         "export`)")
    if int(data.get("version", 0)) > VERSION:
        raise IdfsrError(f"{path} was written by a newer version of the app (format "
                         f"{data.get('version')}; this one reads up to {VERSION})")
    for key in ("people", "rejections", "unassigned"):
        if not isinstance(data.get(key, []), list):
            raise IdfsrError(f"{path} is damaged: '{key}' is not a list")
    return data


def exported_at(data: dict[str, Any]) -> datetime | None:
    """When an export was made (None if it does not say)."""
    try:
        return datetime.fromisoformat(str(data["exported_at"]))
    except (KeyError, ValueError):
        return None
