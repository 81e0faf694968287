"""Sampling when the accelerator's memory runs short: fewer candidates per batch.

`restore_face` samples a face's K candidates in one batch. When the GPU runs out of
memory, `restore_face_within_memory` samples them in smaller batches, halving until they
fit; candidate k still starts from noise seeded `seed + k`, so the candidates are those
one batch would give. The batch that fitted is kept in the MemoryPlan for the faces that
follow. When not even one candidate fits, the error goes up and the caller moves the work
to the CPU (core.idfsr.restorers.fall_back_to_cpu).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

if TYPE_CHECKING:  # torch is imported when the work starts, not with the restore pipeline
    from core.idfsr.checkpoint import LoadedModel
    from core.idfsr.sample import Candidate, FaceInput, SampleOptions

CPU_NOTE = "the GPU ran out of memory, so the work went on on the CPU (slower)"


@dataclass
class MemoryPlan:
    """What a job learned about the accelerator's memory, and what it tells the user."""

    batch: int | None = None  # items per network batch; None: as many as the job asks
    on_cpu: bool = False  # moved to the CPU after the GPU ran out of memory
    notes: list[str] = field(default_factory=list)
    _batch_note: str | None = field(default=None, repr=False)

    def smaller_batch(self, batch: int, note: str) -> None:
        """Go on with `batch` items at a time; `note` replaces the previous batch's note."""
        self._drop_batch_note()
        self.batch, self._batch_note = batch, note
        self.notes.append(note)

    def moved_to_cpu(self) -> None:
        """The work goes on on the CPU, where the full batch fits again."""
        self._drop_batch_note()
        self.on_cpu, self.batch = True, None
        if CPU_NOTE not in self.notes:
            self.notes.append(CPU_NOTE)

    def _drop_batch_note(self) -> None:
        if self._batch_note in self.notes:
            self.notes.remove(self._batch_note)
        self._batch_note = None


def uses_accelerator(model: LoadedModel) -> bool:
    """Whether the model runs on a GPU, where running out of memory has a way out."""
    return model.net.device.type != "cpu"


def accelerator_out_of_memory(model: LoadedModel, exc: BaseException) -> bool:
    """Whether `exc` is the model's GPU running out of memory (a CPU failure is not)."""
    from core.idfsr.device import is_out_of_memory  # heavy: torch

    return is_out_of_memory(exc) and uses_accelerator(model)


def _share(progress: ProgressCallback, part: int, parts: int) -> ProgressCallback:
    """Progress of one batch of `parts` reported as progress of the whole face."""
    if parts == 1:
        return progress

    def report(p: Progress) -> None:
        total = p.total or 0
        progress(Progress(p.stage, part * total + p.done, parts * total or None, p.message))
    return report


def _in_batches(model: LoadedModel, face: FaceInput, id_embedding: NDArray[np.float32] | None,
                options: SampleOptions, batch: int, progress: ProgressCallback,
                cancel: CancelToken | None) -> list[Candidate]:
    from core.idfsr.sample import restore_face  # heavy: torch

    k = max(1, options.candidates)
    firsts = range(0, k, batch)
    out: list[Candidate] = []
    for part, first in enumerate(firsts):
        chunk = replace(options, candidates=min(batch, k - first), seed=options.seed + first)
        out += restore_face(model, face, id_embedding, chunk,
                            progress=_share(progress, part, len(firsts)), cancel=cancel)
    return sorted(out, key=lambda c: c.consistency_error)


def restore_face_within_memory(
    model: LoadedModel,
    face: FaceInput,
    id_embedding: NDArray[np.float32] | None,
    options: SampleOptions,
    plan: MemoryPlan,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> list[Candidate]:
    """restore_face, in smaller batches of candidates while the GPU runs out of memory.

    Raises the out-of-memory error when one candidate at a time does not fit either.
    """
    from core.idfsr.device import release_memory  # heavy: torch
    from core.idfsr.sample import restore_face  # heavy: torch

    if model.is_restorer:  # one pass per reference: nothing to split
        return restore_face(model, face, id_embedding, options, progress=progress,
                            cancel=cancel)
    k = max(1, options.candidates)
    while True:
        batch = min(k, plan.batch or k)
        try:
            return _in_batches(model, face, id_embedding, options, batch, progress, cancel)
        except RuntimeError as exc:  # torch.OutOfMemoryError is one
            if batch == 1 or not accelerator_out_of_memory(model, exc):
                raise
        # Outside the handler: the failed attempt's tensors are free to go now.
        release_memory(model.net.device)
        plan.smaller_batch(batch // 2, "the GPU ran out of memory; candidates were sampled "
                                       f"{batch // 2} at a time")
