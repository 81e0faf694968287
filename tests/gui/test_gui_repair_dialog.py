"""The app's start on a damaged library: the repair dialog says what is wrong and what each
way out gives and loses, quitting leaves every file as it was, and a repair run from it
brings the user's decisions back. Database errors met later are dialogs, not tracebacks."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from damage_support import build_damage_library, damages
from decisions_support import (
    PaletteBackend,
    decisions_view,
    file_digest,
)
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.db.backup import list_backups
from core.db.files import damaged_of
from core.db.health import check_database
from core.errors import DatabaseDamaged
from core.paths import AppPaths
from core.repair_plan import rebuild_pending
from core.tasks import indexing
from idfsr_desktop.app import _errors_in_dialogs, main, repair_dialog
from idfsr_desktop.database_repair_dialog import DatabaseRepairDialog
from idfsr_desktop.task_runner import TaskRunner

PAGE = 4096


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_damage_library(tmp_path_factory.mktemp("repair-dialog"))


@pytest.fixture(autouse=True)
def palette_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexing, "face_backend", lambda ctx: PaletteBackend())


@pytest.fixture
def home(library: dict, tmp_path: Path) -> Path:
    shutil.copytree(library["root"] / "home", tmp_path / "home")
    return tmp_path / "home"


def _truncate(home: Path, size: int = 60 * 1024) -> Path:
    db = home / "data" / "library.db"
    with db.open("r+b") as fh:
        fh.truncate(size)
    return db


def _dialog(qtbot: QtBot, home: Path) -> DatabaseRepairDialog:
    dialog = repair_dialog(AppPaths.resolve(home))
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _files(db: Path) -> tuple[str | None, str | None]:
    """The database's digest and its log's (None: none, or the empty one a reader makes)."""
    wal = db.with_name(db.name + "-wal")
    return file_digest(db), (file_digest(wal) if wal.exists() and wal.stat().st_size else None)


def _view(home: Path) -> dict:
    with AppContext.open(home) as ctx:
        return decisions_view(ctx)


def test_the_dialog_says_what_is_wrong_and_what_each_way_gives(qtbot: QtBot, home: Path) -> None:
    db = _truncate(home)
    before = file_digest(db)
    dialog = _dialog(qtbot, home)
    assert dialog.title.text() == "Your library database is damaged"
    assert dialog.problem.text().startswith("library.db has been cut short: it holds 60 KB")
    assert dialog.problem.text().endswith("Nothing has been written to it.")
    assert dialog.sqlite.text() == "SQLite says: database disk image is malformed"
    restore = dialog.options["restore"]
    assert restore.text().startswith("Restore the backup of ") and restore.isChecked()
    assert "come back from the export of" in dialog.descriptions["restore"].text()
    assert "row by row" in dialog.descriptions["salvage"].text()
    assert "re-apply your people decisions" in dialog.descriptions["rebuild"].text()
    assert str(db.parent) in dialog.kept.text() and "never deleted" in dialog.kept.text()
    dialog.quit_button.click()
    assert dialog.result() == DatabaseRepairDialog.DialogCode.Rejected
    assert file_digest(db) == before and not damaged_of(db)


def test_restore_from_the_dialog_brings_every_decision_back(qtbot: QtBot, home: Path,
                                                          library: dict) -> None:
    db = _truncate(home)
    damaged = file_digest(db)
    dialog = _dialog(qtbot, home)
    task = dialog.start_repair()
    assert not dialog.repair_button.isEnabled() and dialog.quit_button.text() == "Cancel"
    qtbot.waitUntil(lambda: not task.running, timeout=30_000)
    assert dialog.report is not None and dialog.open_button.isVisible()
    assert dialog.status.text().startswith("Done: restored the backup made")
    dialog.open_button.click()
    assert dialog.result() == DatabaseRepairDialog.DialogCode.Accepted
    assert _view(home) == library["view"]
    assert file_digest(damaged_of(db)[0]) == damaged


def test_without_a_backup_a_rebuild_is_offered_and_works(qtbot: QtBot, home: Path,
                                                        library: dict) -> None:
    db = home / "data" / "library.db"
    for b in list_backups(db):
        b.path.unlink()
    with db.open("r+b") as fh:
        fh.write(bytes(100))  # the header gone: the folders are known from the export
    dialog = _dialog(qtbot, home)
    assert not dialog.options["restore"].isEnabled()
    assert dialog.options["rebuild"].isChecked()
    assert dialog.descriptions["restore"].text() == "There is no good backup to restore."
    task = dialog.start_repair()
    qtbot.waitUntil(lambda: not task.running, timeout=60_000)
    assert dialog.report is not None, dialog.status.text()
    assert "rebuilt the library: 21 photos indexed" in dialog.status.text()
    assert _view(home) == library["view"]


def test_a_repair_that_cannot_work_says_so_and_leaves_the_choice(qtbot: QtBot,
                                                                home: Path) -> None:
    db = home / "data" / "library.db"
    with db.open("r+b") as fh:
        fh.write(bytes(PAGE))
    before = file_digest(db)
    dialog = _dialog(qtbot, home)
    dialog.options["salvage"].setChecked(True)
    task = dialog.start_repair()
    qtbot.waitUntil(lambda: not task.running, timeout=30_000)
    assert dialog.report is None and "nothing could be read" in dialog.failed_message
    assert dialog.status.text().startswith("The repair did not succeed")
    assert dialog.repair_button.isEnabled() and dialog.options["restore"].isEnabled()
    assert file_digest(db) == before and not damaged_of(db)


def test_an_unfinished_repair_is_carried_on(qtbot: QtBot, home: Path, library: dict) -> None:
    from datetime import UTC, datetime

    from core.repair import start_rebuild

    db = _truncate(home)
    start_rebuild(AppPaths.resolve(home), now=datetime.now(UTC))
    assert check_database(db).state == "ok" and rebuild_pending(db) is not None
    dialog = _dialog(qtbot, home)
    assert list(dialog.options) == ["continue"] and dialog.options["continue"].isChecked()
    assert dialog.title.text() == "A repair of your library was not finished"
    task = dialog.start_repair()
    qtbot.waitUntil(lambda: not task.running, timeout=60_000)
    assert dialog.report is not None and rebuild_pending(db) is None
    assert _view(home) == library["view"]


def _answer_dialog(qtbot: QtBot, answer: Callable[[DatabaseRepairDialog], None],
                   seen: list[str]) -> QTimer:
    """Until the app's repair dialog shows, look for it; then note its text and answer."""
    timer = QTimer()

    def look() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, DatabaseRepairDialog) and widget.isVisible():
                timer.stop()
                seen.append(widget.problem.text())
                answer(widget)
                return

    timer.timeout.connect(look)
    timer.start(20)
    return timer


def test_the_app_starts_on_every_damage_with_the_dialog_and_writes_nothing(
        qtbot: QtBot, library: dict, tmp_path: Path) -> None:
    """The damage test's 50+ ways, at the app's start: the dialog, with the damage in words;
    quitting it ends the app (status 1), and the damaged files are as they were."""
    root = library["root"]
    ways = damages(root / "home" / "data" / "library.db",
                   other_library=root / "other-home" / "data" / "library.db",
                   photo=root / "holiday.jpg", work=tmp_path / "work", seed=20)
    assert len(ways) >= 50
    quit_ = lambda d: d.quit_button.click()  # noqa: E731
    for n, damage in enumerate(ways):
        home = tmp_path / f"{n:02d}"
        shutil.copytree(root / "home", home)
        db = home / "data" / "library.db"
        damage.apply(db)
        before = _files(db)
        diagnosis = check_database(db)
        seen: list[str] = []
        timer = _answer_dialog(qtbot, quit_, seen)
        status = main(["--home", str(home), "--startup-check"])
        timer.stop()
        if not diagnosis.damaged:  # nothing wrong to SQLite: the window opened instead
            assert seen == [], damage.name
            continue
        assert status == 1 and seen == [f"{diagnosis.summary} Nothing has been written to it."], \
            damage.name
        assert _files(db) == before, damage.name
        shutil.rmtree(home)


def test_repaired_at_start_then_the_window_opens(qtbot: QtBot, home: Path, library: dict,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _truncate(home)
    seen: list[str] = []

    def repair_then_open(dialog: DatabaseRepairDialog) -> None:
        task = dialog.start_repair()
        task.ended.connect(dialog.open_button.click)

    timer = _answer_dialog(qtbot, repair_then_open, seen)
    assert main(["--home", str(home), "--startup-check"]) == 0
    timer.stop()
    assert seen and capsys.readouterr().out.splitlines()[-1] == "main window shown"
    assert _view(home) == library["view"]


def test_screenshot_of_the_dialog(qtbot: QtBot, home: Path, tmp_path: Path) -> None:
    _truncate(home)
    shot = tmp_path / "repair.png"
    assert main(["--home", str(home), "--screenshot", str(shot)]) == 0
    image = QImage(str(shot))
    assert not image.isNull() and image.width() > 400 and image.height() > 300


def test_database_errors_escaping_a_slot_are_dialogs(qtbot: QtBot,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    others: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, exc, tb: others.append(exc))
    previous = sys.excepthook
    with _errors_in_dialogs(lambda: parent):
        for exc in (DatabaseDamaged("the library database x is damaged"),
                    sqlite3.OperationalError("database is locked"), ValueError("a bug")):
            sys.excepthook(type(exc), exc, None)
    boxes = [w for w in parent.findChildren(QMessageBox)]
    assert [b.text() for b in boxes][0] == "the library database x is damaged"
    assert "is busy: another IDFSR process" in boxes[1].text() and len(boxes) == 2
    assert [str(e) for e in others] == ["a bug"]  # a bug goes on to the usual hook
    assert sys.excepthook is previous


def test_the_task_runner_words_a_database_failure(qtbot: QtBot) -> None:
    runner = TaskRunner()
    failures: list[str] = []

    def job(**_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    handle = runner.submit(job, title="x", on_failed=failures.append)
    qtbot.waitUntil(lambda: not handle.running, timeout=10_000)
    assert failures and failures[0].startswith("the disk holding the library database is full")
    runner.shutdown()
