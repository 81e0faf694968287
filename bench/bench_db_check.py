"""Benchmark: the check at open of the library database on a 100,000-photo library.

The library is synthetic, from the index bench: a sample of the index bench's photos
(bench_index.make_library, 1152x864 JPEGs) is indexed by the real indexer, and its rows
are repeated, with new paths, content hashes and dates, up to `--photos`; each photo gets
0-3 faces (1.5 on average) with 128-d embeddings as the embedded recognizer writes them,
persons for them, and the decisions of a busy user (named persons, confirmed faces,
"not this person" answers, the edit log). Built once, cached under bench/out/.

Prints one JSON object: the check at open (`PRAGMA quick_check`, read-only; warm and with
the file's pages evicted from the page cache), the whole open (check, engine, schema
revision), the full `library check`, the export of the decisions, a verified backup.

    .venv/bin/python bench/bench_db_check.py [--photos 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_index import make_library  # noqa: E402

from core.context import AppContext  # noqa: E402
from core.db.backup import make_backup  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.db.health import check_database  # noqa: E402
from core.library.indexer import index_library  # noqa: E402
from core.library.service import add_root  # noqa: E402
from core.people.decisions_file import export_decisions, summary  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SAMPLE = 200
MODEL = "dlib-resnet-v1"
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _sample_rows() -> list[tuple]:
    """Photo rows of the index bench's photos, as the real indexer writes them."""
    folder = OUT / "db-check-sample"
    make_library(folder, SAMPLE)
    home = Path(tempfile.mkdtemp(prefix="idfsr-dbcheck-"))
    try:
        with AppContext.open(home) as app:
            app.settings.index.thumbnails_on_index = False
            add_root(app, folder)
            index_library(app)
            with app.db.engine.connect() as conn:
                return conn.exec_driver_sql(
                    "SELECT size, mtime_ns, format, width, height, orientation, captured_at, "
                    "status FROM photos ORDER BY id").all()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def build(db: Path, photos: int, seed: int = 3) -> dict[str, int]:
    """The synthetic library (see the module); how many rows of each kind."""
    rng = np.random.default_rng(seed)
    rows = _sample_rows()
    if db.exists():
        db.unlink()
    database = Database.open(db)
    now = datetime.now(UTC).strftime(STAMP)
    counts: dict[str, int] = {}
    with database.session() as s:
        c = s.connection()
        c.exec_driver_sql("INSERT INTO library_roots (id, path, added_at) VALUES (1, ?, ?)",
                          (b"/home/user/Pictures", now))
        batch = []
        for i in range(1, photos + 1):
            size, mtime, fmt, w, h, orient, captured, status = rows[i % len(rows)]
            digest = hashlib.sha256(f"photo {i}".encode()).hexdigest()
            path = f"/home/user/Pictures/{2004 + i % 20}/roll{i % 37:02d}/IMG_{i:06d}.JPG"
            batch.append((i, path.encode(), size + i, mtime + i * 1000, digest, fmt, w, h,
                          orient, captured, status, now, now, digest, MODEL))
        c.exec_driver_sql(
            "INSERT INTO photos (id, root_id, path, size, mtime_ns, content_hash, format, width, "
            "height, orientation, captured_at, status, first_seen_at, indexed_at, faces_hash, "
            "faces_model) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        per_photo = rng.choice([0, 1, 2, 3], size=photos, p=[0.2, 0.3, 0.3, 0.2])
        face_photo = np.repeat(np.arange(1, photos + 1), per_photo)
        n_faces = len(face_photo)
        landmarks = rng.random((n_faces, 10), dtype=np.float32) * 1000
        c.exec_driver_sql(
            "INSERT INTO faces (id, photo_id, x0, y0, x1, y1, landmarks, det_score, quality, "
            "size_px, detector, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "'retinaface', ?)",
            [(f + 1, int(p), 100.0 + f % 50, 80.0, 260.0 + f % 50, 260.0,
              landmarks[f].astype("<f4").tobytes(), 0.9, float(rng.random()), 180.0, now)
             for f, p in enumerate(face_photo)])
        vectors = rng.standard_normal((n_faces, 128)).astype("<f4")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        c.exec_driver_sql("INSERT INTO face_embeddings (face_id, model_id, vector) "
                          "VALUES (?, ?, ?)",
                          [(f + 1, MODEL, vectors[f].tobytes()) for f in range(n_faces)])
        persons = max(1, n_faces // 40)
        c.exec_driver_sql("INSERT INTO persons (id, name, hidden, created_at, updated_at) "
                          "VALUES (?, ?, 0, ?, ?)",
                          [(p, f"Person {p}" if p <= 300 else None, now, now)
                           for p in range(1, persons + 1)])
        person_of = rng.integers(1, persons + 1, n_faces)
        user = rng.random(n_faces) < 0.03
        c.exec_driver_sql(
            "INSERT INTO face_persons (face_id, person_id, source, model_id, score, "
            "assigned_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(f + 1, int(person_of[f]), "confirmed" if user[f] else "auto",
              None if user[f] else MODEL, None if user[f] else 0.95, now)
             for f in range(n_faces) if f % 10])  # a tenth belong to nobody yet
        rejected = rng.choice(n_faces, size=min(1000, n_faces), replace=False)
        c.exec_driver_sql("INSERT OR IGNORE INTO face_rejections (face_id, person_id, "
                          "created_at) VALUES (?, ?, ?)",
                          [(int(f) + 1, int(person_of[(f + 1) % n_faces]), now)
                           for f in rejected])
        c.exec_driver_sql("INSERT INTO people_edits (created_at, action, summary, before, "
                          "undone) VALUES (?, 'rename', ?, ?, 0)",
                          [(now, f"rename #{p} to Person {p}",
                            json.dumps({"persons": [{"id": p}], "assignments": [],
                                        "rejections": []})) for p in range(1, 101)])
        for table in ("photos", "faces", "face_embeddings", "persons", "face_persons",
                      "face_rejections", "people_edits"):
            counts[table] = int(c.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar())
    database.close()
    return counts


def _evict(path: Path) -> None:
    """Drop the file's pages from the page cache (clean pages; no root needed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _timed(fn, runs: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = OUT / f"db-check-{args.photos}"
    db = home / "data" / "library.db"
    marker = home / "counts.json"
    t = time.perf_counter()
    if not marker.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(build(db, args.photos)))
    build_s = time.perf_counter() - t
    counts = json.loads(marker.read_text())

    def quick() -> None:
        assert check_database(db).state == "ok"

    def cold() -> None:
        _evict(db)
        quick()

    def open_close() -> None:
        Database.open(db).close()

    quick()  # warm the page cache once
    warm = _timed(quick, args.runs)
    cold_runs = _timed(cold, max(1, args.runs // 2))
    opens = _timed(open_close, args.runs)
    t = time.perf_counter()
    full = check_database(db, full=True)
    full_s = time.perf_counter() - t
    assert full.state == "ok", full.summary
    ctx = AppContext.open(home)
    try:
        t = time.perf_counter()
        data = export_decisions(ctx)
        export_s = time.perf_counter() - t
    finally:
        ctx.db.close()  # not ctx.close(): no session-end export or backup in the cache
    backups = Path(tempfile.mkdtemp(prefix="idfsr-dbcheck-backup-"))
    try:
        copy = backups / "library.db"
        shutil.copyfile(db, copy)
        t = time.perf_counter()
        info = make_backup(copy, "manual", now=datetime.now(UTC))
        backup_s = time.perf_counter() - t
        backup_mb = info.size / 2**20
    finally:
        shutil.rmtree(backups, ignore_errors=True)
    print(json.dumps({
        "bench": "db_check",
        "photos": args.photos,
        "rows": counts,
        "db_mb": round(db.stat().st_size / 2**20, 1),
        "cpu_cores": os.cpu_count(),
        "machine": platform.machine(),
        "build_s": round(build_s, 1),
        "check_at_open_s": {"median": round(statistics.median(warm), 3),
                            "max": round(max(warm), 3), "runs": len(warm)},
        "check_at_open_cold_s": {"median": round(statistics.median(cold_runs), 3),
                                 "max": round(max(cold_runs), 3), "runs": len(cold_runs)},
        "open_with_check_s": {"median": round(statistics.median(opens), 3),
                              "max": round(max(opens), 3)},
        "full_check_s": round(full_s, 3),
        "export_decisions_s": round(export_s, 3),
        "export": summary(data),
        "backup_verified_s": round(backup_s, 3),
        "backup_mb": round(backup_mb, 1),
        "targets": {"check_at_open_s": 0.5},
    }, indent=2))


if __name__ == "__main__":
    main()
