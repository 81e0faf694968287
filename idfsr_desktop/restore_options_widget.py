"""The restoration knobs (fidelity, identity strength, steps, candidates, scale) as a form
whose values become `RestoreOptions`; the defaults are the engine's."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from core.restore.options import AUTO_SCALE, RestoreOptions

TIPS = {
    "fidelity": "How much the old face is trusted: 0 takes the identity from the person, "
                "1 keeps all of what the old photo shows.",
    "identity": "How strongly the result is pulled toward the person (1: not at all).",
    "steps": "Sampling steps per face: more is slower and usually cleaner.",
    "candidates": "Versions sampled per face; the one most like the person and the old "
                  "photo is kept.",
    "scale": "Size of the restored photo relative to the original. Auto: as large as the "
             "restored faces have real detail for.",
}


def _double(low: float, high: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setToolTip(tip)
    return box


_AUTO_STEP = 0.5  # the scale box's minimum, shown as "Auto"


def _int(low: int, high: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setToolTip(tip)
    return box


class RestoreOptionsWidget(QWidget):
    """A form over RestoreOptions; `options()` gives the values, other fields kept."""

    def __init__(self, defaults: RestoreOptions | None = None,
                 parent: QWidget | None = None, *, form: QFormLayout | None = None) -> None:
        """`form`: put the rows into that form (another dialog's) instead of one of its own."""
        super().__init__(parent)
        self.base = defaults or RestoreOptions()
        self.fidelity = _double(0.0, 1.0, 0.1, 2, TIPS["fidelity"])
        self.identity_strength = _double(0.0, 10.0, 0.5, 1, TIPS["identity"])
        self.steps = _int(1, 1000, TIPS["steps"])
        self.candidates = _int(1, 16, TIPS["candidates"])
        # The lowest step is "Auto": as large as the restored faces have detail for.
        self.scale = _double(_AUTO_STEP, 4.0, 0.5, 1, TIPS["scale"])
        self.scale.setSuffix(" ×")
        self.scale.setSpecialValueText("Auto")
        if form is None:
            form = QFormLayout(self)
            form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Fidelity:", self.fidelity)
        form.addRow("&Identity strength:", self.identity_strength)
        form.addRow("S&teps:", self.steps)
        form.addRow("&Candidates:", self.candidates)
        form.addRow("&Scale:", self.scale)
        self.set_options(self.base)

    def set_options(self, options: RestoreOptions) -> None:
        """Show these values (the fields not on the form are kept as they are)."""
        self.base = options
        self.fidelity.setValue(options.fidelity)
        self.identity_strength.setValue(options.identity_strength)
        self.steps.setValue(options.steps)
        self.candidates.setValue(options.candidates)
        self.scale.setValue(_AUTO_STEP if options.scale == AUTO_SCALE else options.scale)

    def options(self) -> RestoreOptions:
        """The options as the form sets them."""
        return replace(self.base, fidelity=self.fidelity.value(),
                       identity_strength=self.identity_strength.value(),
                       steps=self.steps.value(), candidates=self.candidates.value(),
                       scale=AUTO_SCALE if self.scale.value() < 1.0 else self.scale.value())
