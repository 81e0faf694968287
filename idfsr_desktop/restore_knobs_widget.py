"""How to restore, for everyone: one strength slider from "faithful to the photo" to "more like
the person", and every knob of the engine under an Advanced section, closed by default.

The slider moves two knobs together, fidelity (how much of the old face the network is shown)
and identity strength (guidance toward the person); its middle is the engine's measured
default (fidelity 0.5, identity strength 1.0: no guidance)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.restore.options import RestoreOptions
from idfsr_desktop.restore_options_widget import RestoreOptionsWidget
from idfsr_desktop.theme import secondary_text

STRENGTH_STEPS = 10  # slider positions 0..10
DEFAULT_STRENGTH = 5  # the engine's measured defaults sit here
SAMPLERS = (("DDIM (steady)", "ddim"), ("DPM++ (fewer steps)", "dpm++"))
STRENGTH_WORDS = ("Closest to the photo", "Very faithful to the photo", "Faithful to the photo",
                  "A little faithful", "Slightly faithful", "Balanced (recommended)",
                  "Slightly like the person", "A little more like the person",
                  "More like the person", "Much more like the person", "Most like the person")


def strength_knobs(position: int) -> tuple[float, float]:
    """(fidelity, identity strength) of a slider position: fidelity falls from 1 to 0 across
    the slider; identity guidance is off (1.0) in the middle, weaker left, stronger right."""
    position = max(0, min(STRENGTH_STEPS, position))
    fidelity = round(1.0 - position / STRENGTH_STEPS, 2)
    offset = position - DEFAULT_STRENGTH
    identity = 1.0 + offset * (0.1 if offset < 0 else 0.2)
    return fidelity, round(identity, 2)


def strength_position(fidelity: float, identity_strength: float) -> int | None:
    """The slider position with exactly these knobs, or None (set by hand under Advanced)."""
    for position in range(STRENGTH_STEPS + 1):
        f, i = strength_knobs(position)
        if abs(f - fidelity) < 1e-6 and abs(i - identity_strength) < 1e-6:
            return position
    return None


class RestoreKnobsWidget(QWidget):
    """The strength slider and the Advanced section; `options()` gives RestoreOptions."""

    changed = Signal()

    def __init__(self, defaults: RestoreOptions | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STRENGTH_STEPS)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(DEFAULT_STRENGTH)
        self.slider.setAccessibleName("Restoration strength")
        self.slider.setToolTip("Left keeps the faces closer to what the old photo shows; right "
                               "makes them more like the person you chose")
        self.slider.valueChanged.connect(self._on_slider)
        self.strength_label = QLabel()
        self.strength_label.setAccessibleName("Restoration strength, in words")
        left, right = QLabel("Faithful to the photo"), QLabel("More like the person")
        for end in (left, right):
            secondary_text(end)
        right.setAlignment(Qt.AlignmentFlag.AlignRight)
        ends = QHBoxLayout()
        ends.setContentsMargins(0, 0, 0, 0)
        ends.addWidget(left)
        ends.addStretch(1)
        ends.addWidget(right)

        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setAccessibleName("Advanced restoration settings")
        self.advanced_button.toggled.connect(self.set_advanced_open)
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        form.setContentsMargins(0, 0, 0, 0)
        self.knobs = RestoreOptionsWidget(defaults, self.advanced, form=form)
        self.knobs.hide()  # its fields sit in this form
        self.sampler = QComboBox()
        for text, value in SAMPLERS:
            self.sampler.addItem(text, value)
        self.sampler.setToolTip("How each face is sampled; both give the same kind of result")
        self.consistency = QDoubleSpinBox()
        self.consistency.setRange(0.0, 1.0)
        self.consistency.setSingleStep(0.1)
        self.consistency.setDecimals(2)
        self.consistency.setSpecialValueText("Off")
        self.consistency.setToolTip("Pull each result back toward the old face's pixels "
                                    "(Off: the measured best)")
        form.addRow("Sa&mpler:", self.sampler)
        form.addRow("Pixel c&onsistency:", self.consistency)
        for label, box in (("Fidelity", self.knobs.fidelity),
                           ("Identity strength", self.knobs.identity_strength),
                           ("Steps", self.knobs.steps), ("Candidates", self.knobs.candidates),
                           ("Scale", self.knobs.scale), ("Sampler", self.sampler),
                           ("Pixel consistency", self.consistency)):
            box.setAccessibleName(label)
        for box in (self.knobs.fidelity, self.knobs.identity_strength):
            box.valueChanged.connect(self._on_knob)
        self.advanced.hide()

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Stre&ngth:")
        heading.setBuddy(self.slider)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.strength_label, 1)
        column.addLayout(top)
        column.addWidget(self.slider)
        column.addLayout(ends)
        column.addWidget(self.advanced_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.advanced)
        self.set_options(self.knobs.base)

    @property
    def base(self) -> RestoreOptions:
        """The options the fields not shown here come from."""
        return self.knobs.base

    def focus_order(self) -> list[QWidget]:
        """Its controls in Tab order (the Advanced ones are skipped while it is closed)."""
        k = self.knobs
        return [self.slider, self.advanced_button, k.fidelity, k.identity_strength, k.steps,
                k.candidates, k.scale, self.sampler, self.consistency]

    def set_advanced_open(self, shown: bool) -> None:
        """Open or close the Advanced section."""
        self.advanced_button.setChecked(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown
                                          else Qt.ArrowType.RightArrow)
        self.advanced.setVisible(shown)

    def set_options(self, options: RestoreOptions) -> None:
        """Show these values (the slider where they sit, if they sit on it)."""
        self.knobs.set_options(options)
        self.sampler.setCurrentIndex(max(0, self.sampler.findData(options.sampler)))
        self.consistency.setValue(options.consistency)
        self._on_knob()

    def options(self) -> RestoreOptions:
        """The options as the slider and the Advanced fields set them."""
        return replace(self.knobs.options(), sampler=str(self.sampler.currentData()),
                       consistency=self.consistency.value())

    def _on_slider(self, position: int) -> None:
        fidelity, identity = strength_knobs(position)
        for box, value in ((self.knobs.fidelity, fidelity),
                           (self.knobs.identity_strength, identity)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.strength_label.setText(STRENGTH_WORDS[position])
        self.changed.emit()

    def _on_knob(self) -> None:
        position = strength_position(self.knobs.fidelity.value(),
                                     self.knobs.identity_strength.value())
        self.slider.blockSignals(True)
        if position is not None:
            self.slider.setValue(position)
        self.slider.blockSignals(False)
        self.strength_label.setText(STRENGTH_WORDS[position] if position is not None
                                    else "Custom (set under Advanced)")
        self.changed.emit()
