"""What is checked after every kill: the DB is sound, the user's decisions are all there,
no half-written file is visible, and (per phase) the job picks up where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from PIL import Image

TEMP_SUFFIX = ".tmp"  # core.fsutil.atomic_write_bytes' temp files: ".<name>.<random>.tmp"


def db_health(db_file: Path) -> list[str]:
    """Problems of the DB file itself: integrity and foreign keys."""
    with sqlite3.connect(db_file, timeout=30) as conn:
        problems = []
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:3]}")
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            problems.append(f"foreign_key_check: {len(broken)} rows, e.g. {broken[:3]}")
    return problems


def decisions(db_file: Path) -> dict[str, Any]:
    """Every decision of the user's: names, hidden flags, covers, faces the user placed,
    confirmed or set aside, and "not this person"s. No job but an edit may change these."""
    with sqlite3.connect(db_file, timeout=30) as conn:
        persons = conn.execute(
            "SELECT id, name, hidden, cover_face_id FROM persons WHERE name IS NOT NULL "
            "OR hidden OR cover_face_id IS NOT NULL ORDER BY id").fetchall()
        user_rows = conn.execute(
            "SELECT face_id, person_id, source FROM face_persons WHERE source != 'auto' "
            "ORDER BY face_id").fetchall()
        rejections = conn.execute(
            "SELECT face_id, person_id FROM face_rejections ORDER BY 1, 2").fetchall()
    return {"persons": [list(r) for r in persons], "user_rows": [list(r) for r in user_rows],
            "rejections": [list(r) for r in rejections]}


def people_state(db_file: Path) -> str:
    """A digest of all people rows (persons, every face's person and source, rejections):
    what one edit changes and its undo restores exactly."""
    with sqlite3.connect(db_file, timeout=30) as conn:
        rows = [conn.execute(sql).fetchall() for sql in (
            "SELECT id, name, hidden, cover_face_id FROM persons ORDER BY id",
            "SELECT face_id, person_id, source FROM face_persons ORDER BY face_id",
            "SELECT face_id, person_id FROM face_rejections ORDER BY 1, 2")]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def differences(expected: dict[str, Any], actual: dict[str, Any], limit: int = 3) -> list[str]:
    """What the user decided that is no longer so (and what appeared from nowhere)."""
    out = []
    for key in expected:
        want = {json.dumps(r) for r in expected[key]}
        have = {json.dumps(r) for r in actual.get(key, [])}
        lost, new = sorted(want - have), sorted(have - want)
        if lost:
            out.append(f"{key}: lost {len(lost)}, e.g. {lost[:limit]}")
        if new:
            out.append(f"{key}: {len(new)} not decided by the user, e.g. {new[:limit]}")
    return out


def partial_files(cache: Path, since: float) -> tuple[list[str], int]:
    """Cached images written since `since` that do not decode whole (a reader would show
    them), and how many temp files (never shown, swept later) are lying around."""
    bad: list[str] = []
    temps = 0
    for folder, _dirs, files in os.walk(cache):
        for name in files:
            path = os.path.join(folder, name)
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                temps += 1
                continue
            if not name.endswith(".jpg"):
                continue
            try:
                if os.stat(path).st_mtime < since:
                    continue
                with Image.open(path) as img:
                    img.load()
            except (OSError, SyntaxError, ValueError) as exc:
                bad.append(f"{path}: {exc}")
    return bad, temps


def photo_progress(db_file: Path, model_id: str | None) -> dict[str, Any]:
    """What an index run had committed: photo rows by path (with size and mtime), and
    which photos' faces were done."""
    with sqlite3.connect(db_file, timeout=30) as conn:
        rows = conn.execute("SELECT path, size, mtime_ns, status, content_hash, faces_hash, "
                            "faces_model FROM photos").fetchall()
    photos = {os.fsdecode(bytes(p)): (size, mtime) for p, size, mtime, *_ in rows}
    faces_done = {os.fsdecode(bytes(p)) for p, _, _, status, content, faces, model in rows
                  if status == "ok" and faces == content and (model_id is None or
                                                              model == model_id)}
    return {"photos": photos, "faces_done": faces_done}
