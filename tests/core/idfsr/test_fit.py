"""Stage 2 fitting: only the identity moves; cancel, resume and the identity file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from idfsr_support import unit_rows

from core.errors import IdfsrError, JobCancelled
from core.idfsr.checkpoint import LoadedModel
from core.idfsr.device import select_device
from core.idfsr.fit import FitConfig, fit_identity
from core.idfsr.identity import load_identity, save_identity
from core.jobs import CancelToken, Progress
from core.people.identity_store import person_file_name

CFG = FitConfig(steps=4, batch_size=2, learning_rate=0.05, save_every=1)


def _snapshot(model: LoadedModel) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.net.state_dict().items()}


def test_fit_changes_only_the_identity(model: LoadedModel, faces: tuple) -> None:
    before = _snapshot(model)
    init = unit_rows(1, 0)[0]
    result = fit_identity(model, faces[0], faces[1], init, config=CFG)
    after = model.net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # bit-identical network
    assert not any(p.requires_grad for p in model.net.parameters())
    assert result.embedding.shape == init.shape
    assert not np.allclose(result.embedding, init)
    assert np.linalg.norm(result.embedding) == pytest.approx(1.0, abs=1e-5)
    assert len(result.losses) == 4 and result.faces_used == 6


def test_cancel_then_resume_matches_an_uninterrupted_fit(
        model: LoadedModel, faces: tuple, tmp_path: Path) -> None:
    init = unit_rows(1, 0)[0]
    full = fit_identity(model, faces[0], faces[1], init, config=CFG)
    state = tmp_path / "p.partial.safetensors"
    token = CancelToken()

    def stop_after_two(p: Progress) -> None:
        if p.done == 2:
            token.cancel()

    with pytest.raises(JobCancelled):
        fit_identity(model, faces[0], faces[1], init, config=CFG, state_file=state,
                     progress=stop_after_two, cancel=token)
    assert state.is_file()
    steps_seen: list[int] = []
    resumed = fit_identity(model, faces[0], faces[1], init, config=CFG, state_file=state,
                           progress=lambda p: steps_seen.append(p.done))
    assert steps_seen[0] == 2  # it started where it stopped
    assert np.array_equal(resumed.embedding, full.embedding)
    assert resumed.losses == full.losses
    assert not state.exists()


def test_identity_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / person_file_name("Grandma Rose/1950")
    assert path.name == "Grandma_Rose_1950.safetensors"
    emb = unit_rows(1, 3)[0]
    save_identity(path, emb, [0.5, 0.25], {"person": "Grandma Rose", "base_model_sha256": "ab"
                                           * 32, "faces_used": 7, "steps": 2})
    ident = load_identity(path, "ab" * 32)
    assert np.array_equal(ident.embedding, emb)
    assert ident.meta["faces_used"] == 7 and ident.meta["person"] == "Grandma Rose"
    assert ident.loss_curve.tolist() == [0.5, 0.25]
    with pytest.raises(IdfsrError, match="another model"):
        load_identity(path, "cd" * 32)


def test_device_choice() -> None:
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(IdfsrError):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(IdfsrError, match="CUDA"):
            select_device("cuda")
