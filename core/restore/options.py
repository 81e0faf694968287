"""The user's knobs for restoring photos, and `--person FACE=NAME|ID` parsing."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import IdfsrError

NOBODY = "none"  # --person 2=none: restore face 2 without a personal identity
AUTO_SCALE = 0.0  # --scale auto: as large as the restored faces have detail for (1..4)


@dataclass(frozen=True)
class PersonChoice:
    """The user's decision for one face: a person (name or id), or NOBODY.

    `photo` limits it to inputs with that file name (`old.jpg:2=Ann`) or that absolute
    path (the desktop app, whose queue may hold two photos of the same name); None: every
    input.
    """

    face: int  # 1-based, in the order faces are reported (left to right)
    person: str
    photo: str | None = None

    def applies_to(self, photo: str | Path) -> bool:
        """Whether this choice is about this photo (a file name, or a path to it)."""
        if self.photo is None:
            return True
        path = Path(photo)
        return self.photo in (path.name, str(photo))


def parse_person_choice(text: str) -> PersonChoice:
    """`FACE=NAME|ID`, `FILE:FACE=NAME|ID`, or `FACE=none`."""
    key, sep, person = text.partition("=")
    if not sep or not person.strip():
        raise IdfsrError(f"--person {text!r}: expected FACE=NAME|ID (e.g. 2=Ann, 2=17, 3=none)")
    photo, colon, face = key.rpartition(":")
    if not colon:
        photo, face = "", key
    try:
        number = int(face.strip())
    except ValueError:
        raise IdfsrError(f"--person {text!r}: FACE must be a face number (1, 2, ...) as "
                         "listed by an earlier run") from None
    if number < 1:
        raise IdfsrError(f"--person {text!r}: faces are numbered from 1")
    return PersonChoice(number, person.strip(), photo.strip() or None)


@dataclass(frozen=True)
class RestoreOptions:
    """How to restore: model and device, sampling, output scale, matching, outputs."""

    scale: float = AUTO_SCALE  # the output photo's size relative to the input (1..4; 0: auto)
    steps: int = 25
    seed: int = 0
    candidates: int = 4
    # Measured on held-out people (bench/idfsr_sizes.py, TRAINING.md): half the LR face
    # shown, no guidance and no LR projection give the restorer its best identity and
    # fidelity at every face size.
    fidelity: float = 0.5  # how much of the LR face the network is shown (0..1)
    identity_strength: float = 1.0  # classifier-free guidance on identity (1: none)
    consistency: float = 0.0  # LR consistency (0..1)
    start: float = 0.5  # 1: sample from pure noise; lower: from the LR face noised this far
    sampler: str = "ddim"
    model: str | None = None  # name or folder; None: the bundled model
    device: str | None = None  # None: the device setting
    min_confidence: float | None = None  # None: core.restore.matching.MIN_CONFIDENCE
    persons: tuple[PersonChoice, ...] = ()
    faces: tuple[int, ...] | None = None  # restore only these face numbers (None: all)
    fit_steps: int | None = None  # fitting on demand (None: core.tasks.fitting.DEFAULT_FIT_STEPS)
    fit_missing: bool = True  # fit people who have no identity yet (else: generic path)
    keep_grain: bool = False
    large_faces: bool = False  # also clean faces the model's size or larger (else skipped)
    save_crops: bool = False
    max_output_pixels: int | None = None  # None: the image size limit of the settings
    repair: bool = True  # find and fill scratches, cracks, dust and spots
    # Fading and casts corrected this much (0..1). Measured (bench/bench_photo_repair.py):
    # 0.5 takes faded photos from 14.7 to 19.8 dB (1.0: 22.9) while an unfaded photo put
    # through it stays at 35.5 dB (1.0: 29.9): most of the gain, little of the harm.
    tone: float = 0.5
    keep_monochrome: bool = True  # grey and sepia photos keep their tone (contrast only)
    # Damage masks the user edited, as (photo path, mask PNG path): these photos are
    # repaired where their mask says (nonzero = damaged) instead of where it is detected.
    damage_masks: tuple[tuple[str, str], ...] = ()

    def check(self) -> None:
        """Raise IdfsrError for values out of range."""
        if not (1.0 <= self.scale <= 4.0 or self.scale == AUTO_SCALE):
            raise IdfsrError(f"--scale must be between 1 and 4, or auto (got {self.scale:g})")
        if self.steps < 1:
            raise IdfsrError("--steps must be at least 1")
        if self.candidates < 1:
            raise IdfsrError("--candidates must be at least 1")
        if not 0.0 <= self.fidelity <= 1.0:
            raise IdfsrError("--fidelity must be between 0 and 1")
        if not 0.0 <= self.consistency <= 1.0:
            raise IdfsrError("--consistency must be between 0 and 1")
        if not 0.0 < self.start <= 1.0:
            raise IdfsrError("--start must be above 0 and at most 1")
        if self.identity_strength < 0:
            raise IdfsrError("--identity-strength must be 0 or more")
        if not 0.0 <= self.tone <= 1.0:
            raise IdfsrError(f"--tone must be between 0 and 1 (got {self.tone:g})")
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise IdfsrError("--min-confidence must be between 0 and 1")

    def choices_for(self, photo: str | Path) -> dict[int, str]:
        """The user's person choices for one photo (a file name or path), by face number
        (later ones win)."""
        return {c.face: c.person for c in self.persons if c.applies_to(photo)}

    def mask_for(self, photo: str | Path) -> Path | None:
        """The edited damage mask of this photo (its absolute path), if the user made one."""
        wanted = os.path.abspath(photo)
        for where, mask in self.damage_masks:
            if os.path.abspath(where) == wanted:
                return Path(mask)
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the sidecar."""
        out = asdict(self)
        out["persons"] = [f"{c.photo + ':' if c.photo else ''}{c.face}={c.person}"
                          for c in self.persons]
        out["faces"] = list(self.faces) if self.faces is not None else None
        out["damage_masks"] = [list(pair) for pair in self.damage_masks]
        return out


def parse_faces(values: Iterable[str]) -> tuple[int, ...] | None:
    """`--faces 1,3` (repeatable) as face numbers; nothing given: None (all faces)."""
    numbers: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or int(part) < 1:
                raise IdfsrError(f"--faces {value!r}: face numbers are 1, 2, ...")
            numbers.append(int(part))
    return tuple(sorted(set(numbers))) if numbers else None
