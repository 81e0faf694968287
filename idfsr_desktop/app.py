"""Start the desktop app: parse the command line, check the library database (a damaged one
gets the repair dialog), open the one AppContext, show the window."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from core import selftest
from core.db.errors import explain
from core.db.health import check_database
from core.db.types import utcnow
from core.errors import IdfsrError
from core.paths import AppPaths
from core.people.service import resolve_person
from core.repair_plan import plan_repair, rebuild_pending
from core.resources import demo_library_path
from core.restore.options import RestoreOptions
from core.safekeeping import open_session
from core.tasks.demo import CANDIDATES, FIT_STEPS, KNOWN_FACES, SAMPLE_STEPS
from idfsr_desktop.database_repair_dialog import DatabaseRepairDialog
from idfsr_desktop.icons import app_icon
from idfsr_desktop.main_window import PAGES, MainWindow
from idfsr_desktop.theme import THEMES, apply_theme

log = logging.getLogger(__name__)

ORGANISATION = "IDFSR"
APPLICATION = "IDFSR Desktop"
SCREENSHOT_IDLE_S = 1.5
SCREENSHOT_TIMEOUT_S = 180.0  # for each wait: past it, the next step is taken regardless
SCREENSHOT_RESTORE_TIMEOUT_S = 1800.0  # the wait while a restore runs (fits on a CPU: minutes)
DEMO_OLD_PHOTO = ("old", "album_page_1960s.jpg")  # restored for the Restore page's screenshot


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and whatever is left for Qt (e.g. `-platform offscreen`)."""
    parser = argparse.ArgumentParser(prog="idfsr-desktop", description=APPLICATION)
    parser.add_argument("--home", metavar="DIR",
                        help="keep every file of the app in DIR (portable installs, tests)")
    parser.add_argument("--demo", action="store_true",
                        help="add the bundled demo library if needed and index it")
    parser.add_argument("--screenshot", metavar="PATH", type=Path,
                        help="once the window is idle, save a PNG of it to PATH and quit")
    parser.add_argument("--page", choices=(*PAGES, "person", "unassigned"),
                        help="open this page (with --screenshot: once indexing is done; the "
                             "Restore page with an old demo photo restored)")
    parser.add_argument("--restore", nargs="+", metavar="PHOTO", type=Path,
                        help="queue these photos (or folders) on the Restore page")
    parser.add_argument("--theme", choices=THEMES, default="system",
                        help="light or dark palette (default: the platform's)")
    parser.add_argument("--self-test", action="store_true",
                        help="run the demo job briefly without a window (in a temporary home "
                             "unless --home is given), check its results, exit 0 or 1")
    parser.add_argument("--startup-check", action="store_true",
                        help="print 'main window shown' once the window is on screen, then "
                             "quit when its start-up work is done (start-up timing)")
    return parser.parse_known_args(list(argv))


@contextmanager
def _logging_into(folder: Path) -> Iterator[None]:
    """Log INFO and up to `folder`/desktop.log (tracebacks of bugs land there), warnings to
    stderr; undone on exit so an in-process run (a test) leaves logging as it found it."""
    root = logging.getLogger()
    level = root.level
    file_handler = logging.FileHandler(folder / "desktop.log", encoding="utf-8")
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    file_handler.setLevel(logging.INFO)
    added: list[logging.Handler] = [file_handler]
    if not root.handlers:
        stderr_handler = logging.StreamHandler()
        stderr_handler.setLevel(logging.WARNING)
        added.append(stderr_handler)
    for handler in added:
        root.addHandler(handler)
    if level == logging.NOTSET or level > logging.INFO:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        for handler in added:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def screenshot_steps(window: MainWindow, page: str | None) -> list[Callable[[], None]]:
    """What to do before a screenshot, one step each time the window is idle: open `page`;
    for the Restore page, queue an old photo of the demo library (its faces are found),
    restore it, then zoom on its largest restored face."""
    if page is None:
        return []
    steps: list[Callable[[], None]] = [functools.partial(window.show_page, page)]
    if page == "restore":
        photo = demo_library_path().joinpath(*DEMO_OLD_PHOTO)
        steps += [functools.partial(window.restore_photos, [photo]),
                  functools.partial(_choose_demo_people, window),
                  functools.partial(_restore_briefly, window),
                  functools.partial(_select_largest_restored_face, window)]
    return steps


def _choose_demo_people(window: MainWindow) -> None:
    """Say who the demo photo's known faces are, as `idfsr demo` does (too small to be sure
    of automatically), so the screenshot shows faces restored as their person."""
    queued = window.restore.current
    if queued is None:
        return
    for photo, face, name in KNOWN_FACES:
        if photo == queued.path.name:
            try:
                window.restorer.set_choice(queued, face, resolve_person(window.ctx, name))
            except IdfsrError:  # not named (yet): that face stays on the automatic match
                log.info("no person %r for the screenshot", name)


def demo_restore_options(options: RestoreOptions) -> RestoreOptions:
    """The page's options with `idfsr demo`'s short fit and sampling: a screenshot shows the
    finished restore after minutes, not the first of a full fit's 300 steps."""
    return replace(options, fit_steps=FIT_STEPS, steps=SAMPLE_STEPS, candidates=CANDIDATES)


def _restore_briefly(window: MainWindow) -> None:
    """Restore the current photo with the demo's short knobs (shown in Advanced, as set)."""
    page = window.restore
    page.options.set_options(demo_restore_options(page.options.options()))
    page.run_current()


def _select_largest_restored_face(window: MainWindow) -> None:
    """Zoom on the largest face restored as a person (else the largest restored one)."""
    page = window.restore
    result = page.current.result if page.current is not None else None
    restored = [f for f in result.faces if f.status == "restored"] if result else []
    personal = [f for f in restored if f.path == "personal"]
    if restored:
        page.faces.select_face(max(personal or restored, key=lambda f: f.box[2] - f.box[0])
                               .number)


class ScreenshotTimer(QObject):
    """Once the window has been idle for a while (or too long has passed), takes the next of
    `screenshot_steps` (opening `page`, if given) and waits until idle again; after the last,
    saves a PNG of the window and closes it, which ends the event loop."""

    def __init__(self, window: MainWindow, path: Path, page: str | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.path = path
        self.failed = False
        self._steps = screenshot_steps(window, page)
        self._started = time.monotonic()
        self._idle_since: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._check)
        self._timer.start()

    def _check(self) -> None:
        now = time.monotonic()
        if self.window.isVisible() and self.window.is_idle():
            self._idle_since = self._idle_since or now
        else:
            self._idle_since = None
        idle_long_enough = (self._idle_since is not None
                            and now - self._idle_since >= SCREENSHOT_IDLE_S)
        limit = (SCREENSHOT_RESTORE_TIMEOUT_S if self.window.restorer.is_running()
                 else SCREENSHOT_TIMEOUT_S)
        if not idle_long_enough and now - self._started < limit:
            return
        if self._steps:  # the data is in: take the step, then wait for the window to settle
            self._steps.pop(0)()
            self._started = now
            self._idle_since = None
            return
        self._timer.stop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(self.path)):
            log.error("could not save the screenshot to %s", self.path)
            self.failed = True
        # Closing the last window ends the loop; quitting as well would leave a second quit
        # request queued for whoever runs an event loop next (e.g. the next test).
        self.window.close()


def _echo(text: str) -> None:
    # A windowed build on Windows has no console: sys.stdout is None there.
    stream = sys.stdout or sys.stderr
    if stream is not None:
        print(text, file=stream, flush=True)


def self_test(home: str | None) -> int:
    """The headless self-test of an installation (see core.selftest); the exit status."""
    report = selftest.run_self_test(Path(home) if home else None,
                                    progress=selftest.stage_printer(_echo))
    for line in report.lines():
        _echo(line)
    return 0 if report.ok else 1


class StartupCheck(QObject):
    """Says when the main window is on screen, then closes it once its start-up work (the
    model status, ...) is done: quitting in the middle of that would be a test of quitting."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        super().__init__(window)
        self.app, self.window = app, window
        self._started = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._close_when_idle)
        QTimer.singleShot(0, self._report)

    def _report(self) -> None:
        self.app.processEvents()  # the first paint
        _echo("main window shown" if self.window.isVisible() else "main window NOT shown")
        self._timer.start()

    def _close_when_idle(self) -> None:
        if self.window.is_idle() or time.monotonic() - self._started > SCREENSHOT_TIMEOUT_S:
            self._timer.stop()
            self.window.close()


def repair_dialog(paths: AppPaths) -> DatabaseRepairDialog | None:
    """The repair dialog when the library database is damaged (or its repair unfinished);
    None when it is sound. Raises IdfsrError when it cannot even be checked."""
    diagnosis = check_database(paths.db_file)
    pending = rebuild_pending(paths.db_file) is not None
    if diagnosis.damaged:
        return DatabaseRepairDialog(paths, plan_repair(paths.db_file, now=utcnow(),
                                                       diagnosis=diagnosis))
    if pending:
        return DatabaseRepairDialog(paths, None, pending=True)
    return None


def _shoot(dialog: QDialog, path: Path) -> bool:
    """Show the dialog, save a PNG of it once it has settled, close it; whether it saved."""
    saved: list[bool] = []

    def grab() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        saved.append(dialog.grab().save(str(path)))
        dialog.reject()

    QTimer.singleShot(int(SCREENSHOT_IDLE_S * 1000), grab)
    dialog.exec()
    return bool(saved and saved[0])


@contextmanager
def _errors_in_dialogs(parent: Callable[[], QWidget | None]) -> Iterator[None]:
    """An error the app expects (the database busy, full, damaged) that escapes a slot is
    shown in a dialog, in plain words, not as a traceback; anything else goes on to the
    previous hook (and the log)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        typed = exc if isinstance(exc, IdfsrError) else explain(exc)
        if typed is None:
            previous(kind, exc, tb)
            return
        log.warning("shown to the user: %s", typed, exc_info=(kind, exc, tb))
        box = QMessageBox(QMessageBox.Icon.Warning, APPLICATION, str(typed),
                          QMessageBox.StandardButton.Ok, parent())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    sys.excepthook = hook
    try:
        yield
    finally:
        sys.excepthook = previous


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the process exit status."""
    args, qt_args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        return self_test(args.home)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        [sys.argv[0] if sys.argv else "idfsr-desktop", *qt_args])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(app_icon())
    apply_theme(app, args.theme)
    try:
        dialog = repair_dialog(AppPaths.resolve(args.home))
        if dialog is not None:
            dialog.setWindowIcon(app_icon())
            if args.screenshot is not None:  # the dialog is what this start shows
                return 0 if _shoot(dialog, args.screenshot.expanduser().absolute()) else 1
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return 1  # the user quit: every file is as it was
        # Sound a moment ago: the check at open (a read of the whole file) is not run twice.
        ctx = open_session(args.home, checked=dialog is None)
    except IdfsrError as exc:
        QMessageBox.critical(None, APPLICATION, f"The app cannot start:\n\n{exc}")
        return 1
    window: MainWindow | None = None
    try:
        with _logging_into(ctx.paths.logs), _errors_in_dialogs(lambda: window):
            window = MainWindow(ctx)
            window.show()
            if args.demo:
                QTimer.singleShot(0, window.open_demo_library)
            if args.restore:
                QTimer.singleShot(0, lambda: window.restore_photos(
                    [p.expanduser().absolute() for p in args.restore]))
            screenshot = None
            if args.startup_check:
                StartupCheck(app, window)
            elif args.screenshot is not None:
                screenshot = ScreenshotTimer(window, args.screenshot.expanduser().absolute(),
                                             args.page)
            elif args.page is not None:
                window.show_page(args.page)
            status = app.exec()
            window.shutdown()  # also when the loop ended without the window being closed
            window.deleteLater()
            return 1 if screenshot is not None and screenshot.failed else int(status)
    finally:
        ctx.close()
