"""Stage 1 training on a tiny dataset: outputs, exact resume, cancel."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from safetensors.torch import load_file

from core.errors import JobCancelled
from core.idfsr.checkpoint import load_model
from core.idfsr.config import load_train_config
from core.idfsr.dataset import PreparedFaces
from core.idfsr.diffusion import weighted_mse
from core.idfsr.train import train
from core.idfsr.train_state import list_checkpoints
from core.jobs import CancelToken, Progress

CFG = load_train_config("tiny")


def _weights(run: Path, name: str) -> dict:
    return load_file(list_checkpoints(run)[-1] / name)


def test_dataset_split_and_labels(dataset: Path) -> None:
    data = PreparedFaces(dataset)
    assert len(data) == 8 and data.size == 32 and data.recognizer.dim == 16
    assert sorted(data.groups) == ["alice", "bob"] and data.others(0) == [1, 2]
    train_idx, val_idx = data.split(500)
    assert sorted(train_idx + val_idx) == list(range(8))
    assert data.face(7).shape == (32, 32, 3)


def test_resumed_training_equals_an_uninterrupted_run(dataset: Path, tmp_path: Path) -> None:
    acc = Accelerator(cpu=True)
    whole = train(CFG, dataset, tmp_path / "a", accelerator=acc)
    assert whole.step == 4 and whole.model is not None
    part = train(CFG, dataset, tmp_path / "b", stop_at=2, accelerator=acc)
    assert part.step == 2 and part.model is None
    rest = train(CFG, dataset, tmp_path / "b", accelerator=acc)
    assert rest.step == 4
    for name in ("model.safetensors", "ema.safetensors", "optimizer.safetensors"):
        a, b = _weights(tmp_path / "a", name), _weights(tmp_path / "b", name)
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), name
    la = (tmp_path / "a" / "loss.csv").read_text()
    assert la == (tmp_path / "b" / "loss.csv").read_text() and len(la.splitlines()) == 5
    # what a full run leaves behind
    run = tmp_path / "a"
    assert (run / "loss.png").is_file() and (run / "samples" / "step-0000004.png").is_file()
    model = load_model(run / "model")
    assert model.net.config.id_dim == 16 and model.training["steps"] == 4
    assert "test data" in (run / "model" / "README.md").read_text()


def test_cancel_saves_a_checkpoint_to_resume_from(dataset: Path, tmp_path: Path) -> None:
    token = CancelToken()

    def cancel_after_first(p: Progress) -> None:
        if p.done >= 1:
            token.cancel()

    with pytest.raises(JobCancelled):
        train(CFG, dataset, tmp_path / "c", accelerator=Accelerator(cpu=True),
              progress=cancel_after_first, cancel=token)
    assert [p.name for p in list_checkpoints(tmp_path / "c")] == ["step-0000001"]


def test_loss_ignores_edge_padding() -> None:
    pred = torch.zeros(1, 3, 4, 4)
    target = torch.zeros(1, 3, 4, 4)
    target[..., :, 2:] = 5.0  # wrong only where the crop is padding
    weight = torch.ones(1, 1, 4, 4)
    weight[..., :, 2:] = 0.0
    assert weighted_mse(pred, target, weight).item() == 0.0
    assert weighted_mse(pred, target, torch.ones(1, 1, 4, 4)).item() == pytest.approx(12.5)


def test_dataset_pickles_without_its_pixels(dataset: Path) -> None:
    data = PreparedFaces(dataset)
    blob = pickle.dumps(data)
    assert len(blob) < 20_000  # the folder and index, not the memory-mapped faces
    assert np.array_equal(pickle.loads(blob).face(3), data.face(3))


def test_export_of_a_partial_run_is_its_ema_model(dataset: Path, tmp_path: Path) -> None:
    from core.errors import IdfsrError
    from core.idfsr.train import export_checkpoint

    run = tmp_path / "run"
    with pytest.raises(IdfsrError, match="no checkpoint"):
        export_checkpoint(CFG, dataset, run)
    train(CFG, dataset, run, stop_at=2, accelerator=Accelerator(cpu=True))
    folder = export_checkpoint(CFG, dataset, run)
    assert folder == run / "model-step-2"
    model = load_model(folder)
    assert model.training["steps"] == 2 and model.training["partial"] is True
    assert model.training["mixed_precision"] == "no"  # the card says how it was trained
    assert "mixed precision no" in (folder / "README.md").read_text("utf-8")
    ema = _weights(run, "ema.safetensors")
    state = model.net.state_dict()
    assert all(torch.equal(state[k].to(v.dtype), v) for k, v in ema.items() if k in state)
    assert ema.keys() & state.keys()
