"""Several processes opening one fresh home at once, and a process killed mid-upgrade.

Before the schema lock, two `idfsr` commands started together on a new home raced in
the Alembic upgrade and one died with `table library_roots already exists`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from alembic import command
from sqlalchemy import text

from core.db.database import Database, alembic_config, head_revision

ROOT = Path(__file__).resolve().parents[2]

# Each process imports everything first, then opens each home at the same agreed instant.
RACER = """
import json, sys, time, traceback
from core.context import AppContext
homes, start, gap = json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
results = []
for i, home in enumerate(homes):
    while time.time() < start + i * gap:
        time.sleep(0.001)
    try:
        ctx = AppContext.open(home)
        with ctx.db.session() as s:
            s.connection().exec_driver_sql("SELECT count(*) FROM library_roots").scalar()
        ctx.close()
        results.append("ok")
    except BaseException:
        results.append(traceback.format_exc())
print(json.dumps(results))
"""


def test_processes_opening_one_fresh_home_at_once(tmp_path: Path) -> None:
    homes = [str(tmp_path / f"home{i}") for i in range(4)]
    start = time.time() + 6.0  # time for every process to import the app
    procs = [
        subprocess.Popen([sys.executable, "-c", RACER, json.dumps(homes), str(start), "1.0"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(5)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        results = json.loads(out)
        assert results == ["ok"] * len(homes), "\n".join(r for r in results if r != "ok")
    for home in homes:
        db_file = Path(home) / "data" / "library.db"
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (head_revision(),)]
        assert not list(db_file.parent.glob("library.db.backup-*"))  # nothing to back up


# Dies by SIGKILL right after the upgrade has run the statement that starts with argv[2].
KILLED_UPGRADE = """
import os, signal, sys
from sqlalchemy import Engine, event
from core.db.database import Database

@event.listens_for(Engine, "after_cursor_execute")
def die(conn, cursor, statement, *args):
    if statement.lstrip().startswith(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)

Database.open(__import__("pathlib").Path(sys.argv[1]))
"""


def _killed_upgrade(db_file: Path, statement: str) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_UPGRADE, str(db_file), statement],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_killed_while_creating_a_fresh_schema(tmp_path: Path) -> None:
    db_file = tmp_path / "library.db"
    _killed_upgrade(db_file, "CREATE TABLE photos")
    with sqlite3.connect(db_file) as conn:  # nothing of the half-done upgrade is visible
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
    db = Database.open(db_file)
    assert db.current_revision() == head_revision()
    db.close()


def test_killed_mid_upgrade_of_a_db_with_rows(tmp_path: Path) -> None:
    db_file = tmp_path / "library.db"
    db = Database.open(db_file)
    command.downgrade(alembic_config(db.engine), "0001_library")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO library_roots (id, path, added_at) "
                          "VALUES (1, x'2f70', '2020-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO photos (root_id, path, size, mtime_ns, orientation, status, "
            "first_seen_at, indexed_at) VALUES (1, x'2f702f612e6a7067', 5, 6, 1, 'ok', "
            "'2020-01-01 00:00:00', '2020-01-01 00:00:00')"))
    db.close()
    # 0002 adds columns to `photos`, then creates the face tables: die in between.
    _killed_upgrade(db_file, "CREATE TABLE faces")
    with sqlite3.connect(db_file) as conn:  # exactly revision 0001, rows and all
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0001_library",)]
        columns = {r[1] for r in conn.execute("PRAGMA table_info(photos)")}
        assert "faces_hash" not in columns
        assert conn.execute("SELECT path, size FROM photos").fetchall() == [(b"/p/a.jpg", 5)]
    db = Database.open(db_file)
    assert db.current_revision() == head_revision()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT size, faces_hash FROM photos")).fetchall() == [(5, None)]
    db.close()
    assert os.path.exists(db_file)
