"""Ways to damage a library database, as disks, people and other programs do: files cut
short, pages overwritten with garbage, the header zeroed, the file emptied, a photo put in
its place, the log (-wal) of another database laid beside it. Used by the damage tests
(tests/core/test_db_damage.py, tests/gui/test_gui_repair_dialog.py) and by the larger run
in bench/db_damage.py."""

from __future__ import annotations

import io
import random
import shutil
import sqlite3
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

PAGE = 4096


@dataclass(frozen=True)
class Damage:
    """One way of damaging a database file in place."""

    kind: str  # truncate, page, header, schema, empty, photo, foreign_wal, scribble
    name: str
    apply: Callable[[Path], None]


def _truncate(size: int) -> Callable[[Path], None]:
    def go(db: Path) -> None:
        with db.open("r+b") as fh:
            fh.truncate(size)
    return go


def _overwrite(offset: int, data: bytes) -> Callable[[Path], None]:
    def go(db: Path) -> None:
        with db.open("r+b") as fh:
            fh.seek(offset)
            fh.write(data)
    return go


def _replace(source: Path) -> Callable[[Path], None]:
    def go(db: Path) -> None:
        shutil.copyfile(source, db)
    return go


def _garble_schema(db: Path) -> None:
    """An index's entry in the schema garbled, its name no longer text (bit rot in the first
    page): SQLite's message quotes the name, and Python's driver cannot even decode it."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute("UPDATE sqlite_master SET name = CAST(x'a0a6bb8f' AS TEXT), "
                     "sql = 'CREATE INDEX x ON nowhere(y)' WHERE name = (SELECT name FROM "
                     "sqlite_master WHERE type = 'index' AND sql IS NOT NULL LIMIT 1)")
        conn.commit()
    finally:
        conn.close()


def _lay_log(wal: bytes, shm: bytes | None) -> Callable[[Path], None]:
    def go(db: Path) -> None:
        db.with_name(db.name + "-wal").write_bytes(wal)
        shm_path = db.with_name(db.name + "-shm")
        if shm is None:
            shm_path.unlink(missing_ok=True)
        else:
            shm_path.write_bytes(shm)
    return go


def log_of(db: Path, statements: list[str], work: Path) -> tuple[bytes, bytes]:
    """The log (-wal) and its index (-shm) a connection leaves after these statements on a
    copy of `db`, as a crash would leave them."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / f"log-source-{len(list(work.iterdir()))}.db"
    shutil.copyfile(db, copy)
    conn = sqlite3.connect(copy)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    for sql in statements:
        conn.execute(sql)
        conn.commit()
    wal = copy.with_name(copy.name + "-wal").read_bytes()
    shm = copy.with_name(copy.name + "-shm").read_bytes()
    conn.close()
    return wal, shm


def unrelated_db(work: Path) -> Path:
    """Another program's SQLite database, with a few pages of data."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "unrelated.db"
    if not path.exists():
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO notes (body) VALUES (?)",
                         [(f"note {i} " * 40,) for i in range(60)])
        conn.commit()
        conn.close()
    return path


def damages(db: Path, *, other_library: Path, photo: Path, work: Path, seed: int = 0,
            truncations: int = 20, pages: int = 20, scribbles: int = 0) -> list[Damage]:
    """The ways to damage copies of `db` (a library at rest: no log beside it).
    `scribbles`: that many small garbage writes at random places (not whole pages), as
    bit rot does; some land inside a row and change it in a way no check can see."""
    rng = random.Random(seed)
    size = db.stat().st_size
    n_pages = size // PAGE
    out = [Damage("truncate", "truncate-60KB", _truncate(60 * 1024))] if size > 61440 else []
    for _ in range(truncations - len(out)):
        cut = rng.randrange(1, size)
        out.append(Damage("truncate", f"truncate-{cut}", _truncate(cut)))
    out.append(Damage("page", f"page-{n_pages // 2 + 1}-middle",
                      _overwrite(n_pages // 2 * PAGE, rng.randbytes(PAGE))))
    for _ in range(pages - 1):
        page = rng.randrange(n_pages)
        out.append(Damage("page", f"page-{page + 1}", _overwrite(page * PAGE,
                                                                  rng.randbytes(PAGE))))
    for _ in range(scribbles):
        at = rng.randrange(100, size - 64)
        out.append(Damage("scribble", f"scribble-{at}", _overwrite(at, rng.randbytes(64))))
    out.append(Damage("schema", "schema-entry-not-text", _garble_schema))
    out += [Damage("header", "header-zeroed", _overwrite(0, bytes(100))),
            Damage("header", "page-size-garbled", _overwrite(16, b"\x00\x03")),
            Damage("header", "first-page-zeroed", _overwrite(0, bytes(PAGE))),
            Damage("empty", "zero-length", _truncate(0)),
            Damage("photo", "jpeg-renamed", _replace(photo))]
    other = unrelated_db(work)
    logs = {
        "wal-unrelated-db": log_of(other, ["UPDATE notes SET body = 'x' WHERE id < 5"], work),
        "wal-unrelated-db-big": log_of(other, [
            "INSERT INTO notes (body) SELECT body || body FROM notes"], work),
        "wal-other-library-rename": log_of(other_library, ["UPDATE persons SET name = 'Zed'"],
                                           work),
        "wal-other-library-roots": log_of(other_library, [
            "INSERT INTO library_roots (path, added_at) VALUES (x'2f7a7a', '2020-01-01')"],
            work),
        "wal-other-library-forget": log_of(other_library, [
            "DELETE FROM face_persons", "DELETE FROM face_rejections", "DELETE FROM persons"],
            work),
    }
    # The log of a copy of this very library kept elsewhere (another computer): once
    # applied, it gives a file that passes every SQLite check, with other people in it.
    logs["wal-twin-forget-everyone"] = log_of(db, [
        "DELETE FROM face_persons", "DELETE FROM face_rejections", "DELETE FROM persons"], work)
    logs["wal-twin-rename"] = log_of(db, ["UPDATE persons SET name = 'Somebody else'"], work)
    for name, (wal, _shm) in logs.items():
        out.append(Damage("foreign_wal", name, _lay_log(wal, None)))
    # a log from elsewhere beside an index a crash of ours left (for another log)
    _, stale_shm = log_of(db, ["UPDATE persons SET hidden = hidden"], work)
    wal, _ = logs["wal-twin-forget-everyone"]
    out.append(Damage("foreign_wal", "wal-twin-with-a-stale-index", _lay_log(wal, stale_shm)))
    return out


def run_idfsr(home: Path, *args: str) -> tuple[int, str, str]:
    """`idfsr --home HOME ARGS` in this process, as its entry point runs it: (exit code,
    stdout, stderr). An exception that escapes it fails the test with its traceback.
    `{home}` in an argument is the home."""
    from core.cli import entry

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["idfsr", "--home", str(home), *(a.format(home=home) for a in args)]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            entry()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


# ---- one damage, from the commands to the repair: shared by the test and the bench ----------

COMMANDS = (["library", "status"], ["faces", "list"], ["people", "list"], ["index"],
            ["people", "recluster"], ["library", "list"], ["people", "export", "{home}/x.json"])


def build_damage_library(root: Path) -> dict:
    """A library with every kind of decision and its backup, then (an hour later: no new
    backup) one more decision only the export holds; another, different library; a photo.
    Faces come from the palette backend: patch `core.tasks.indexing.face_backend` with it."""
    from decisions_support import (
        build_library,
        decisions_view,
        index_squares,
        make_square_photos,
    )
    from tests_support import make_jpeg

    from core.people import edits
    from core.safekeeping import open_session

    ids = build_library(root / "home", root / "photos")
    with open_session(root / "home") as ctx:
        edits.rename(ctx, ids["carol"], "Caroline")
    with open_session(root / "home") as ctx:
        view = decisions_view(ctx)
    other = root / "other-photos"
    make_square_photos(other)
    for extra in range(6):
        make_jpeg(other / f"extra_{extra}.jpg", seed=100 + extra)
    with open_session(root / "other-home") as ctx:
        index_squares(ctx, other)
        edits.rename(ctx, 1, "Someone else")
    make_jpeg(root / "holiday.jpg", seed=7, size=(640, 480))
    return {"root": root, "view": view, "db": root / "home" / "data" / "library.db",
            "other": root / "other-home" / "data" / "library.db",
            "photo": root / "holiday.jpg"}


def files_of(db: Path) -> tuple[str | None, str | None]:
    """The database's digest and its log's (None: no log, or the empty one readers make)."""
    from decisions_support import file_digest

    wal = db.with_name(db.name + "-wal")
    return file_digest(db), (file_digest(wal) if wal.exists() and wal.stat().st_size else None)


def view_of(home: Path) -> dict:
    from decisions_support import decisions_view

    from core.safekeeping import open_session


    with open_session(home) as ctx:
        return decisions_view(ctx)


def try_damage(damage: Damage, n: int, library: dict, work: Path,
               repair: str | None = None) -> dict:
    """Damage a copy of the library one way; run every command on it, check it, repair it
    (`repair`: restore, salvage or rebuild; by default every 10th rebuilt, every 10th offset 5
    salvaged, the rest restored); AssertionError at the first thing that is not as it must be.
    Returns what happened."""
    from core.db.files import damaged_of
    from core.db.health import check_database

    home = work / f"{n:03d}-{damage.name}"
    shutil.copytree(library["root"] / "home", home)
    db = home / "data" / "library.db"
    damage.apply(db)
    before = files_of(db)
    diagnosis = check_database(db)
    result = {"kind": damage.kind, "name": damage.name, "problem": diagnosis.problem}
    if not diagnosis.damaged:
        # SQLite and our checks find nothing wrong: then nothing may be wrong, or what is
        # wrong (a row's bytes changed) is met in use, said in one line, then repaired.
        assert check_database(db, full=True).state == "ok", damage.name
        if _harmless(damage, home, library):
            result["outcome"] = "harmless"
        else:
            assert check_database(db).problem == "found_in_use", damage.name
            result["repair"] = _restore(home)
            assert view_of(home) == library["view"], f"{damage.name}: decisions not all back"
            result["outcome"] = "found in use"
        shutil.rmtree(home)
        return result
    for args in COMMANDS:
        code, out, err = run_idfsr(home, *args)
        lines = err.strip().splitlines()
        assert code == 1, (damage.name, args, out, err)
        assert len(lines) == 1 and lines[0].startswith("error: the library database"), \
            (damage.name, args, err)
        assert "is damaged" in err and "idfsr library repair" in err, (damage.name, err)
    code, out, err = run_idfsr(home, "library", "check")
    assert code == 1 and diagnosis.summary in out, (damage.name, out, err)
    assert files_of(db) == before, f"{damage.name}: the damaged file was written"
    repair = repair or ("rebuild" if n % 10 == 0 else "salvage" if n % 10 == 5 else "restore")
    result["repair"] = {"rebuild": _rebuild, "salvage": _salvage,
                        "restore": _restore}[repair](home)
    assert view_of(home) == library["view"], f"{damage.name}: decisions not all back"
    kept = damaged_of(db)
    assert len(kept) == 1 and files_of(kept[0]) == before, damage.name
    assert check_database(db, full=True).state == "ok", damage.name
    result["outcome"] = "detected"
    shutil.rmtree(home)
    return result


def _harmless(damage: Damage, home: Path, library: dict) -> bool:
    """Every command works and every decision is as it was (True), or a command met the
    damage and said so in one line (False); AssertionError for anything else."""
    from core.errors import DatabaseDamaged

    try:
        view = view_of(home)
    except DatabaseDamaged:
        return False
    assert view == library["view"], f"{damage.name}: undetected damage"
    for args in COMMANDS:
        code, _, err = run_idfsr(home, *args)
        assert "Traceback" not in err, (damage.name, args, err)
        if code == 1:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "is damaged" in lines[0], (damage.name, args, err)
            return False
        assert code == 0, (damage.name, args, err)
    return True


def _restore(home: Path) -> str:
    code, out, err = run_idfsr(home, "library", "repair", "--restore", "--yes")
    assert code == 0, (out, err)
    return "restore"


def _rebuild(home: Path) -> str:
    from datetime import UTC, datetime

    from core.paths import AppPaths
    from core.repair import finish_rebuild, start_rebuild
    from core.safekeeping import open_session

    start_rebuild(AppPaths.resolve(home), now=datetime.now(UTC))
    with open_session(home) as ctx:
        report = finish_rebuild(ctx)
    assert report.decisions is not None and report.decisions["faces_missing"] == 0
    return "rebuild"


def _salvage(home: Path) -> str:
    from datetime import UTC, datetime

    from core.errors import IdfsrError
    from core.paths import AppPaths
    from core.repair import finish_rebuild, salvage_library
    from core.repair_plan import rebuild_pending
    from core.safekeeping import open_session

    paths = AppPaths.resolve(home)
    try:
        salvage_library(paths, now=datetime.now(UTC))
    except IdfsrError as exc:  # nothing readable: the user is told to restore or rebuild
        assert "nothing could be read" in str(exc)
        _restore(home)
        return "salvage refused, restore"
    if rebuild_pending(paths.db_file) is not None:
        with open_session(home) as ctx:
            finish_rebuild(ctx)
        return "salvage, index"
    return "salvage"
