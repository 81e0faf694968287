"""Fitting people of the library (stage 2): one identity embedding per person and model.

`fit_person` collects a person's best faces from the library DB, cuts aligned crops at
the model's size out of the original photos through the stored landmarks, fits the
identity embedding with the network frozen (core.idfsr.fit: resumable, progress and
cancel), and saves it where core.people.identity_store says (one file per person and
model). `fit_status` (from the store) is the other half of the engine the app drives.

Before and after fitting, a quick check restores one of the person's faces degraded x8
and measures how close the result is to the person (cosine of the library recognizer's
embeddings against the person's centroid): `id_similarity_before` uses the starting
embedding (the mean of the person's recognizer embeddings), `id_similarity_after` the
fitted one. The probe face is held out of the fit when the person has three usable faces
or more.

When the GPU runs out of memory, the fit goes on with fewer faces per step, then on the
CPU (`fall_back_to_cpu`); the outcome's notes say so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from core.context import AppContext
from core.db.models import Person
from core.errors import IdfsrError, ModelMissingError
from core.faces.backends import face_backend, identity_backend
from core.faces.store import face_embedding, normalise
from core.faces.types import DetectedFace
from core.idfsr import memory
from core.idfsr.degrade import DegradationParams, degrade
from core.idfsr.memory import MemoryPlan
from core.idfsr.restorers import fall_back_to_cpu, load_idfsr
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.library.imageio import load_image
from core.people.identity_store import fit_status as fit_status  # the engine's who-is-fitted
from core.people.identity_store import identity_path, partial_fit_path
from core.people.service import best_faces
from core.restore.library_faces import LibraryCrop, library_crops
from core.restore.recognition import cosine, embed_aligned, person_centroid

if TYPE_CHECKING:
    from core.idfsr.checkpoint import LoadedModel
    from core.idfsr.fit import FitConfig, FitResult

T = TypeVar("T")

DEFAULT_FIT_STEPS = 300
MAX_FIT_FACES = 24
CHECK_STEPS = 8  # sampling steps of the before/after check (a check, not a result)
CHECK_SCALE = 8.0


@dataclass(frozen=True)
class FitOutcome:
    """A person's fitted identity: where it is, how it was made, what it changed."""

    person_id: int
    path: Path
    steps: int
    seconds: float
    faces_used: int
    id_similarity_before: float | None
    id_similarity_after: float | None
    device: str = ""  # where the fit ran ("cpu" after the GPU ran out of memory)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)
        return {"person_id": self.person_id, "path": str(self.path), "steps": self.steps,
                "seconds": round(self.seconds, 2), "faces_used": self.faces_used,
                "id_similarity_before": r(self.id_similarity_before),
                "id_similarity_after": r(self.id_similarity_after),
                "device": self.device, "notes": list(self.notes)}


def _with_cpu_fallback(ctx: AppContext, model: str | None, loaded: LoadedModel,
                       plan: MemoryPlan, work: Callable[[LoadedModel], T]
                       ) -> tuple[T, LoadedModel]:
    """work(loaded), or work on the CPU when the GPU runs out of memory; and the model used."""
    from core.idfsr.device import release_memory  # heavy: torch

    try:
        return work(loaded), loaded
    except RuntimeError as exc:  # torch.OutOfMemoryError is one
        if not memory.accelerator_out_of_memory(loaded, exc):
            raise
    device = loaded.net.device
    loaded = fall_back_to_cpu(ctx, model, loaded)
    release_memory(device)
    plan.moved_to_cpu()
    return work(loaded), loaded


def _fit_within_memory(loaded: LoadedModel, faces: NDArray[np.uint8],
                       landmarks: NDArray[np.float64], init: NDArray[np.float32],
                       config: FitConfig, state_file: Path, plan: MemoryPlan,
                       progress: ProgressCallback, cancel: CancelToken | None) -> FitResult:
    """fit_identity with fewer faces per step while the GPU runs out of memory.

    Raises the out-of-memory error when one face per step does not fit either."""
    from core.idfsr.device import release_memory  # heavy: torch
    from core.idfsr.fit import fit_identity  # heavy: torch

    while True:
        batch = plan.batch or config.batch_size
        try:
            return fit_identity(loaded, faces, landmarks, init,
                                config=replace(config, batch_size=batch),
                                state_file=state_file, progress=progress, cancel=cancel)
        except RuntimeError as exc:
            if batch <= 1 or not memory.accelerator_out_of_memory(loaded, exc):
                raise
        release_memory(loaded.net.device)
        plan.smaller_batch(batch // 2, "the GPU ran out of memory; fitted on "
                                       f"{batch // 2} face(s) per step")


def _person_name(ctx: AppContext, person_id: int) -> str | None:
    with ctx.db.session() as s:
        person = s.get(Person, person_id)
        if person is None:
            raise IdfsrError(f"there is no person {person_id}")
        return person.name


def training_faces(
    ctx: AppContext, person_id: int, size: int, *, max_faces: int = MAX_FIT_FACES,
    progress: ProgressCallback = no_progress, cancel: CancelToken | None = None,
) -> list[LibraryCrop]:
    """The person's best library faces as aligned crops at `size`, best first.

    Faces must be at least half the model's size across (so fitting learns from detail
    the model can show); a person known only from smaller faces is fitted on what there
    is, down to a quarter.
    """
    infos = best_faces(ctx, person_id, 3 * max_faces)
    if not infos:
        raise IdfsrError(f"person {person_id} has no faces to fit on")
    crops = library_crops(ctx, infos, size, progress=progress, cancel=cancel)
    if not crops:
        crops = library_crops(ctx, infos, size, min_face_ratio=0.25, cancel=cancel)
    if not crops:
        raise IdfsrError(f"none of person {person_id}'s {len(infos)} faces is usable for "
                         f"fitting (a face must be at least {size // 4} px across, near "
                         "frontal, and its photo still readable)")
    return crops[:max_faces]


def _id_vectors(ctx: AppContext, loaded: LoadedModel, crops: list[LibraryCrop]
                ) -> NDArray[np.float32]:
    """The faces' embeddings in the model's identity space (from the DB, else computed)."""
    from core.faces.recognizers import builtin_recognizers, open_recognizer  # heavy: torch

    wanted = str(loaded.net.config.id_model_id or "")
    dim = int(loaded.net.config.id_dim)
    if wanted in builtin_recognizers():  # a torch recognizer: embed the crops themselves
        return open_recognizer(wanted).embed_canonical(np.stack([c.crop for c in crops]))
    with ctx.db.session() as s:
        rows = [face_embedding(s, c.face.id, wanted) if wanted else None for c in crops]
    missing = [i for i, r in enumerate(rows) if r is None]
    if missing:
        backend = identity_backend(ctx, wanted)
        for i in missing:
            face = crops[i].face
            with load_image(Path(os.fsdecode(face.photo_path)),
                            max_pixels=ctx.settings.index.max_image_pixels) as img:
                rgb = np.asarray(img.convert("RGB"))
            det = DetectedFace(face.box, np.asarray(face.landmarks, np.float64), face.det_score)
            rows[i] = backend.embed(rgb, [det])[0]
    out = normalise(np.stack([r for r in rows if r is not None]))
    if out.shape[1] != dim:
        raise IdfsrError(f"the restoration model expects {dim}-d identity embeddings, the "
                         f"library's are {out.shape[1]}-d")
    return out


def _probe_similarity(ctx: AppContext, loaded: LoadedModel, probe: LibraryCrop,
                      reference: LibraryCrop | None, embedding: NDArray[np.float32],
                      centroid: NDArray[np.float32], cancel: CancelToken | None) -> float:
    """Identity similarity of the probe face, degraded x8 and restored with `embedding`."""
    from core.idfsr.sample import FaceInput, SampleOptions, restore_face  # heavy: torch

    low = degrade(probe.crop, DegradationParams(scale=CHECK_SCALE, seed=0, blur="gaussian",
                                                blur_size=0.5))
    face = FaceInput(low.lr_up, low.lr_size, probe.landmarks,
                     reference.crop if reference is not None else None,
                     reference.landmarks if reference is not None else None)
    out = restore_face(loaded, face, embedding,
                       SampleOptions(steps=CHECK_STEPS, candidates=1, seed=0), cancel=cancel)
    emb = embed_aligned(face_backend(ctx), [out[0].image])[0]
    return cosine(emb, centroid)


def fit_person(
    ctx: AppContext,
    person_id: int,
    *,
    model: str | None = None,
    steps: int | None = None,
    device: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> FitOutcome:
    """Fit a person's identity on their best library faces and save it (resumes a stopped fit)."""
    from core.idfsr.fit import FitConfig  # heavy: torch
    from core.idfsr.identity import save_identity  # heavy: torch

    started = time.monotonic()
    name = _person_name(ctx, person_id)
    loaded = load_idfsr(ctx, model, device)
    total_steps = DEFAULT_FIT_STEPS if steps is None else max(0, int(steps))
    crops = training_faces(ctx, person_id, loaded.size, progress=progress, cancel=cancel)
    vectors = _id_vectors(ctx, loaded, crops)
    probe_at = 1 if len(crops) >= 3 else 0
    held_out = len(crops) >= 3
    fit_idx = [i for i in range(len(crops)) if not (held_out and i == probe_at)]
    init = normalise(vectors[fit_idx].mean(axis=0))
    faces = np.stack([crops[i].crop for i in fit_idx])
    landmarks = np.stack([crops[i].landmarks for i in fit_idx])

    # The check needs the library's recognizer; without it the fit still runs.
    centroid = None
    try:
        library_model = face_backend(ctx).model_id
        centroid = person_centroid(ctx, person_id, library_model,
                                   exclude_faces=[crops[probe_at].face.id] if held_out else [])
    except ModelMissingError:
        pass
    probe = crops[probe_at]
    others = [c for i, c in enumerate(crops) if i != probe_at]
    ref = others[0] if others else None
    before = after = None
    plan = MemoryPlan()

    def check(embedding: NDArray[np.float32], centroid: NDArray[np.float32]
              ) -> Callable[[LoadedModel], float]:
        return lambda m: _probe_similarity(ctx, m, probe, ref, embedding, centroid, cancel)

    if centroid is not None:
        progress(Progress("fit-check", 0, 2, "checking identity before fitting"))
        before, loaded = _with_cpu_fallback(ctx, model, loaded, plan, check(init, centroid))
    target = identity_path(ctx, person_id, loaded.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    config = FitConfig(steps=total_steps, seed=person_id)
    state_file = partial_fit_path(target)
    for stale in (target.with_suffix(".tmp"), state_file.with_suffix(".tmp")):
        stale.unlink(missing_ok=True)  # half written by a fit that was killed
    result, loaded = _with_cpu_fallback(
        ctx, model, loaded, plan,
        lambda m: _fit_within_memory(m, faces, landmarks, init, config, state_file, plan,
                                     progress, cancel))
    if centroid is not None and result.steps > 0:
        progress(Progress("fit-check", 1, 2, "checking identity after fitting"))
        after, loaded = _with_cpu_fallback(ctx, model, loaded, plan,
                                           check(result.embedding, centroid))
        progress(Progress("fit-check", 2, 2, "checked"))
    save_identity(target, result.embedding, result.losses, {
        "person": name or f"#{person_id}", "person_id": person_id,
        "base_model_sha256": loaded.sha256, "id_model_id": loaded.net.config.id_model_id,
        "steps": result.steps, "seconds": round(result.seconds, 1),
        "faces_used": result.faces_used, "face_ids": [crops[i].face.id for i in fit_idx],
        "probe_face_id": probe.face.id, "probe_held_out": held_out,
        "id_similarity_before": before, "id_similarity_after": after,
        "device": loaded.net.device.type, "notes": plan.notes})
    return FitOutcome(person_id, target, result.steps, time.monotonic() - started,
                      result.faces_used, before, after, loaded.net.device.type,
                      tuple(plan.notes))
