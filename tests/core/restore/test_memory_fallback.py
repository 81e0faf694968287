"""A GPU too small for the job: restoring and fitting go on with smaller batches, then on the
CPU, and say so; the photo is written all the same. No GPU is needed: the model loaded first
plays the GPU's (its network raises torch's out-of-memory error above a batch size), and
the model the fallback loads on the CPU is a fresh one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from core.context import AppContext
from core.idfsr import memory
from core.idfsr.identity import load_identity
from core.idfsr.network import IdfsrNet
from core.idfsr.restorers import load_idfsr
from core.people.service import resolve_person
from core.restore.options import RestoreOptions
from core.tasks.fitting import fit_person
from core.tasks.restore import restore_photos

FAST = dict(steps=2, candidates=2, fit_steps=2)


class FullGpu:
    """The first loaded model's network "runs on a GPU" that holds `limit` rows at a time."""

    def __init__(self, net: IdfsrNet, limit: int) -> None:
        self.net, self.limit = net, limit
        self.seen: list[int] = []  # batch sizes asked of the GPU
        self.cpu_calls = 0


@pytest.fixture
def full_gpu(lib: AppContext, model_dir: Path, monkeypatch: pytest.MonkeyPatch
             ) -> FullGpu:
    gpu = FullGpu(load_idfsr(lib, str(model_dir)).net, limit=0)
    forward = IdfsrNet.forward

    def tight(self: IdfsrNet, noisy: torch.Tensor, *args: object, **kw: object) -> torch.Tensor:
        if self is gpu.net:
            gpu.seen.append(noisy.shape[0])
            if noisy.shape[0] > gpu.limit:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 GiB")
        else:
            gpu.cpu_calls += 1
        return forward(self, noisy, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(IdfsrNet, "forward", tight)
    monkeypatch.setattr(memory, "uses_accelerator", lambda model: model.net is gpu.net)
    return gpu


def test_restore_goes_on_with_fewer_candidates_then_on_the_cpu(
        lib: AppContext, model_dir: Path, old_photos: Path, tmp_path: Path,
        full_gpu: FullGpu) -> None:
    out = tmp_path / "out"
    report = restore_photos(lib, [old_photos / "grey.png"], out,
                            RestoreOptions(**FAST, model=str(model_dir), fit_missing=False))
    (photo,) = report.photos
    assert photo.status == "restored", photo.message
    assert Path(photo.output or "").is_file()
    # Two candidates in one batch, then one, then the CPU for the rest of the run.
    assert full_gpu.seen == [2, 1] and full_gpu.cpu_calls > 0
    assert report.notes == [memory.CPU_NOTE]
    assert report.to_dict()["notes"] == [memory.CPU_NOTE]
    restored = [f for f in photo.faces if f.status == "restored"]
    assert memory.CPU_NOTE in restored[0].message  # the face that met the full GPU
    assert all(len(f.candidates) == 2 for f in restored)
    note = json.loads(Path(photo.sidecar or "").read_text("utf-8"))
    assert memory.CPU_NOTE in note["faces"][0]["message"]


def test_fitting_takes_fewer_faces_per_step_then_the_cpu(
        lib: AppContext, model_dir: Path, full_gpu: FullGpu) -> None:
    aniston = resolve_person(lib, "Jennifer Aniston")
    full_gpu.limit = 2  # the check (one candidate and its null identity) fits, 4 faces not
    outcome = fit_person(lib, aniston, model=str(model_dir), steps=2)
    seen = full_gpu.seen
    first = seen.index(4)  # the check's steps (2 rows), one step of 4 faces, then 2 at a time
    assert set(seen[:first]) == {2} and seen.count(4) == 1 and set(seen[first + 1:]) == {2}
    assert outcome.notes == ("the GPU ran out of memory; fitted on 2 face(s) per step",)
    assert full_gpu.cpu_calls == 0
    meta = load_identity(outcome.path).meta
    assert meta["person_id"] == aniston and meta["notes"] == list(outcome.notes)

    full_gpu.limit = 0  # nothing fits any more: the CPU
    full_gpu.seen.clear()
    outcome = fit_person(lib, aniston, model=str(model_dir), steps=2)
    assert full_gpu.seen == [2]  # the check fails first; everything else ran on the CPU
    assert outcome.notes == (memory.CPU_NOTE,) and full_gpu.cpu_calls > 0
    assert outcome.to_dict()["notes"] == [memory.CPU_NOTE]
    assert load_identity(outcome.path).meta["person_id"] == aniston


def test_a_failure_that_is_not_memory_is_not_hidden(
        lib: AppContext, model_dir: Path, old_photos: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: IdfsrNet, *args: object, **kw: object) -> torch.Tensor:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(IdfsrNet, "forward", broken)
    monkeypatch.setattr(memory, "uses_accelerator", lambda model: True)
    with pytest.raises(RuntimeError, match="shapes"):
        restore_photos(lib, [old_photos / "grey.png"], tmp_path / "out",
                       RestoreOptions(**FAST, model=str(model_dir), fit_missing=False))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
