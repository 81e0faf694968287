"""Settings: library folders, models folder and face backend; where restored photos go, the
device, the Restore page's starting knobs and its work folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.errors import IdfsrError
from core.faces.backends import forget_face_backend
from core.faces.types import DLIB_ID, MOBILEFACE_ID
from core.library.service import add_root, list_roots, remove_root
from core.paths import AppPaths
from idfsr_desktop.restore_controller import RestoreController
from idfsr_desktop.restore_settings_widget import RestoreSettingsWidget
from idfsr_desktop.theme import error_colour, secondary_text

BACKENDS = (
    ("Automatic: insightface when a pack is installed, else embedded", "auto"),
    ("insightface (needs a downloaded pack)", "insightface"),
    ("Embedded (bundled, works offline)", "embedded"),
)
# The embedded backend's recognizer (settings.faces.recognizer); dlib first, the default.
RECOGNIZERS = (
    ("dlib ResNet (the more accurate)", DLIB_ID),
    ("MobileFace (about 60x faster per face, less accurate)", MOBILEFACE_ID),
)
PathRole = Qt.ItemDataRole.UserRole + 1


@dataclass
class SettingsChange:
    """What applying the dialog changed (the window reacts: indexing, reloading models)."""

    added_folders: list[str] = field(default_factory=list)
    removed_folders: list[str] = field(default_factory=list)
    photos_removed: int = 0
    face_backend_changed: bool = False
    models_dir_changed: bool = False
    device_changed: bool = False
    restore_defaults_changed: bool = False

    @property
    def library_changed(self) -> bool:
        """Whether folders were added or removed."""
        return bool(self.added_folders or self.removed_folders)


class PathField(QWidget):
    """A folder path with a Browse button; empty means the default shown as placeholder."""

    def __init__(self, default: Path, title: str, name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(str(default))
        self.edit.setClearButtonEnabled(True)
        # The form's label is the field's, not the edit's: a screen reader reads this name.
        self.edit.setAccessibleName(name)
        self.setFocusProxy(self.edit)
        browse = QPushButton("Browse…")
        browse.setAccessibleName(f"Browse for the {name.lower()}")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def path(self) -> Path | None:
        """The chosen folder (None: the default)."""
        text = self.edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_path(self, path: Path | None) -> None:
        """Show a folder (None: the default)."""
        self.edit.setText(str(path) if path is not None else "")

    def _browse(self) -> None:
        start = self.edit.text() or self.edit.placeholderText()
        folder = QFileDialog.getExistingDirectory(self, self.title, start)
        if folder:
            self.edit.setText(folder)


class SettingsDialog(QDialog):
    """Edits a copy; OK applies it through core (folders) and saves the settings."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None,
                 restorer: RestoreController | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.change: SettingsChange | None = None
        self.setWindowTitle("Settings")
        em = self.fontMetrics().height()
        defaults = AppPaths.resolve(ctx.paths.home)

        self.folder_list = QListWidget()
        self.folder_list.setAccessibleName("Library folders")
        self.folder_list.setMinimumHeight(em * 6)
        self.folder_list.currentRowChanged.connect(lambda _: self._update())
        self._existing = {r.path: r.photos for r in list_roots(ctx)}
        for path, photos in self._existing.items():
            self._add_item(path, f"{photos:,} photo{'s' if photos != 1 else ''}")
        add = QPushButton("Add…")
        add.clicked.connect(self._choose_folder)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_current)
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(self.remove_button)
        folder_buttons.addStretch(1)
        self.removal_note = QLabel("Photos of removed folders leave the library, with what the "
                                   "app knows about their faces; the files stay on disk.")
        self.removal_note.setWordWrap(True)
        secondary_text(self.removal_note)
        folders = QVBoxLayout()
        folders.setContentsMargins(0, 0, 0, 0)
        folders.addWidget(self.folder_list)
        folders.addLayout(folder_buttons)
        folders.addWidget(self.removal_note)
        folders_box = QWidget()
        folders_box.setLayout(folders)

        self.models_field = PathField(defaults.models, "Choose the models folder",
                                      "Models folder")
        self.models_field.set_path(ctx.settings.models_dir)
        self.backend_combo = self._combo(BACKENDS, ctx.settings.face_backend)
        self.recognizer_combo = self._combo(RECOGNIZERS, ctx.settings.faces.recognizer)
        self.recognizer_combo.setToolTip("Changing it re-embeds the library's faces at the "
                                         "next indexing; names and corrections are kept.")
        self.output_field = PathField(defaults.outputs, "Choose where restored photos go",
                                      "Restored photos folder")
        self.output_field.set_path(ctx.settings.output_dir)
        self.restoring = RestoreSettingsWidget(ctx, self.output_field, restorer)
        self.device_combo = self.restoring.device_combo
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        palette = self.error_label.palette()
        palette.setColor(self.error_label.foregroundRole(), error_colour(palette))
        self.error_label.setPalette(palette)
        self.error_label.hide()

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Library folders:", folders_box)
        form.addRow("Models folder:", self.models_field)
        form.addRow("Face backend:", self.backend_combo)
        form.addRow("Embedded recognizer:", self.recognizer_combo)
        library = QWidget()
        library.setLayout(form)
        self.tabs = QTabWidget()
        self.tabs.tabBar().setAccessibleName("Settings sections")
        self.tabs.addTab(library, "&Library")
        self.tabs.addTab(self.restoring, "&Restoring")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(em * 44, em * 26)
        self._update()

    @staticmethod
    def _combo(choices: tuple[tuple[str, str], ...], current: str) -> QComboBox:
        combo = QComboBox()
        for text, value in choices:
            combo.addItem(text, value)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        return combo

    def _add_item(self, path: str, note: str) -> None:
        item = QListWidgetItem(f"{path}    ({note})")
        item.setData(PathRole, path)
        self.folder_list.addItem(item)

    def folders(self) -> list[str]:
        """The folders listed now."""
        return [self.folder_list.item(i).data(PathRole) for i in range(self.folder_list.count())]

    def add_folder(self, folder: str) -> None:
        """List a folder to add."""
        resolved = str(Path(folder).expanduser().resolve())
        if resolved not in self.folders():
            self._add_item(resolved, "new: indexed after OK")
        self._update()

    def remove_folder(self, folder: str) -> None:
        """Unlist a folder (removed from the library after OK)."""
        for i in range(self.folder_list.count()):
            if self.folder_list.item(i).data(PathRole) == folder:
                self.folder_list.takeItem(i)
                break
        self._update()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_folder(folder)

    def _remove_current(self) -> None:
        item = self.folder_list.currentItem()
        if item is not None:
            self.remove_folder(item.data(PathRole))

    def _update(self) -> None:
        self.remove_button.setEnabled(self.folder_list.currentRow() >= 0)
        removed = set(self._existing) - set(self.folders())
        self.removal_note.setVisible(bool(removed))

    def accept(self) -> None:
        """Apply; stay open with the reason if core refuses something."""
        try:
            self.change = self.apply()
        except IdfsrError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        super().accept()

    def apply(self) -> SettingsChange:
        """Write the folders through core and save the settings; what changed."""
        ctx, change = self.ctx, SettingsChange()
        listed = self.folders()
        for path in listed:
            if path not in self._existing:
                add_root(ctx, path)
                self._existing[path] = 0
                change.added_folders.append(path)
        for path in list(self._existing):
            if path not in listed:
                change.photos_removed += remove_root(ctx, path)
                del self._existing[path]
                change.removed_folders.append(path)
        settings = ctx.settings
        backend = self.backend_combo.currentData()
        device = self.device_combo.currentData()
        models = self.models_field.path()
        recognizer = self.recognizer_combo.currentData()
        # Another recognizer is another embedding model: the library re-embeds, as when the
        # backend changes.
        change.face_backend_changed = (backend != settings.face_backend
                                       or recognizer != settings.faces.recognizer)
        change.device_changed = device != settings.device
        change.models_dir_changed = models != settings.models_dir
        change.restore_defaults_changed = self.restoring.changed_defaults(settings.restore)
        self.restoring.apply(settings.restore)
        settings.face_backend = backend
        settings.faces.recognizer = recognizer
        settings.device = device
        settings.models_dir = models
        settings.output_dir = self.output_field.path()
        if change.face_backend_changed or change.device_changed:
            forget_face_backend(ctx)  # the next indexing opens the new one
        ctx.apply_models_dir()
        ctx.save_settings()
        return change
