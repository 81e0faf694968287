"""The Restoring tab of the settings: where results go, the device, the Restore page's starting
knobs, and the work folder of unexported results (its size, pruning, clearing)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from core.context import AppContext
from core.restore.options import RestoreOptions
from core.settings import RestoreSettings
from core.work_cache import Pruned, WorkUsage
from idfsr_desktop.restore_controller import RestoreController
from idfsr_desktop.restore_options_widget import RestoreOptionsWidget
from idfsr_desktop.theme import secondary_text

DEVICES = (("Automatic: a GPU when there is one", "auto"), ("CPU", "cpu"),
           ("NVIDIA GPU (CUDA)", "cuda"), ("Apple GPU (Metal)", "mps"))


def restore_defaults(settings: RestoreSettings, base: RestoreOptions | None = None
                     ) -> RestoreOptions:
    """The engine's options with the knobs the settings hold."""
    return replace(base or RestoreOptions(), steps=settings.steps,
                   candidates=settings.candidates, fidelity=settings.fidelity,
                   identity_strength=settings.identity_strength, scale=settings.scale)


def size_words(n: int) -> str:
    """Bytes for people: '0 bytes', '840 KB', '12.3 MB', '1.2 GB'."""
    if n < 1000:
        return f"{n} bytes"
    for unit, size in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if n < size * 1000 or unit == "GB":
            value = n / size
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    return f"{n} bytes"


def usage_words(used: WorkUsage) -> str:
    """'12.3 MB in 40 files', or 'Empty'."""
    if not used.files:
        return "Empty"
    return f"{size_words(used.bytes)} in {used.files:,} file{'s' if used.files != 1 else ''}"


class RestoreSettingsWidget(QWidget):
    """A form; `apply(settings)` writes it into the settings (saving is the dialog's)."""

    def __init__(self, ctx: AppContext, output_field: QWidget,
                 restorer: RestoreController | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.restorer = restorer
        settings = ctx.settings
        self.device_combo = QComboBox()
        for text, value in DEVICES:
            self.device_combo.addItem(text, value)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(settings.device)))
        self.device_combo.setToolTip("Where identity fitting and restoring run")
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Restored photos:", output_field)
        form.addRow("Device:", self.device_combo)
        starts = QLabel("The Restore page starts with these:")
        secondary_text(starts)
        form.addRow(starts)
        self.knobs = RestoreOptionsWidget(restore_defaults(settings.restore), self, form=form)
        self.knobs.hide()  # its fields sit in this form
        self.keep_days = QSpinBox()
        self.keep_days.setRange(0, 3650)
        self.keep_days.setSuffix(" days")
        self.keep_days.setSpecialValueText("Until cleared")
        self.keep_days.setValue(settings.restore.keep_work_days)
        self.keep_days.setToolTip("Restored results you have not exported are removed when the "
                                  "app starts once they are this old")
        self.usage_label = QLabel("Measuring…" if restorer is not None else "—")
        secondary_text(self.usage_label)
        self.clear_button = QPushButton("Clear Now")
        self.clear_button.setToolTip("Remove every unexported result, except those the Restore "
                                     "page shows (exported photos are not touched)")
        self.clear_button.setEnabled(restorer is not None)
        self.clear_button.clicked.connect(self.clear_work)
        work_row = QHBoxLayout()
        work_row.setContentsMargins(0, 0, 0, 0)
        work_row.addWidget(self.usage_label, 1)
        work_row.addWidget(self.clear_button)
        work = QWidget()
        work.setLayout(work_row)

        form.addRow("Keep unexported results:", self.keep_days)
        form.addRow("Unexported results:", work)
        if restorer is not None:
            restorer.measure_work().finished.connect(self._show_usage)

    def changed_defaults(self, settings: RestoreSettings) -> bool:
        """Whether the knobs differ from what the settings hold."""
        return restore_defaults(settings) != self.knobs.options()

    def apply(self, settings: RestoreSettings) -> None:
        """Write the knobs and the keep period into `settings`."""
        o = self.knobs.options()
        settings.steps, settings.candidates = o.steps, o.candidates
        settings.fidelity, settings.identity_strength = o.fidelity, o.identity_strength
        settings.scale = o.scale
        settings.keep_work_days = self.keep_days.value()

    def clear_work(self) -> None:
        """Remove the unexported results (in the background)."""
        handle = self.restorer.clear_work() if self.restorer is not None else None
        if handle is None:
            self.usage_label.setText("Not while a restore runs")
            return
        self.clear_button.setEnabled(False)
        self.usage_label.setText("Clearing…")
        handle.finished.connect(self._cleared)
        handle.ended.connect(lambda: self.clear_button.setEnabled(True))

    def _cleared(self, done: Pruned) -> None:
        freed = f"{size_words(done.removed_bytes)} freed"
        self._show_usage(done.kept, freed)

    def _show_usage(self, used: WorkUsage, note: str = "") -> None:
        words = usage_words(used)
        if self.restorer is not None:
            folder: Path = self.restorer.work_folder()
            self.usage_label.setToolTip(str(folder))
        self.usage_label.setText(f"{words} ({note})" if note else words)
