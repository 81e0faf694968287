"""Restoring one aligned face as a person (or as nobody), with what a run shares.

A RestoreSession holds what the photos of one run share: the loaded model, the face
backend, and per person their identity (fitted on demand), reference candidates and
centroid. `restore_aligned` is the heart of restoration, used by the photo pipeline and
by the benchmark alike: reference choice, K candidates sampled with the person's
embedding (or the null identity), tone matching, ranking by identity and LR consistency.
When the GPU runs out of memory the session samples fewer candidates at a time, then
moves to the CPU for the rest of the run; `memory.notes` says so for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.context import AppContext
from core.errors import IdfsrError, JobCancelled
from core.faces.backends import face_backend
from core.faces.store import normalise
from core.faces.types import FaceBackend
from core.idfsr import memory
from core.idfsr.memory import CPU_NOTE, MemoryPlan
from core.idfsr.restorers import fall_back_to_cpu, load_idfsr
from core.jobs import CancelToken, ProgressCallback, no_progress
from core.people.identity_store import person_identity
from core.people.service import best_faces
from core.restore import compose
from core.restore.library_faces import LibraryCrop, library_crops
from core.restore.options import RestoreOptions
from core.restore.recognition import embed_aligned, person_centroid
from core.restore.reference import ReferenceChoice, rank_references
from core.restore.report import CandidateScore
from core.tasks.fitting import fit_person

REFERENCE_FACES = 12  # best faces of a person considered as references

Identity = tuple[NDArray[np.float32] | None, str | None, str]  # embedding, file, note


@dataclass
class AlignedResult:
    """One restored aligned face and how it came about."""

    image: NDArray[np.uint8]  # S x S x 3, tone-matched to the LR
    path: str  # "personal" or "generic"
    candidates: list[CandidateScore]
    identity_similarity: float | None  # of the kept candidate, to the person's centroid
    identity_file: str | None = None
    reference: ReferenceChoice | None = None
    notes: list[str] = field(default_factory=list)
    # every candidate as tone-matched (`image` is one of them): for choosing another later
    candidate_images: list[NDArray[np.uint8]] = field(default_factory=list)


def rank_candidates(consistency: list[float], sims: NDArray[np.float32] | None) -> int:
    """Index of the best candidate: identity similarity and LR consistency, by rank sum.

    Ranks, not raw values: the two scores live on scales that differ per recognizer.
    Ties go to the candidate more like the person.
    """
    if sims is None or len(consistency) == 1:
        return int(np.argmin(consistency))
    by_id = np.argsort(np.argsort(-sims, kind="stable"), kind="stable")
    by_lr = np.argsort(np.argsort(consistency, kind="stable"), kind="stable")
    total = by_id + by_lr
    best = np.flatnonzero(total == total.min())
    return int(best[np.argmax(sims[best])])


@dataclass
class RestoreSession:
    """What the photos of one run share: models, identities, crops, the fits done."""

    ctx: AppContext
    options: RestoreOptions
    loaded: Any  # core.idfsr.checkpoint.LoadedModel
    backend: FaceBackend
    progress: ProgressCallback = no_progress
    cancel: CancelToken = field(default_factory=CancelToken)
    identities: dict[int, Identity] = field(default_factory=dict)
    crops: dict[int, list[LibraryCrop]] = field(default_factory=dict)
    centroids: dict[int, NDArray[np.float32] | None] = field(default_factory=dict)
    means: dict[int, NDArray[np.float32] | None] = field(default_factory=dict)
    fitted: list[dict[str, Any]] = field(default_factory=list)
    memory: MemoryPlan = field(default_factory=MemoryPlan)

    @classmethod
    def open(cls, ctx: AppContext, options: RestoreOptions, *,
             progress: ProgressCallback = no_progress,
             cancel: CancelToken | None = None) -> RestoreSession:
        """Load the model and the face backend for a run."""
        loaded = load_idfsr(ctx, options.model, options.device)
        return cls(ctx, options, loaded, face_backend(ctx), progress, cancel or CancelToken())

    def identity(self, person_id: int) -> Identity:
        """(embedding or None, identity file, note): fitted on demand unless told not to."""
        if person_id not in self.identities:
            self.identities[person_id] = self._identity(person_id)
        return self.identities[person_id]

    def _identity(self, person_id: int) -> Identity:
        from core.idfsr.identity import load_identity  # heavy: torch

        path = person_identity(self.ctx, person_id, self.loaded.sha256)
        note = ""
        if path is None and not self.options.fit_missing:
            return None, None, "the person has no fitted identity (fitting on demand is off)"
        if path is None:
            try:
                outcome = fit_person(self.ctx, person_id, model=self.options.model,
                                     steps=self.options.fit_steps, device=self._device(),
                                     progress=self.progress, cancel=self.cancel)
            except JobCancelled:
                raise
            except IdfsrError as exc:
                return None, None, f"could not fit the person ({exc})"
            self.fitted.append(outcome.to_dict())
            path, note = outcome.path, "fitted on demand"
            if CPU_NOTE in outcome.notes:  # the card is too small for this run: all on the CPU
                self._move_to_cpu()
        try:
            ident = load_identity(path, self.loaded.sha256)
        except IdfsrError as exc:
            return None, None, f"the identity file is unusable ({exc}); fit the person again"
        if ident.meta.get("person_id", person_id) != person_id:
            return None, None, (f"the identity file {path.name} was fitted for person "
                                f"{ident.meta['person_id']}, not this one; fit the person again")
        return ident.embedding, str(path), note

    def _device(self) -> str | None:
        """The device asked for, or the CPU once the GPU has run out of memory."""
        return "cpu" if self.memory.on_cpu else self.options.device

    def _move_to_cpu(self) -> None:
        """Go on on the CPU: the model loaded there, the GPU's copy let go."""
        from core.idfsr.device import release_memory  # heavy: torch

        if self.memory.on_cpu:
            return
        device = self.loaded.net.device
        self.loaded = fall_back_to_cpu(self.ctx, self.options.model, self.loaded)
        release_memory(device)
        self.memory.moved_to_cpu()

    def _sample(self, face: Any, emb: NDArray[np.float32] | None, sample: Any) -> list[Any]:
        """The face's candidates, within the GPU's memory or else on the CPU."""
        try:
            return memory.restore_face_within_memory(self.loaded, face, emb, sample, self.memory,
                                                     progress=self.progress, cancel=self.cancel)
        except RuntimeError as exc:  # torch.OutOfMemoryError is one
            if not memory.accelerator_out_of_memory(self.loaded, exc):
                raise
        self._move_to_cpu()
        return memory.restore_face_within_memory(self.loaded, face, emb, sample, self.memory,
                                                 progress=self.progress, cancel=self.cancel)

    def person_crops(self, person_id: int) -> list[LibraryCrop]:
        """The person's usable faces as aligned crops: the reference candidates."""
        if person_id not in self.crops:
            infos = best_faces(self.ctx, person_id, REFERENCE_FACES)
            size = self.loaded.size
            crops = library_crops(self.ctx, infos, size, cancel=self.cancel)
            if not crops:  # a person known only from small faces: better than nothing
                crops = library_crops(self.ctx, infos, size, min_face_ratio=0.25,
                                      cancel=self.cancel)
            self.crops[person_id] = crops
        return self.crops[person_id]

    def centroid(self, person_id: int) -> NDArray[np.float32] | None:
        """The person's centroid in the library recognizer's space."""
        if person_id not in self.centroids:
            self.centroids[person_id] = person_centroid(self.ctx, person_id,
                                                        self.backend.model_id)
        return self.centroids[person_id]

    def restore_aligned(
        self,
        lr_up: NDArray[np.uint8],
        lr_size: int,
        landmarks: NDArray[np.float64],
        person_id: int | None,
        *,
        photo_landmarks: object | None = None,
        photo_date: datetime | None = None,
        colourless: bool = False,
    ) -> AlignedResult:
        """Restore one aligned LR face (S x S, true size `lr_size`) as this person or nobody.

        `landmarks` are in crop pixels; `photo_landmarks` (default: the same) give the
        pose the reference is chosen for.
        """
        from core.idfsr.sample import FaceInput, SampleOptions  # heavy: torch

        o = self.options
        one_pass = self.loaded.is_restorer
        emb, centroid = None, None
        result_file, notes = None, []
        ranked: list[ReferenceChoice] = []
        if person_id is not None:
            emb, result_file, note = self.identity(person_id)
            if note:
                notes.append(note)
            centroid = self.centroid(person_id)
            pose = landmarks if photo_landmarks is None else photo_landmarks
            ranked = rank_references(self.person_crops(person_id), pose, photo_date)
            if emb is None and one_pass and ranked:
                # No fitted identity: their photos' mean embedding still says who they are.
                emb = self.mean_identity(person_id)
                if emb is not None:
                    notes.append("restored with their photos' mean identity (not fitted)")
            if emb is None:
                notes.append("restored without their identity (generic path)")
        # A one-pass restorer makes a candidate per reference; a diffusion model one per seed.
        refs = ranked[: max(1, o.candidates)] if one_pass else ranked[:1]
        face = FaceInput(lr_up, lr_size, landmarks,
                         refs[0].crop.crop if refs else None,
                         refs[0].crop.landmarks if refs else None,
                         tuple((r.crop.crop, r.crop.landmarks) for r in refs[1:]))
        # Nobody to restore as: the restorer sees the whole face and restores from it alone.
        fidelity = 1.0 if one_pass and person_id is None else o.fidelity
        sample = SampleOptions(steps=o.steps, sampler=o.sampler, guidance=o.identity_strength,
                               fidelity=fidelity, consistency=o.consistency,
                               start=o.start, candidates=o.candidates, seed=o.seed)
        known = set(self.memory.notes)
        candidates = self._sample(face, emb, sample)
        notes += [n for n in self.memory.notes if n not in known]  # this face met a full GPU
        colourless = colourless or compose.is_colourless(lr_up)
        finals = [compose.tone_match(c.image, lr_up, lr_size, colourless=colourless)
                  for c in candidates]
        sims = None
        if centroid is not None:
            sims = (embed_aligned(self.backend, finals) @ centroid).astype(np.float32)
        best = rank_candidates([c.consistency_error for c in candidates], sims)
        scores = [CandidateScore(c.seed, c.consistency_error,
                                 float(sims[i]) if sims is not None else None, i == best)
                  for i, c in enumerate(candidates)]
        # The reference behind the kept candidate (a restorer's candidate k used reference k).
        used = candidates[best].seed - o.seed if one_pass else 0
        choice = refs[used] if 0 <= used < len(refs) else None
        return AlignedResult(finals[best], "personal" if emb is not None else "generic",
                             scores, float(sims[best]) if sims is not None else None,
                             result_file, choice, notes, finals)

    def mean_identity(self, person_id: int) -> NDArray[np.float32] | None:
        """The mean of the person's reference crops' embeddings in the model's identity space."""
        if person_id not in self.means:
            from core.faces.recognizers import (  # heavy: torch
                builtin_recognizers,
                open_recognizer,
            )

            crops = self.person_crops(person_id)
            vec = None
            model_id = str(self.loaded.net.config.id_model_id or "")
            if crops and model_id in builtin_recognizers():
                rows = open_recognizer(model_id).embed_canonical(np.stack([c.crop for c in crops]))
                vec = normalise(rows.mean(axis=0))
            self.means[person_id] = vec
        return self.means[person_id]
