"""`idfsr demo`: the whole product on the bundled demo library, from a clean home.

Index the demo library (photos, faces, people), name the people after the demo's
portrait folders (the demo knows who is who; a real library learns it from the user),
fit the people the old photos show briefly, restore the old photos in `old/` (faces of
people the library does not know take the generic path), and write a before/after
image of each. Without the restoration model the demo says so and stops
after the people: nothing is faked.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.context import AppContext
from core.errors import IdfsrError
from core.faces import service as face_service
from core.idfsr.restorers import idfsr_available, load_idfsr
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.library import service
from core.library.imageio import load_image, suffix_supported
from core.people import edits
from core.people.identity_store import fit_status
from core.people.service import get_person
from core.resources import bundled_models_root, demo_library_path
from core.restore import outputs
from core.restore.compose import upscale_photo
from core.restore.options import PersonChoice, RestoreOptions
from core.tasks.fitting import FitOutcome, fit_person
from core.tasks.indexing import FullIndexReport, index_everything
from core.tasks.restore import restore_photos

log = logging.getLogger(__name__)

# The demo must finish in minutes on two CPU cores: a short fit of the people the old
# photos show (`idfsr people fit --all` fits everyone properly), few sampling steps and
# one candidate per face.
FIT_STEPS = 30
SAMPLE_STEPS = 15
CANDIDATES = 1
# Who the old photos show, as their owner would say (resources/demo/SOURCES.md): the left
# print of the album page is Barack Obama and Joe Biden. At ~20 px and aged to sepia the
# recognizer is not sure of them on its own (the table shows its best guess beside this),
# so the demo plays the user who names them; the six strangers take the generic path.
KNOWN_FACES = (("album_page_1960s.jpg", 1, "Barack Obama"),
               ("album_page_1960s.jpg", 2, "Joe Biden"))


@dataclass
class DemoReport:
    """What the demo did."""

    library: Path
    index: FullIndexReport
    people: list[dict[str, Any]] = field(default_factory=list)
    model_missing: str | None = None
    fits: list[FitOutcome] = field(default_factory=list)
    restore: Any = None  # core.restore.report.RestoreReport
    comparisons: list[str] = field(default_factory=list)


def _main_face(faces: list[face_service.FaceInfo]) -> face_service.FaceInfo | None:
    return max(faces, key=lambda f: f.size_px, default=None)


def name_demo_people(ctx: AppContext, demo: Path) -> list[dict[str, Any]]:
    """Give each portrait folder's person its name (making the person if clustering did not).

    The main face of every photo in `portraits/<first_last>/` is that person's: the
    person most of them already belong to is named, the others are moved to it; with no
    such person, one is made. Running it again changes nothing.
    """
    named: list[dict[str, Any]] = []
    for folder in sorted(p for p in (demo / "portraits").iterdir() if p.is_dir()):
        label = folder.name.replace("_", " ").title()
        mains = []
        for photo in sorted(folder.iterdir()):
            if suffix_supported(photo.name):
                try:
                    face = _main_face(face_service.list_faces(ctx, photo=photo))
                except IdfsrError:  # not indexed (unreadable): the others still count
                    continue
                if face is not None:
                    mains.append(face)
        if not mains:
            continue
        owners = Counter(f.person_id for f in mains if f.person_id is not None)
        if owners:
            person = owners.most_common(1)[0][0]
            if _name(ctx, person) != label:
                edits.rename(ctx, person, label)
            strays = [f.id for f in mains if f.person_id != person]
            if strays:
                edits.move(ctx, strays, person)
        else:
            person = edits.new_person(ctx, [f.id for f in mains], label)
        named.append({"id": person, "name": label, "faces": len(mains)})
    return named


def _name(ctx: AppContext, person_id: int) -> str | None:
    return get_person(ctx, person_id, best=0).name


def _comparison(before_path: Path, after_path: Path, scale: float) -> bytes:
    """Before (the old photo enlarged conventionally) and after, side by side, as JPEG."""
    with load_image(before_path) as img:
        before = upscale_photo(np.asarray(img.convert("RGB")), scale)
    with load_image(after_path) as img:
        after = np.asarray(img.convert("RGB"))
    h = max(before.shape[0], after.shape[0])
    gap = np.full((h, 8, 3), 255, np.uint8)

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, h - a.shape[0]), (0, 0), (0, 0)), constant_values=255)

    buf = io.BytesIO()
    Image.fromarray(np.concatenate([pad(before), gap, pad(after)], axis=1)).save(
        buf, "JPEG", quality=92)
    return buf.getvalue()


def run_demo(
    ctx: AppContext,
    *,
    fit_steps: int = FIT_STEPS,
    steps: int = SAMPLE_STEPS,
    candidates: int = CANDIDATES,
    restore: bool = True,
    only: Sequence[str] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> DemoReport:
    """Index, cluster, name, fit and restore on the demo library (a long job).

    `only`: restore just the old photos of these file names (None: all of them).
    """
    cancel = cancel or CancelToken()
    demo = demo_library_path().resolve()
    if not any(r.path == str(demo) for r in service.list_roots(ctx)):
        service.add_root(ctx, demo)
    report = DemoReport(demo, index_everything(ctx, progress=progress, cancel=cancel))
    report.people = name_demo_people(ctx, demo)
    if not restore:
        return report
    # Only now: these import torch, which the app's own process never needs to (indexing
    # and naming the demo run there; see idfsr_desktop.job_placement).
    from core.idfsr.checkpoint import DEFAULT_MODEL, model_search_path  # heavy: torch

    if not idfsr_available(ctx):
        places = ", ".join(str(p) for p in model_search_path(ctx.paths, DEFAULT_MODEL))
        report.model_missing = (
            f"the restoration model {DEFAULT_MODEL!r} is not installed (looked in {places}); "
            f"the library is indexed and its people named, but nothing was fitted or "
            f"restored. Train it with {bundled_models_root() / 'train_default.sh'}.")
        return report
    loaded = load_idfsr(ctx)
    done = fit_status(ctx, loaded.sha256)
    shown = {name for _, _, name in KNOWN_FACES}
    for person in report.people:
        if person["name"] in shown and person["id"] not in done:
            report.fits.append(fit_person(ctx, person["id"], steps=fit_steps,
                                          progress=progress, cancel=cancel))
    olds = sorted(p for p in (demo / "old").iterdir() if suffix_supported(p.name)
                  and (only is None or p.name in only))
    out = ctx.paths.outputs / "demo"
    persons = tuple(PersonChoice(face, name, photo) for photo, face, name in KNOWN_FACES)
    options = RestoreOptions(steps=steps, candidates=candidates, fit_steps=fit_steps,
                             save_crops=True, persons=persons)
    report.restore = restore_photos(ctx, olds, out, options, progress=progress, cancel=cancel)
    for photo in report.restore.photos:
        if photo.output:
            target = Path(photo.output).with_name(Path(photo.output).stem + "-before-after.jpg")
            try:
                outputs.write_new(target, _comparison(Path(photo.source), Path(photo.output),
                                                      photo.scale))
                report.comparisons.append(str(target))
            except FileExistsError:
                log.info("%s exists; left as it is", target)
    return report
