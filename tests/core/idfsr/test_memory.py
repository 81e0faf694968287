"""A GPU out of memory: recognised (CUDA and MPS), then fewer candidates per batch with the
same results, and the error handed up when one candidate does not fit either. No GPU is
needed: the network's call raises what torch raises, and the model claims to be on one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from idfsr_support import unit_rows

from core.idfsr import memory
from core.idfsr.checkpoint import LoadedModel
from core.idfsr.degrade import DegradationParams, degrade
from core.idfsr.device import is_out_of_memory
from core.idfsr.network import IdfsrNet
from core.idfsr.sample import FaceInput, SampleOptions, restore_face
from core.jobs import Progress

OPTIONS = SampleOptions(steps=2, candidates=4, guidance=2.0, seed=5)
CUDA_OOM = "CUDA out of memory. Tried to allocate 2.00 GiB"


def _face(faces: tuple[np.ndarray, np.ndarray]) -> FaceInput:
    imgs, lms = faces
    lr = degrade(imgs[0], DegradationParams(scale=4.0, seed=0))
    return FaceInput(lr.lr_up, lr.lr_size, lms[0], imgs[1], lms[1])


class SmallGpu:
    """A pretend GPU that holds `limit` network rows at a time; `seen`: the batches asked."""

    def __init__(self) -> None:
        self.limit = 1000
        self.seen: list[int] = []


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> SmallGpu:
    """The model "runs on a GPU" whose memory runs out above `gpu.limit` rows."""
    fake = SmallGpu()
    forward = IdfsrNet.forward

    def tight(self: IdfsrNet, noisy: torch.Tensor, *args: object, **kw: object) -> torch.Tensor:
        fake.seen.append(noisy.shape[0])
        if noisy.shape[0] > fake.limit:
            raise torch.cuda.OutOfMemoryError(CUDA_OOM)
        return forward(self, noisy, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(IdfsrNet, "forward", tight)
    monkeypatch.setattr(memory, "uses_accelerator", lambda model: True)
    return fake


def test_out_of_memory_is_recognised() -> None:
    assert is_out_of_memory(torch.cuda.OutOfMemoryError(CUDA_OOM))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 8 GB)"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not is_out_of_memory(ValueError("out of memory"))
    assert not is_out_of_memory(MemoryError())


def test_fewer_candidates_per_batch_give_the_same_candidates(
        model: LoadedModel, faces: tuple, gpu: SmallGpu) -> None:
    emb = unit_rows(1, 0)[0]
    whole = restore_face(model, _face(faces), emb, OPTIONS)
    steps = len(gpu.seen)  # the steps the sampler runs (the options' start decides)
    assert steps >= 1 and set(gpu.seen) == {8}  # 4 candidates x (person, null identity)
    gpu.seen.clear()
    gpu.limit = 4  # two candidates at a time fit
    plan = memory.MemoryPlan()
    reports: list[Progress] = []
    got = memory.restore_face_within_memory(model, _face(faces), emb, OPTIONS, plan,
                                            progress=reports.append)
    assert gpu.seen == [8] + [4] * (2 * steps) and plan.batch == 2
    assert plan.notes == ["the GPU ran out of memory; candidates were sampled 2 at a time"]
    assert sorted(c.seed for c in got) == [5, 6, 7, 8]
    errors = [c.consistency_error for c in got]
    assert errors == sorted(errors)
    by_seed = {c.seed: c for c in whole}
    for c in got:
        assert np.abs(c.image.astype(int) - by_seed[c.seed].image.astype(int)).max() <= 1
        assert c.consistency_error == pytest.approx(by_seed[c.seed].consistency_error, abs=1e-4)
    assert [p.done for p in reports] == list(range(1, 2 * steps + 1))
    assert reports[-1].total == 2 * steps
    # The next face starts at the batch that fitted: no failed attempt first.
    gpu.seen.clear()
    memory.restore_face_within_memory(model, _face(faces), emb, OPTIONS, plan)
    assert gpu.seen == [4] * (2 * steps)


def test_one_candidate_too_many_goes_up(model: LoadedModel, faces: tuple,
                                        gpu: SmallGpu) -> None:
    gpu.limit = 1  # not even one candidate with its null-identity row
    plan = memory.MemoryPlan()
    with pytest.raises(torch.cuda.OutOfMemoryError):
        memory.restore_face_within_memory(model, _face(faces), unit_rows(1, 0)[0], OPTIONS,
                                          plan)
    assert gpu.seen == [8, 4, 2] and plan.batch == 1  # each fails at its first step
    plan.moved_to_cpu()
    assert plan.notes == [memory.CPU_NOTE] and plan.batch is None and plan.on_cpu


def test_on_the_cpu_nothing_is_retried(model: LoadedModel, faces: tuple, gpu: SmallGpu,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "uses_accelerator", lambda m: False)
    gpu.limit = 4
    with pytest.raises(torch.cuda.OutOfMemoryError):
        memory.restore_face_within_memory(model, _face(faces), None,
                                          SampleOptions(steps=1, candidates=8),
                                          memory.MemoryPlan())
    assert gpu.seen == [8]
