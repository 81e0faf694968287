"""First run: choose the library folders (or open the demo library) and see what the app runs
with. Shown instead of the pages while the library has no folders."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from idfsr_desktop.model_status_widget import ModelStatusWidget
from idfsr_desktop.task_runner import TaskRunner
from idfsr_desktop.theme import secondary_text, title_font

WELCOME = ("Choose the folders that hold your photos. The app only reads them, never changes "
           "them, and everything it learns about the people in them stays on this computer.")


class FirstRunWidget(QScrollArea):
    """Welcome, folders, demo, and the model/device status."""

    folders_chosen = Signal(list)  # of str
    open_demo_requested = Signal()

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName("Welcome")
        em = self.fontMetrics().height()

        title = QLabel("Welcome to IDFSR Desktop")
        title.setFont(title_font(self, 1.8))
        intro = QLabel(WELCOME)
        intro.setWordWrap(True)
        self.folder_list = QListWidget()
        self.folder_list.setAccessibleName("Library folders")
        self.folder_list.setMaximumHeight(em * 7)
        self.folder_list.currentRowChanged.connect(lambda _: self._update())
        self.add_button = QPushButton("Add Folder…")
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_current)
        self.start_button = QPushButton("Index These Folders")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self._start)
        self.demo_button = QPushButton("Open the Demo Library")
        self.demo_button.setToolTip("A few portraits and old photos bundled with the app")
        self.demo_button.clicked.connect(self.open_demo_requested)
        self.hint = QLabel("No folders chosen yet.")
        secondary_text(self.hint)

        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(self.add_button)
        folder_buttons.addWidget(self.remove_button)
        folder_buttons.addStretch(1)
        start_row = QHBoxLayout()
        start_row.addWidget(self.start_button)
        start_row.addWidget(self.demo_button)
        start_row.addStretch(1)

        models_title = QLabel("What the app runs with")
        models_title.setFont(title_font(self, 1.15))
        self.models = ModelStatusWidget(ctx, runner)

        column = QVBoxLayout()
        column.setSpacing(em // 2)
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(em // 2)
        column.addWidget(self.folder_list)
        column.addWidget(self.hint)
        column.addLayout(folder_buttons)
        column.addSpacing(em // 2)
        column.addLayout(start_row)
        column.addSpacing(em * 2)
        column.addWidget(models_title)
        column.addWidget(self.models)
        column.addStretch(1)

        body = QWidget()
        body.setMaximumWidth(em * 46)
        body.setLayout(column)
        outer_widget = QWidget()
        outer = QHBoxLayout(outer_widget)
        outer.setContentsMargins(em * 2, em * 3, em * 2, em * 2)
        outer.addStretch(1)
        outer.addWidget(body, 12)
        outer.addStretch(1)
        self.setWidget(outer_widget)
        self._update()

    def folders(self) -> list[str]:
        """The folders chosen so far."""
        return [self.folder_list.item(i).text() for i in range(self.folder_list.count())]

    def add_folder(self, folder: str) -> None:
        """Add a folder to the list (once)."""
        if folder and folder not in self.folders():
            self.folder_list.addItem(folder)
            self.folder_list.setCurrentRow(self.folder_list.count() - 1)
        self._update()

    def choose_folder(self) -> None:
        """Ask for a folder."""
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of photos")
        if folder:
            self.add_folder(folder)

    def _remove_current(self) -> None:
        row = self.folder_list.currentRow()
        if row >= 0:
            self.folder_list.takeItem(row)
        self._update()

    def _start(self) -> None:
        if self.folders():
            self.folders_chosen.emit(self.folders())

    def _update(self) -> None:
        n = self.folder_list.count()
        self.folder_list.setVisible(n > 0)
        self.hint.setVisible(n == 0)
        self.remove_button.setEnabled(self.folder_list.currentRow() >= 0)
        self.start_button.setEnabled(n > 0)
        self.start_button.setText("Index This Folder" if n == 1 else "Index These Folders")
        # With folders chosen, starting is the natural next step; before, the demo is.
        self.start_button.setDefault(n > 0)

