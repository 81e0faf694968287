"""The main window: a sidebar of pages, the pages, menus, and background work in the status bar.

The window builds the pages and the menus and wires them to what does the work: the
library's folders and indexing (library_jobs), the people menus (people_actions), model
packs (model_downloads), identity fitting (fit_controller) and restoring
(restore_controller). Their messages go to the status bar, their failures to a warning.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QPalette,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from core.context import AppContext
from core.library.service import list_roots
from idfsr_desktop.first_run_widget import FirstRunWidget
from idfsr_desktop.fit_controller import FitController
from idfsr_desktop.fit_panel_widget import LEARN_TIP
from idfsr_desktop.icons import app_icon, tinted_icon
from idfsr_desktop.job_placement import JobPlacement
from idfsr_desktop.jobs_widget import JobsWidget
from idfsr_desktop.library_jobs import LibraryJobs
from idfsr_desktop.library_widget import LibraryWidget
from idfsr_desktop.model_downloads import ModelDownloads
from idfsr_desktop.people_actions import PeopleActions
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.people_widget import PeopleWidget
from idfsr_desktop.restore_controller import RestoreController
from idfsr_desktop.restore_widget import RestoreWidget, dropped_paths
from idfsr_desktop.settings_dialog import SettingsChange, SettingsDialog
from idfsr_desktop.task_runner import TaskExecutor, TaskHandle, TaskRunner
from idfsr_desktop.task_status_widget import TaskStatusWidget
from idfsr_desktop.window_settings import window_settings

log = logging.getLogger(__name__)

GEOMETRY_KEY = "main_window/geometry"
STATE_KEY = "main_window/state"
PAGE_KEY = "main_window/page"
PAGES = ("library", "people", "restore", "jobs")  # sidebar order
ABOUT_TEXT = (
    "<h3>IDFSR Desktop</h3>"
    "<p>Knows the people in your photo library and restores their tiny, degraded faces "
    "in old photos, faithfully to who they are.</p>"
    "<p>Implements <i>Personalized Face Super-Resolution with Identity Decoupling and "
    "Fitting</i> (arXiv 2508.10937). Your originals are never changed.</p>"
)


def settle_garbage_collector() -> None:
    """Collect once, then keep what exists now (modules, Qt wrappers, the window: it lives as
    long as the app) out of later full collections. A full collection runs in whichever
    thread allocates and walks every object while holding the GIL: over the app's ~10^6
    start-up objects it froze the window for ~100 ms early in an indexing run. Undone by
    MainWindow.shutdown."""
    gc.collect()
    gc.freeze()


class MainWindow(QMainWindow):
    """One window over one AppContext: pages and menus wired to the controllers that do the work."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *,
                 tasks: TaskExecutor | None = None) -> None:
        """`tasks`: where background tasks run (default: the runner's thread pool)."""
        super().__init__(parent)
        self.ctx = ctx
        # The event loop must not wait on code holding the GIL: face extensions and torch
        # jobs run in child processes (see job_placement).
        self.placement = JobPlacement.for_window(ctx)
        self.runner = TaskRunner(self, executor=tasks)
        self.editor = PeopleEditor(ctx, self)
        self.fits = FitController(ctx, self.runner, self, placement=self.placement)
        self.library_jobs = LibraryJobs(ctx, self.runner, self)
        self.model_downloads = ModelDownloads(ctx, self.runner, self)
        self._shut_down = False
        self.setWindowTitle("IDFSR Desktop")
        self.setAcceptDrops(True)  # photos dropped anywhere go to the Restore page
        self.setWindowIcon(app_icon())

        self.library = LibraryWidget(ctx, self.runner)
        self.library.editor = self.editor
        self.library.add_folder_requested.connect(self.choose_folder)
        self.library.open_demo_requested.connect(self.open_demo_library)
        self.library.person_requested.connect(self.open_person)
        self.people = PeopleWidget(ctx, self.runner, self.editor, self.fits)
        self.people_actions = PeopleActions(ctx, self.runner, self.people, self.editor,
                                            self.fits, self)
        self.restorer = RestoreController(ctx, self.runner, self, placement=self.placement)
        self.restorer.failed.connect(self.show_error)
        self.restore = RestoreWidget(ctx, self.restorer)
        self.restorer.prune_old_work()
        self.library.restore_requested.connect(self.restore_photos)
        self.jobs = JobsWidget(self.runner)
        self.first_run = FirstRunWidget(ctx, self.runner)
        self.first_run.folders_chosen.connect(self.add_folders)
        self.first_run.open_demo_requested.connect(self.open_demo_library)
        self.first_run.models.download_requested.connect(self.model_downloads.offer_pack)

        self.pages = QStackedWidget()
        self.sidebar = self._make_sidebar()
        self._add_page("Library", "library", self.library)
        self._add_page("People", "people", self.people)
        self._add_page("Restore", "restore", self.restore)
        self._add_page("Jobs", "jobs", self.jobs)
        self.sidebar.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.sidebar.setCurrentRow(0)

        divider = QFrame()
        divider.setFrameShape(QFrame.Shape.VLine)
        divider.setFrameShadow(QFrame.Shadow.Sunken)
        self.main_area = QWidget()
        row = QHBoxLayout(self.main_area)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(divider)
        row.addWidget(self.pages, 1)
        self.root = QStackedWidget()
        self.root.addWidget(self.main_area)
        self.root.addWidget(self.first_run)
        self.setCentralWidget(self.root)

        self.task_status = TaskStatusWidget()
        self.statusBar().addWidget(self.task_status, 1)
        self.jobs_button = QPushButton()
        self.jobs_button.setFlat(True)
        self.jobs_button.setToolTip("Show every background job")
        self.jobs_button.clicked.connect(lambda: self.show_page("jobs"))
        self.statusBar().addPermanentWidget(self.jobs_button)
        self._connect_work()
        self._make_actions()
        self._make_menus()
        self._restore_geometry()
        self.library.refresh()
        self.people.refresh()
        self._update_first_run()
        self._update_jobs_button()
        self._update_undo()
        self.fits.refresh_fitted()
        settle_garbage_collector()

    # ---- building ---------------------------------------------------------------------

    def _connect_work(self) -> None:
        """What the controllers say goes to the status bar, a warning or the pages."""
        self.runner.task_started.connect(self.task_status.track)
        self.runner.task_started.connect(self._on_task_started)
        self.editor.done.connect(self.task_status.show_message)
        # How a restore ended, in words: never a bare "done" when nothing was restored.
        self.restorer.summary.connect(self.task_status.show_message)
        self.restorer.saved.connect(lambda _, saved: self.task_status.show_message(
            f"Saved {saved.image.name} in {saved.image.parent}"))
        self.editor.failed.connect(self.show_error)
        self.editor.changed.connect(self._update_undo)
        for controller in (self.library_jobs, self.people_actions, self.model_downloads):
            controller.failed.connect(self.show_error)
            controller.message.connect(self.task_status.show_message)
        self.library_jobs.indexing_changed.connect(self._on_indexing_changed)
        self.library_jobs.index_progress.connect(self.library.on_index_progress)
        self.library_jobs.people_named.connect(self.people.refresh)
        self.people_actions.regrouping_changed.connect(
            lambda running: self.recluster_action.setEnabled(not running))
        self.model_downloads.installed.connect(self.first_run.models.refresh)

    def _make_sidebar(self) -> QListWidget:
        em = self.fontMetrics().height()
        sidebar = QListWidget()
        sidebar.setFrameShape(QFrame.Shape.NoFrame)
        sidebar.viewport().setBackgroundRole(QPalette.ColorRole.Window)
        sidebar.setIconSize(QSize(round(em * 1.2), round(em * 1.2)))
        sidebar.setSpacing(max(2, em // 6))
        sidebar.setFixedWidth(em * 10)
        sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        sidebar.setAccessibleName("Pages")
        return sidebar

    def _add_page(self, title: str, icon: str, page: QWidget) -> None:
        palette = self.palette()
        item = QListWidgetItem(
            tinted_icon(icon, palette.color(QPalette.ColorRole.Text),
                        palette.color(QPalette.ColorRole.HighlightedText)), title)
        em = self.fontMetrics().height()
        item.setSizeHint(QSize(em * 9, round(em * 2.2)))
        self.sidebar.addItem(item)
        self.pages.addWidget(page)

    def _action(self, text: str, slot: object, shortcut: QKeySequence | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _make_actions(self) -> None:
        std = QKeySequence.StandardKey
        self.add_folder_action = self._action("&Add Folder…", self.choose_folder,
                                              QKeySequence(std.Open),
                                              "Add a folder of photos to the library")
        self.demo_action = self._action("Open &Demo Library", self.open_demo_library,
                                        tip="Add the bundled demo photos and index them")
        self.index_action = self._action("&Index Now", lambda: self.start_indexing(rescan=False),
                                         QKeySequence(std.Refresh),
                                         "Look for new, changed and removed photos")
        self.rescan_action = self._action("&Rescan All Photos",
                                          lambda: self.start_indexing(rescan=True),
                                          tip="Read every photo again, changed or not")
        # Ctrl+, is the settings shortcut on macOS and in many Linux apps; the role moves the
        # item into the application menu on macOS.
        self.settings_action = self._action("&Settings…", self.open_settings,
                                            QKeySequence(std.Preferences)
                                            if not QKeySequence(std.Preferences).isEmpty()
                                            else "Ctrl+,")
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        # Not every platform defines a standard Quit shortcut; the app promises Ctrl+Q.
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo_action = self._action("&Undo", self.editor.undo, QKeySequence(std.Undo))
        self.find_action = self._action("&Find…", self.focus_search, QKeySequence(std.Find),
                                        "Search people, folders and dates in the library")
        self.rename_action = self._action("&Rename Person", self.rename_person, "F2")
        self.hide_action = self._action("&Hide Person", self.people_actions.hide_person,
                                        "Ctrl+H")

        self.page_actions = []
        titles = ("&Library", "&People", "&Restore", "&Jobs")
        for number, (name, title) in enumerate(zip(PAGES, titles, strict=True), start=1):
            self.page_actions.append(self._action(title, lambda _=False, n=name: self.show_page(n),
                                                  f"Ctrl+{number}"))
        self.unassigned_action = self._action("&Unassigned Faces",
                                              lambda: self.show_page("unassigned"))

        self.fit_action = self._action("&Learn This Person’s Face",
                                       self.people_actions.fit_person,
                                       "Ctrl+Shift+F", LEARN_TIP)
        self.fit_all_action = self._action("Learn &Everyone’s Face", self.people.overview.fit_all,
                                           tip="Identity fitting for everyone not fitted yet")
        self.cancel_fits_action = self._action("&Cancel Fitting", self.fits.cancel_all)
        self.recluster_action = self._action("&Regroup People",
                                             self.people_actions.start_recluster,
                                             tip="Group every face again; your decisions stay")

        self.restore_action = self._action("Restore &Photos…", self.choose_photos_to_restore,
                                           "Ctrl+Shift+R",
                                           "Choose old photos to restore their faces")
        self.models_action = self._action("&Models and Device…", self.model_downloads.show_models)
        self.about_action = self._action("&About IDFSR Desktop", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.fits.changed.connect(lambda _: self._update_fit_actions())
        self._update_fit_actions()

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.add_folder_action, self.demo_action, self.restore_action, None,
                       self.index_action,
                       self.rescan_action, None, self.settings_action, None, self.quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.aboutToShow.connect(self._update_undo)
        for action in (self.undo_action, None, self.find_action, None, self.rename_action,
                       self.hide_action):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        view_menu = bar.addMenu("&View")
        for action in self.page_actions:
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.unassigned_action)
        people_menu = bar.addMenu("&People")
        for action in (self.fit_action, self.fit_all_action, self.cancel_fits_action, None,
                       self.recluster_action):
            people_menu.addSeparator() if action is None else people_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.models_action)
        help_menu.addAction(self.about_action)

    # ---- navigation -------------------------------------------------------------------

    def show_page(self, name: str) -> None:
        """Show a sidebar page (PAGES), 'unassigned' or 'person' (the largest one)."""
        if name in PAGES:
            self.sidebar.setCurrentRow(PAGES.index(name))
            if name == "people":
                self.people.show_overview()
            return
        self.sidebar.setCurrentRow(PAGES.index("people"))
        if name == "unassigned":
            self.people.show_unassigned()
        elif name == "person":
            people = self.people.model.people()
            if people:
                self.people.show_person(people[0].id)
        else:
            raise ValueError(f"unknown page {name!r}")

    def focus_search(self) -> None:
        """Show the Library page with the cursor in its search box."""
        self.show_page("library")
        self.library.focus_search()

    def open_person(self, person_id: int) -> None:
        """Show one person's page."""
        self.show_page("people")
        self.people.show_person(person_id)

    def current_page(self) -> str:
        """The sidebar page shown."""
        return PAGES[max(0, self.sidebar.currentRow())]

    def _update_first_run(self) -> None:
        """The welcome page while the library has no folder; the pages once it has one."""
        first = not list_roots(self.ctx)
        self.root.setCurrentWidget(self.first_run if first else self.main_area)
        if first and self.first_run.models.report is None:
            self.first_run.models.refresh()

    # ---- library actions ----------------------------------------------------------------

    def choose_folder(self) -> None:
        """Ask for a folder and add it."""
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> bool:
        """Add a folder to the library and index it; False (with a message) if refused."""
        return self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> bool:
        """Add folders and index them; False (with a message) if any was refused."""
        ok = self.library_jobs.add_folders(folders)
        self._library_changed(index=ok or bool(list_roots(self.ctx)))
        return ok

    def open_demo_library(self) -> None:
        """Add the bundled demo library (once), index it and name its people after their
        portrait folders, as `idfsr demo` does."""
        if self.library_jobs.add_demo():
            self._library_changed(index=True)

    def _library_changed(self, *, index: bool) -> None:
        self.library.refresh()
        self._update_first_run()
        if self.root.currentWidget() is self.main_area and index:
            self.show_page("library")
            self.start_indexing()

    def start_indexing(self, rescan: bool = False) -> TaskHandle:
        """Index every library folder in the background (the running run, if one is)."""
        return self.library_jobs.start_indexing(rescan)

    @property
    def index_task(self) -> TaskHandle | None:
        """The latest indexing run (None before the first)."""
        return self.library_jobs.index_task

    def _on_indexing_changed(self, running: bool) -> None:
        self.index_action.setEnabled(not running)
        self.rescan_action.setEnabled(not running)
        self.library.set_indexing(running)
        self.people.set_indexing(running)
        if not running:
            self.library.refresh()  # even a cancelled run committed what it had read
            self.people.refresh()

    # ---- restoring --------------------------------------------------------------------------

    def restore_photos(self, paths: list[Path]) -> None:
        """Queue photos on the Restore page and show it."""
        if paths:
            self.show_page("restore")
            self.restore.add_photos(paths)

    def choose_photos_to_restore(self) -> None:
        """Show the Restore page and ask for photos."""
        self.show_page("restore")
        self.restore.choose_photos()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.restore_photos(paths)

    # ---- the Edit and People menus ----------------------------------------------------------

    def rename_person(self) -> None:
        """Rename the open or focused person (in place), on the People page."""
        if self.current_page() != "people":
            self.show_page("people")
        self.people_actions.rename_person()

    def _update_fit_actions(self) -> None:
        available = self.fits.available
        tip = self.fits.unavailable_reason
        for action in (self.fit_action, self.fit_all_action):
            action.setEnabled(available)
            action.setToolTip(tip or action.text().replace("&", ""))
        self.cancel_fits_action.setEnabled(self.fits.is_busy())

    def _update_undo(self) -> None:
        summary = self.editor.undo_summary()
        self.undo_action.setEnabled(summary is not None)
        self.undo_action.setText(f"&Undo {summary}" if summary else "&Undo")

    # ---- dialogs ------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        """The settings dialog (window-modal; applies on OK)."""
        dialog = SettingsDialog(self.ctx, self, self.restorer)
        dialog.accepted.connect(lambda: self._settings_applied(dialog.change))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _settings_applied(self, change: SettingsChange | None) -> None:
        if change is None:
            return
        if change.models_dir_changed:
            self.fits.refresh_fitted()
            self.first_run.models.refresh()
        if change.library_changed:
            self._library_changed(index=bool(change.added_folders))
            self.people.refresh()
        if change.restore_defaults_changed:
            self.restore.use_defaults()
        if change.face_backend_changed and not change.added_folders:
            self.task_status.show_message(
                "Face backend changed: faces are analysed again with it at the next indexing "
                "(File ▸ Index Now).")

    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(self, "About IDFSR Desktop", ABOUT_TEXT)

    def show_error(self, title: str, message: str) -> None:
        """A warning that does not block the event loop (nor a test)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message,
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def is_idle(self) -> bool:
        """Whether no background task runs and no thumbnail is loading."""
        return (self.runner.is_idle() and self.library.is_idle() and self.people.is_idle()
                and self.restore.is_idle())

    # ---- background work ----------------------------------------------------------------

    def _on_task_started(self, handle: TaskHandle) -> None:
        handle.ended.connect(self._update_jobs_button)
        self._update_jobs_button()

    def _update_jobs_button(self) -> None:
        if self._shut_down:
            return
        running = len(self.jobs.model.running())  # the listed jobs, not helper queries
        self.jobs_button.setText(f"Jobs ({running} running)" if running else "Jobs")

    # ---- lifetime ---------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        settings = window_settings(self.ctx)
        page = settings.value(PAGE_KEY)
        if isinstance(page, str) and page in PAGES:
            self.show_page(page)
        geometry = settings.value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            state = settings.value(STATE_KEY)
            if isinstance(state, QByteArray):
                self.restoreState(state)
            return
        screen = QGuiApplication.primaryScreen()
        available = screen.availableGeometry().size() if screen else QSize(1280, 800)
        self.resize(min(1180, available.width() * 9 // 10),
                    min(780, available.height() * 9 // 10))

    def save_geometry(self) -> None:
        """Remember the window's size and place, and the page shown, for next time."""
        settings = window_settings(self.ctx)
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState())
        settings.setValue(PAGE_KEY, self.current_page())
        settings.sync()

    def shutdown(self) -> None:
        """Save geometry, cancel background work and wait for it (bounded). Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.save_geometry()
        self.library_jobs.shutdown()
        self.people_actions.shutdown()
        self.fits.shutdown()
        self.restorer.shutdown()
        self.placement.close()
        self.runner.shutdown()
        self.library.shutdown()
        self.people.shutdown()
        gc.unfreeze()  # what settle_garbage_collector kept aside may be garbage from now on

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
