"""The `idfsr-desktop` entry point, run in-process: --home, --demo and --screenshot together,
--startup-check and --self-test."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot
from squares_backend import SquaresBackend

from core.context import AppContext
from core.db.models import Person
from core.faces.backends import FACE_BACKEND
from core.library.service import list_photos, list_roots
from core.people.service import resolve_person
from core.resources import demo_library_path
from core.restore.options import RestoreOptions
from core.tasks.demo import CANDIDATES, FIT_STEPS, SAMPLE_STEPS
from core.tasks.fitting import DEFAULT_FIT_STEPS
from idfsr_desktop.app import DEMO_OLD_PHOTO, main, parse_args, screenshot_steps
from idfsr_desktop.main_window import MainWindow


def test_parse_args_leaves_qt_options_to_qt() -> None:
    args, rest = parse_args(["--home", "/x", "--demo", "-platform", "offscreen"])
    assert args.home == "/x" and args.demo and args.screenshot is None
    assert args.page is None and args.theme == "system"
    assert rest == ["-platform", "offscreen"]
    args, _ = parse_args(["--page", "person", "--theme", "dark"])
    assert (args.page, args.theme) == ("person", "dark")


def test_screenshot_of_a_page_after_the_window_settles(qtbot: QtBot, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shot = tmp_path / "jobs.png"
    assert main(["--home", str(home), "--page", "jobs", "--screenshot", str(shot)]) == 0
    assert not QImage(str(shot)).isNull()
    # The page shown is remembered like any other choice of the user's.
    assert "page=jobs" in (home / "config" / "desktop.ini").read_text()


def test_demo_run_indexes_the_demo_and_saves_a_screenshot(qtbot: QtBot, tmp_path: Path) -> None:
    home = tmp_path / "portable-home"
    shot = tmp_path / "shots" / "library.png"
    assert main(["--home", str(home), "--demo", "--screenshot", str(shot)]) == 0

    image = QImage(str(shot))
    assert not image.isNull() and image.width() > 300 and image.height() > 200
    with AppContext.open(home) as ctx:
        assert [r.path for r in list_roots(ctx)] == [str(demo_library_path().resolve())]
        demo_files = [p for p in demo_library_path().rglob("*.jpg")]
        assert len(list_photos(ctx, status="ok")) == len(demo_files) > 0
    assert (home / "config" / "desktop.ini").is_file()
    assert (home / "logs" / "desktop.log").is_file()


def test_screenshot_steps_open_the_page_and_restore_a_demo_photo_there(
        qtbot: QtBot, window: MainWindow, app: AppContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert screenshot_steps(window, None) == []
    assert len(screenshot_steps(window, "jobs")) == 1
    # open, queue, say who the known faces are, restore, zoom on a face
    steps = screenshot_steps(window, "restore")
    assert len(steps) == 5
    app.models.put(FACE_BACKEND, SquaresBackend())  # quick: no detector model to load
    with app.db.session() as session:  # a named person, as the demo's naming leaves one
        session.add(Person(name="Barack Obama"))
    obama = resolve_person(app, "Barack Obama")
    steps[0]()
    assert window.current_page() == "restore"
    steps[1]()
    assert [p.path.name for p in window.restorer.photos] == [DEMO_OLD_PHOTO[-1]]
    qtbot.waitUntil(window.restore.is_idle, timeout=20_000)  # its faces found
    steps[2]()  # Biden is not in this library: his face stays on the automatic match
    assert window.restore.current is not None
    assert window.restore.current.choices == {1: obama}
    # The picker of face 1 says so too (the screenshot shows the people the page says).
    assert window.restore.faces.picker(0).currentData() == obama
    assert window.restore.faces.item(0, 2).text() == "Barack Obama (your choice)"
    # Restore with the demo's short fit and sampling (a real restore: `make screenshots`).
    asked: list[RestoreOptions] = []
    monkeypatch.setattr(window.restorer, "run", lambda photos, options: asked.append(options))
    steps[3]()
    assert [(o.fit_steps, o.steps, o.candidates) for o in asked] == [
        (FIT_STEPS, SAMPLE_STEPS, CANDIDATES)] and FIT_STEPS < DEFAULT_FIT_STEPS
    assert asked[0].fidelity == RestoreOptions().fidelity  # the slider's knobs are kept
    assert window.restore.options.knobs.steps.value() == SAMPLE_STEPS  # shown as set
    steps[4]()  # nothing restored yet: no face to zoom on, and no harm done
    assert window.restore.faces.selectedItems() == [] and window.restore.is_idle()


def test_startup_check_reports_the_window_and_quits(
        qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(tmp_path / "home"), "--startup-check"]) == 0
    assert capsys.readouterr().out.splitlines() == ["main window shown"]


def test_self_test_flag_prints_the_report_and_exits_with_its_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from core import selftest

    homes: list[Path | None] = []

    def fake(home: Path | None, **_kw: object) -> selftest.SelfTestReport:
        homes.append(home)
        report = selftest.SelfTestReport(seconds=1.0)
        report.add("index", ok, "17 of 17 demo photos indexed")
        return report

    monkeypatch.setattr(selftest, "run_self_test", fake)
    ok = True
    assert main(["--self-test", "--home", str(tmp_path)]) == 0
    ok = False
    assert main(["--self-test"]) == 1
    assert homes == [tmp_path, None]
    out = capsys.readouterr().out
    assert "self-test passed in 1 s" in out and "self-test FAILED in 1 s" in out


def test_the_window_process_never_imports_torch() -> None:
    """Importing torch holds the GIL for seconds: the window's modules and the jobs it runs
    in its own process (indexing, the demo's naming, finding faces) must not need it; fitting
    and restoring run in the app's child (core.child_process)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import idfsr_desktop.app, idfsr_desktop.main_window, core.tasks.demo, core.tasks.fitting\n"
        "import core.tasks.restore, core.tasks.recompose, core.model_status\n"
        "import core.child_process, core.tasks.indexing, core.people.assign\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'accelerate') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip().splitlines()[-1] == "[]"
