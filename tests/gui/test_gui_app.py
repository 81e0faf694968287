"""The `idfsr-desktop` entry point, run in-process: --home, --demo and --screenshot together."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.library.service import list_photos, list_roots
from core.resources import demo_library_path
from idfsr_desktop.app import main, parse_args


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
