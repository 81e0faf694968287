"""The Jobs page: all background work, with progress, time left, cancel and failure reasons."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from core.jobs import JobState
from idfsr_desktop.empty_state_widget import EmptyStateWidget
from idfsr_desktop.job_list_model import (
    PROGRESS,
    TITLE,
    FractionRole,
    HandleRole,
    JobListModel,
)
from idfsr_desktop.task_runner import TaskHandle, TaskRunner
from idfsr_desktop.theme import secondary_text, title_font


class ProgressDelegate(QStyledItemDelegate):
    """Draws the Progress column as a progress bar with its words on it."""

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        # Rows tall enough for a bar with readable words on it (the tree takes the tallest).
        size = super().sizeHint(option, index)
        return QSize(size.width(), round(option.fontMetrics.height() * 1.9))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        handle = index.data(HandleRole)
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        bar = QStyleOptionProgressBar()
        inset = max(3, option.rect.height() // 6)
        bar.rect = option.rect.adjusted(4, inset, -4, -inset)
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        bar.fontMetrics = option.fontMetrics
        bar.minimum, bar.maximum = 0, 1000
        fraction = index.data(FractionRole)
        bar.progress = round(fraction * 1000) if fraction is not None else 0
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if not bar.text and isinstance(handle, TaskHandle) and handle.running:
            bar.text = "Working…"
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)


class JobsWidget(QWidget):
    """A table of tasks (newest first); the selected one's full outcome below it."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = JobListModel(runner, self)
        em = self.fontMetrics().height()
        title = QLabel("Jobs")
        title.setFont(title_font(self))
        subtitle = QLabel("Indexing, clustering, fitting and downloads run here while you work.")
        secondary_text(subtitle)

        self.view = QTreeView()
        self.view.setModel(self.model)
        self.view.setAccessibleName("Background jobs")
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.view))
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(PROGRESS, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(TITLE, em * 16)
        header.resizeSection(PROGRESS, em * 18)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.dataChanged.connect(lambda *_: self._update())
        self.model.rowsInserted.connect(lambda *_: self._update())
        self.model.modelReset.connect(self._update)

        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the selected job; what it finished is kept")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.cancel_all_button = QPushButton("Cancel All")
        self.cancel_all_button.clicked.connect(self.cancel_all)
        self.clear_button = QPushButton("Clear Finished")
        self.clear_button.clicked.connect(self.model.clear_finished)

        self.empty_state = EmptyStateWidget()
        self.empty_state.show_message("No jobs yet",
                                      "Indexing, fitting and other long work appear here.")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_state)

        buttons = QHBoxLayout()
        buttons.addWidget(self.details, 1)
        buttons.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self.cancel_all_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(em, em, em, em // 2)
        layout.setSpacing(em // 2)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self._update()

    def selected(self) -> TaskHandle | None:
        """The selected task."""
        rows = self.view.selectionModel().selectedRows()
        return self.model.handle(rows[0].row()) if rows else None

    def select_row(self, row: int) -> None:
        """Select a task by row."""
        self.view.setCurrentIndex(self.model.index(row, 0))

    def cancel_selected(self) -> None:
        """Ask the selected task to stop."""
        handle = self.selected()
        if handle is not None and handle.running:
            handle.cancel()
            self._update()

    def cancel_all(self) -> None:
        """Ask every running task to stop."""
        for handle in self.model.running():
            handle.cancel()
        self._update()

    def _on_selection(self, *_: QItemSelection) -> None:
        self._update()

    def _update(self) -> None:
        self.stack.setCurrentWidget(self.view if self.model.rowCount() else self.empty_state)
        handle = self.selected()
        self.cancel_button.setEnabled(handle is not None and handle.running
                                      and not handle.token.cancelled)
        self.cancel_all_button.setEnabled(any(not h.token.cancelled
                                              for h in self.model.running()))
        self.clear_button.setEnabled(any(not h.running for h in self.model.handles()))
        if handle is None:
            self.details.setText("")
        elif handle.state == JobState.FAILED:
            self.details.setText(f"<b>{handle.title} failed.</b> {_escape(handle.message)}")
        elif handle.state == JobState.CANCELLED:
            message = handle.message if handle.message.lower() != "cancelled" else ""
            self.details.setText(f"<b>{handle.title}</b> was cancelled. {_escape(message)}")
        else:
            self.details.setText("")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
