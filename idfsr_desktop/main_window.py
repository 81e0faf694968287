"""The main window: a sidebar of pages, the pages, menus, and background work in the status bar."""

from __future__ import annotations

import functools
import logging

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from core.context import AppContext
from core.errors import IdfsrError
from core.indexing import FullIndexReport, index_everything
from core.library.service import add_root, list_roots
from core.resources import demo_library_path
from idfsr_desktop.icons import app_icon, tinted_icon
from idfsr_desktop.library_widget import LibraryWidget
from idfsr_desktop.task_runner import TaskHandle, TaskRunner
from idfsr_desktop.task_status_widget import TaskStatusWidget

log = logging.getLogger(__name__)

SETTINGS_FILE = "desktop.ini"
GEOMETRY_KEY = "main_window/geometry"
STATE_KEY = "main_window/state"
ABOUT_TEXT = (
    "<h3>IDFSR Desktop</h3>"
    "<p>Knows the people in your photo library and restores their tiny, degraded faces "
    "in old photos, faithfully to who they are.</p>"
    "<p>Implements <i>Personalized Face Super-Resolution with Identity Decoupling and "
    "Fitting</i> (arXiv 2508.10937). Your originals are never changed.</p>"
)


def window_settings(ctx: AppContext) -> QSettings:
    """The GUI's own settings (window geometry…), kept in the app's config folder."""
    return QSettings(str(ctx.paths.config / SETTINGS_FILE), QSettings.Format.IniFormat)


def report_text(full: FullIndexReport) -> str:
    """How an indexing run ended, in one status-bar line."""
    report = full.photos
    changes = report.new + report.changed + report.moved
    parts = [f"Library up to date: {report.seen:,} photos seen",
             f"{changes:,} new or changed" if changes else "nothing new"]
    if report.errors:
        parts.append(f"{report.errors:,} unreadable")
    if report.missing:
        parts.append(f"{report.missing:,} newly missing")
    seconds = report.seconds
    if full.faces is not None:
        parts.append(f"{full.faces.faces:,} faces found in {full.faces.photos:,} photos")
        seconds += full.faces.seconds
    return ", ".join(parts) + f" ({seconds:.1f} s)."


class MainWindow(QMainWindow):
    """One window over one AppContext; every action calls core, long ones through the runner."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = TaskRunner(self)
        self.index_task: TaskHandle | None = None
        self._shut_down = False
        self.setWindowTitle("IDFSR Desktop")
        self.setWindowIcon(app_icon())

        self.library = LibraryWidget(ctx)
        self.library.add_folder_requested.connect(self.choose_folder)
        self.library.open_demo_requested.connect(self.open_demo_library)
        self.pages = QStackedWidget()
        self.sidebar = self._make_sidebar()
        self._add_page("Library", "library", self.library)
        self.sidebar.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.sidebar.setCurrentRow(0)

        divider = QFrame()
        divider.setFrameShape(QFrame.Shape.VLine)
        divider.setFrameShadow(QFrame.Shadow.Sunken)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(divider)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.task_status = TaskStatusWidget()
        self.statusBar().addWidget(self.task_status, 1)
        self.runner.task_started.connect(self.task_status.track)
        self._make_actions()
        self._make_menus()
        self._restore_geometry()
        self.library.refresh()

    # ---- building ---------------------------------------------------------------------

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

    def _make_actions(self) -> None:
        self.add_folder_action = QAction("&Add Folder…", self)
        self.add_folder_action.setShortcut(QKeySequence.StandardKey.Open)
        self.add_folder_action.setStatusTip("Add a folder of photos to the library")
        self.add_folder_action.triggered.connect(self.choose_folder)
        self.index_action = QAction("&Index Now", self)
        self.index_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.index_action.setStatusTip("Look for new, changed and removed photos")
        self.index_action.triggered.connect(lambda: self.start_indexing(rescan=False))
        self.rescan_action = QAction("&Rescan All Photos", self)
        self.rescan_action.setStatusTip("Read every photo again, changed or not")
        self.rescan_action.triggered.connect(lambda: self.start_indexing(rescan=True))
        self.quit_action = QAction("&Quit", self)
        # Not every platform defines a standard Quit shortcut; the app promises Ctrl+Q.
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        self.about_action = QAction("&About IDFSR Desktop", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)

    def _make_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.add_folder_action)
        file_menu.addSeparator()
        file_menu.addAction(self.index_action)
        file_menu.addAction(self.rescan_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)

    # ---- actions ----------------------------------------------------------------------

    def choose_folder(self) -> None:
        """Ask for a folder and add it."""
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> bool:
        """Add a folder to the library and index it; False (with a message) if refused."""
        try:
            add_root(self.ctx, folder)
        except IdfsrError as exc:
            self.show_error("Cannot add this folder", str(exc))
            return False
        self.library.refresh()
        self.start_indexing()
        return True

    def open_demo_library(self) -> None:
        """Add the bundled demo library (once) and index it."""
        try:
            demo = demo_library_path().resolve()
            if not any(root.path == str(demo) for root in list_roots(self.ctx)):
                add_root(self.ctx, demo)
        except IdfsrError as exc:
            self.show_error("Cannot open the demo library", str(exc))
            return
        self.library.refresh()
        self.start_indexing()

    def start_indexing(self, rescan: bool = False) -> TaskHandle:
        """Index every library folder in the background (the running run, if one is)."""
        if self.index_task is not None and self.index_task.running:
            return self.index_task
        job = functools.partial(index_everything, self.ctx, rescan=rescan)
        title = "Rescanning photos" if rescan else "Indexing photos"
        handle = self.runner.submit(job, title=title, on_finished=self._on_indexed,
                                    on_failed=self._on_index_failed)
        handle.ended.connect(self._on_index_ended)
        self.index_task = handle
        self._set_indexing(True)
        return handle

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
        return self.runner.is_idle() and self.library.is_idle()

    # ---- indexing outcome -------------------------------------------------------------

    def _on_indexed(self, report: FullIndexReport) -> None:
        self.task_status.show_message(report_text(report))

    def _on_index_failed(self, message: str) -> None:
        self.show_error("Indexing failed", message)

    def _on_index_ended(self) -> None:
        if self._shut_down:  # a late signal after close: the DB may be gone
            return
        self._set_indexing(False)
        self.library.refresh()  # even a cancelled run committed what it had read

    def _set_indexing(self, running: bool) -> None:
        self.index_action.setEnabled(not running)
        self.rescan_action.setEnabled(not running)
        self.library.set_indexing(running)

    # ---- lifetime ---------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        settings = window_settings(self.ctx)
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
        """Remember the window's size and place for next time."""
        settings = window_settings(self.ctx)
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState())
        settings.sync()

    def shutdown(self) -> None:
        """Save geometry, cancel background work and wait for it (bounded). Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.save_geometry()
        self.runner.shutdown()
        self.library.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
