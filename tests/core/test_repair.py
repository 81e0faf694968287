"""Repairing a damaged library: restore the newest good backup (and the newer decisions of
the export on top), salvage what can be read, or rebuild from the photos; the damaged file
is always kept aside, byte for byte."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from decisions_support import PaletteBackend, build_library, decisions_view, file_digest

from core.cli import main
from core.db.backup import list_backups
from core.db.files import damaged_of, export_file
from core.db.health import check_database
from core.errors import IdfsrError, JobCancelled
from core.faces.backends import FACE_BACKEND
from core.jobs import CancelToken
from core.paths import AppPaths
from core.people import edits
from core.people.service import resolve_person
from core.repair import finish_rebuild, restore_backup, salvage_library, start_rebuild
from core.repair_plan import plan_repair, rebuild_pending
from core.safekeeping import open_session

PAGE = 4096
NOW = datetime.now(UTC) + timedelta(days=3)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A library with every kind of decision, its first backup made; then, an hour later
    (no new backup: at most one a day), Carol renamed: only the export has that."""
    root = tmp_path_factory.mktemp("repair")
    ids = build_library(root / "home", root / "photos")
    with open_session(root / "home") as ctx:
        edits.rename(ctx, ids["carol"], "Caroline")
    with open_session(root / "home") as ctx:
        view = decisions_view(ctx)
    return root, {"ids": ids, "view": view}


@pytest.fixture
def home(template: tuple[Path, dict], tmp_path: Path) -> Path:
    root, _ = template
    shutil.copytree(root / "home", tmp_path / "home")
    return tmp_path / "home"


def _damage_page(db: Path, table: str) -> None:
    conn = sqlite3.connect(db)
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    conn.close()
    with db.open("r+b") as fh:
        fh.seek((page[0] - 1) * PAGE)
        fh.write(b"\x5a" * PAGE)


def _files(folder: Path) -> dict[str, str | None]:
    """Every file's digest, but the empty log and the index a read-only check may create."""
    return {p.name: file_digest(p) for p in folder.iterdir() if p.is_file()
            and not (p.name.endswith("-shm") or (p.name.endswith("-wal")
                                                 and p.stat().st_size == 0))}


def _view(home: Path) -> dict:
    with open_session(home) as ctx:
        return decisions_view(ctx)


def test_the_template_has_one_backup_and_a_newer_export(home: Path, template) -> None:
    db = home / "data" / "library.db"
    assert [b.kind for b in list_backups(db)] == ["auto"]
    assert "Caroline" in export_file(db).read_text()
    plan = plan_repair(db, now=NOW)
    assert plan.backup is not None and plan.export_after_backup


def test_restore_brings_back_the_backup_and_the_newer_decisions(home: Path, template) -> None:
    _, expected = template
    db = home / "data" / "library.db"
    with db.open("r+b") as fh:
        fh.truncate(60 * 1024)
    damaged = file_digest(db)
    (home / "cache" / "faces" / "0000").mkdir(parents=True, exist_ok=True)
    (home / "cache" / "faces" / "0000" / "7.jpg").write_bytes(b"a face that may be another")
    plan = plan_repair(db, now=NOW)
    assert "Restore the backup made on" in plan.restore_words()
    assert "come back from the export of" in plan.restore_words()
    report = restore_backup(AppPaths.resolve(home), now=NOW)
    assert report.decisions is not None and report.decisions["people"] == 4
    assert _view(home) == expected["view"]  # Caroline too, though the backup has Carol
    (kept,) = damaged_of(db)
    assert file_digest(kept) == damaged and kept.name.startswith("library.db.damaged-")
    assert check_database(db, full=True).state == "ok"
    assert not (home / "cache" / "faces").exists()  # face ids may now name other faces
    with open_session(home) as ctx:  # ids are kept, and no id is ever given twice
        assert resolve_person(ctx, "Caroline") == expected["ids"]["carol"]
        assert edits.new_person(ctx, [1]) > expected["ids"]["carol"]


def test_restore_skips_a_damaged_backup_for_an_older_sound_one(home: Path, template) -> None:
    _, expected = template
    db = home / "data" / "library.db"
    (older,) = list_backups(db)
    newer = db.with_name("library.db.backup-manual-" + (datetime.now(UTC) + timedelta(
        days=1)).strftime("%Y%m%d-%H%M%SZ"))
    shutil.copyfile(older.path, newer)
    _damage_page(newer, "persons")
    _damage_page(db, "face_persons")
    plan = plan_repair(db, now=NOW)
    assert [b.sound for b in plan.checked] == [False, True]
    assert plan.backup is not None and plan.backup.info.path == older.path
    restore_backup(AppPaths.resolve(home), now=NOW)
    assert _view(home) == expected["view"]


def test_without_a_sound_backup_restore_refuses_and_changes_nothing(home: Path) -> None:
    db = home / "data" / "library.db"
    for b in list_backups(db):
        _damage_page(b.path, "persons")
    _damage_page(db, "persons")
    before = _files(db.parent)
    with pytest.raises(IdfsrError, match="no backup .* passes"):
        restore_backup(AppPaths.resolve(home), now=NOW)
    assert _files(db.parent) == before
    assert plan_repair(
        db, now=NOW).restore_words() == "There is no good backup to restore (1 found, none sound)."


def test_a_sound_database_is_not_repaired(home: Path) -> None:
    with pytest.raises(IdfsrError, match="nothing to repair"):
        restore_backup(AppPaths.resolve(home), now=NOW)
    with pytest.raises(IdfsrError, match="nothing to repair"):
        salvage_library(AppPaths.resolve(home), now=NOW)


def test_salvage_counts_what_it_lost_and_the_export_fills_it(home: Path, template) -> None:
    _, expected = template
    db = home / "data" / "library.db"
    _damage_page(db, "face_persons")
    report = salvage_library(AppPaths.resolve(home), now=NOW)
    tables = {t["table"]: t for t in report.salvage["tables"]}
    assert tables["face_persons"]["copied"] == 0 and tables["face_persons"]["unreadable"] == 22
    assert tables["photos"]["copied"] == 21 and tables["faces"]["copied"] == 22
    assert "22 rows were unreadable" in report.message
    assert _view(home) == expected["view"]
    assert len(damaged_of(db)) == 1 and check_database(db, full=True).state == "ok"


def test_salvage_refuses_when_nothing_can_be_read(home: Path) -> None:
    db = home / "data" / "library.db"
    with db.open("r+b") as fh:
        fh.write(bytes(PAGE))
    before = file_digest(db)
    with pytest.raises(IdfsrError, match="nothing could be read"):
        salvage_library(AppPaths.resolve(home), now=NOW)
    assert file_digest(db) == before and not damaged_of(db)
    assert not list(db.parent.glob("library.db.salvaging*"))


def test_rebuild_indexes_again_and_reapplies_the_export(home: Path, template) -> None:
    _, expected = template
    db = home / "data" / "library.db"
    db.write_bytes(b"")  # emptied: backups exist, so this is damage
    paths = AppPaths.resolve(home)
    started = start_rebuild(paths, now=NOW)
    assert "1 folder(s)" in started.message and rebuild_pending(db) is not None
    with open_session(home) as ctx:
        ctx.models.put(FACE_BACKEND, PaletteBackend())
        token = CancelToken()
        token.cancel()
        with pytest.raises(JobCancelled):  # stopped: the rebuild waits to be carried on
            finish_rebuild(ctx, cancel=token)
        assert rebuild_pending(db) is not None
        report = finish_rebuild(ctx)
        assert report.index is not None and report.index["seen"] == 21
        assert report.decisions is not None and report.decisions["faces_missing"] == 0
        assert decisions_view(ctx) == expected["view"]
        assert resolve_person(ctx, "Alice") == expected["ids"]["alice"]
    assert rebuild_pending(db) is None
    assert not db.with_name("people-decisions.rebuild.json").exists()


def test_a_foreign_log_is_kept_aside_with_its_database(home: Path, template,
                                                      tmp_path: Path) -> None:
    from damage_support import log_of

    _, expected = template
    db = home / "data" / "library.db"
    wal, _ = log_of(db, ["DELETE FROM face_persons", "DELETE FROM persons"], tmp_path / "w")
    db.with_name("library.db-wal").write_bytes(wal)
    assert check_database(db).problem == "foreign_log"
    restore_backup(AppPaths.resolve(home), now=NOW)
    (kept,) = damaged_of(db)
    assert kept.with_name(kept.name + "-wal").read_bytes() == wal
    assert _view(home) == expected["view"]


def _cli(home: Path, *args: str, input: str | None = None):  # noqa: ANN202
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input)


def test_cli_check_repair_and_backup(home: Path, template) -> None:
    _, expected = template
    db = home / "data" / "library.db"
    ok = _cli(home, "library", "check")
    assert ok.exit_code == 0 and "library.db is sound (full integrity check)" in ok.output
    made = _cli(home, "library", "backup")
    assert made.exit_code == 0 and "verified" in made.output
    assert {b.kind for b in list_backups(db)} == {"auto", "manual"}
    nothing = _cli(home, "library", "repair")
    assert nothing.exit_code == 0 and "nothing to repair" in nothing.output
    _damage_page(db, "persons")
    checked = _cli(home, "library", "check")
    assert checked.exit_code == 1 and "library.db is damaged" in checked.output
    assert "people decisions exported" in checked.output
    refused = _cli(home, "library", "backup")
    assert refused.exit_code == 1 and isinstance(refused.exception, IdfsrError)
    told = _cli(home, "library", "repair")
    assert told.exit_code == 1
    for option in ("--restore", "--salvage", "--rebuild"):
        assert option in told.output
    asked = _cli(home, "library", "repair", "--restore", input="n\n")
    assert asked.exit_code != 0 and file_digest(db) is not None and not damaged_of(db)
    done = _cli(home, "library", "repair", "--restore", "--yes")
    assert done.exit_code == 0, done.output
    assert "restored the backup made" in done.output and "kept as library.db.damaged-" in \
        done.output
    assert _view(home) == expected["view"]
