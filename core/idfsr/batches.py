"""Training batches keyed by (step, process, slot), so that resuming is exact.

Every random choice of an example (which face, which reference, which degradation,
which dropout) is drawn from a generator seeded by (seed, step, process, slot). A
run resumed at step k therefore sees exactly the batches an uninterrupted run would
have seen, whatever the number of loader workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray
from torch.utils.data import Dataset, Sampler

from core.idfsr.config import TrainConfig
from core.idfsr.dataset import PreparedFaces
from core.idfsr.examples import Example, augment_reference, make_example, unit

Key = tuple[int, int, int]  # step, process index, slot in the per-process batch


class StepExamples(Dataset[Example]):
    """Map-style dataset whose keys are (step, process, slot)."""

    def __init__(self, data: PreparedFaces, indices: list[int], cfg: TrainConfig,
                 num_processes: int = 1) -> None:
        if not indices:
            raise ValueError("no training faces")
        self.data, self.indices, self.cfg = data, indices, cfg
        self.num_processes = num_processes
        self._perm_epoch = -1
        self._perm = np.arange(len(indices))

    def __len__(self) -> int:
        return len(self.indices)

    def _face_index(self, key: Key) -> int:
        step, rank, slot = key
        # Walk the data in epochs of shuffled order, one global position per example.
        pos = (step * self.num_processes + rank) * self.cfg.batch_size + slot
        epoch, k = divmod(pos, len(self.indices))
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.cfg.seed, 7919, epoch]).permutation(
                len(self.indices))
            self._perm_epoch = epoch
        return self.indices[int(self._perm[k])]

    def __getitem__(self, key: Key) -> Example:
        step, rank, slot = key
        rng = np.random.default_rng([self.cfg.seed, step, rank, slot])
        return example_for(self.data, self._face_index(key), rng, self.cfg)


def example_for(data: PreparedFaces, i: int, rng: np.random.Generator,
                cfg: TrainConfig, dropout: bool = True) -> Example:
    """The training example of face i: reference from another photo when labels allow."""
    gt, lms = data.face(i), data.landmarks[i]
    others = data.others(i)
    cond = cfg.conditioning
    ref: NDArray[np.uint8] | None = None
    ref_lms: NDArray[np.float64] | None = None
    if others:
        j = others[int(rng.integers(len(others)))]
        ref, ref_lms = augment_reference(data.face(j), data.landmarks[j], rng, strong=False)
    elif rng.random() < cond.p_self_reference:
        ref, ref_lms = augment_reference(gt, lms, rng, strong=True)
    ident = data.embeddings[i]
    if others and rng.random() < cond.p_other_photo_id:
        # What stage 2 will fit is a person's embedding, not one photo's: train on both.
        ident = unit(data.embeddings[others].mean(axis=0))
    return make_example(gt, lms, ref, ref_lms, ident, rng, conditioning=cond,
                        degradation=cfg.degradation, dropout=dropout, valid=data.valid_mask(i))


class StepBatches(Sampler[list[Key]]):
    """Yields the keys of steps start..end-1 for one process."""

    def __init__(self, start: int, end: int, rank: int, batch_size: int) -> None:
        self.start, self.end, self.rank, self.batch_size = start, end, rank, batch_size

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def __iter__(self) -> Iterator[list[Key]]:
        for step in range(self.start, self.end):
            yield [(step, self.rank, slot) for slot in range(self.batch_size)]
